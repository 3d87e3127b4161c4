// Run-time choice of the kernels (xsimd::dispatch over the instruction sets compiled in), the plain
// scalar kernels, and the named access tests and benchmarks use to run every available path.
#include "loanrisk/kernel.hpp"

#include <cmath>
#include <stdexcept>

#include "kernel_impl.hpp"

namespace loanrisk::core {

namespace detail {
#define LOANRISK_EXTERN_KERNELS(ARCH)                                                                           \
    extern template void pd_kernel::operator()<ARCH>(ARCH, const kernel_args&, std::size_t, std::size_t, float*)  \
        const;                                                                                                  \
    extern template void policy_kernel::operator()<ARCH>(ARCH, const policy_args&, const float*, std::size_t,    \
                                                         std::uint8_t*, double*, block_totals&) const;
LOANRISK_EXTERN_KERNELS(xsimd::sse2)
LOANRISK_EXTERN_KERNELS(xsimd::sse4_2)
LOANRISK_EXTERN_KERNELS(xsimd::fma3<xsimd::avx2>)
LOANRISK_EXTERN_KERNELS(xsimd::avx512bw)
#undef LOANRISK_EXTERN_KERNELS
}  // namespace detail

namespace {

using kernel_archs = xsimd::arch_list<xsimd::avx512bw, xsimd::fma3<xsimd::avx2>, xsimd::sse4_2, xsimd::sse2>;

template <class Arch>
bool cpu_has() {
    return Arch::version() <= xsimd::available_architectures().best;
}

// Calls f(arch) for the named instruction set, or f_scalar() for "scalar"; refuses what this CPU lacks.
template <class F, class G>
void with_kernel(std::string_view name, F&& f, G&& f_scalar) {
    auto unavailable = [&] { throw std::invalid_argument("kernel '" + std::string(name) + "' is not available on this CPU"); };
    if (name == "scalar") return f_scalar();
    if (name == "sse2") return cpu_has<xsimd::sse2>() ? f(xsimd::sse2{}) : unavailable();
    if (name == "sse4_2") return cpu_has<xsimd::sse4_2>() ? f(xsimd::sse4_2{}) : unavailable();
    if (name == "avx2") return cpu_has<xsimd::fma3<xsimd::avx2>>() ? f(xsimd::fma3<xsimd::avx2>{}) : unavailable();
    if (name == "avx512") return cpu_has<xsimd::avx512bw>() ? f(xsimd::avx512bw{}) : unavailable();
    unavailable();
}

// The plain loop the vector kernels are measured against: per loan, terms in model order, std::exp.
void scalar_pd(const kernel_args& a, std::size_t begin, std::size_t end, float* pd) {
    for (std::size_t i = begin; i < end; ++i) {
        float logit = a.intercept;
        for (std::size_t t = 0; t < a.dense_terms; ++t) logit += a.dense_weight[t] * a.dense[t][i];
        for (std::size_t t = 0; t < a.lookup_terms; ++t) logit += a.tables[t][a.codes[t][i]];
        pd[i - begin] = 1.0f / (1.0f + std::exp(-logit));
    }
}

void scalar_policy(const policy_args& a, const float* pd, std::size_t n, std::uint8_t* decision, double* expected_loss,
                   block_totals& t) {
    for (std::size_t i = 0; i < n; ++i) detail::policy_one(a, pd[i], i, decision, expected_loss, t);
}

kernel_binding& thread_binding(const compiled_model& m, const loan_batch& b, bool registers = true) {
    thread_local kernel_binding k;  // keeps its capacity: a one-loan call allocates nothing here
    k.bind(m, b, registers);
    return k;
}

}  // namespace

void kernel_binding::bind(const compiled_model& m, const loan_batch& b, bool registers) {
    dense_.clear();
    weights_.clear();
    codes_.clear();
    tables_.clear();
    register_first_.clear();
    register_second_.clear();
    register_stride_.clear();
    register_tables_.clear();
    register_entries_.clear();
    group_codes_.clear();
    group_strides_.clear();
    group_begin_.clear();
    group_tables_.clear();
    for (std::size_t t = 0; t < m.dense.size(); ++t) {
        dense_.push_back(b.dense[t].data());
        weights_.push_back(m.dense[t].weight);
    }
    for (std::size_t t = 0; t < m.lookups.size(); ++t) {
        codes_.push_back(b.codes[t].data());
        tables_.push_back(m.lookups[t].table.data());
    }
    for (const lookup_group& g : m.register_groups) {
        const bool two = g.columns.size() == 2;
        register_first_.push_back(b.codes[g.columns[0]].data());
        register_second_.push_back(two ? b.codes[g.columns[1]].data() : nullptr);
        register_stride_.push_back(g.strides[0]);
        register_tables_.push_back(g.table.data());
        register_entries_.push_back(static_cast<std::uint32_t>(g.table.size()));
    }
    for (const lookup_group& g : m.groups) {
        group_begin_.push_back(group_codes_.size());
        for (std::uint32_t column : g.columns) group_codes_.push_back(b.codes[column].data());
        group_strides_.insert(group_strides_.end(), g.strides.begin(), g.strides.end());
        group_tables_.push_back(g.table.data());
    }
    group_begin_.push_back(group_codes_.size());
    args_ = {.dense = dense_.data(),
             .dense_weight = weights_.data(),
             .dense_terms = dense_.size(),
             .codes = codes_.data(),
             .tables = tables_.data(),
             .lookup_terms = codes_.size(),
             .tables_in_registers = registers && !m.register_groups.empty(),
             .register_first = register_first_.data(),
             .register_second = register_second_.data(),
             .register_stride = register_stride_.data(),
             .register_tables = register_tables_.data(),
             .register_entries = register_entries_.data(),
             .register_groups = m.register_groups.size(),
             .group_codes = group_codes_.data(),
             .group_strides = group_strides_.data(),
             .group_begin = group_begin_.data(),
             .group_tables = group_tables_.data(),
             .groups = m.groups.size(),
             .intercept = m.intercept};
}

std::vector<std::string> kernel_names() { return {"avx512", "avx2", "sse4_2", "sse2", "scalar"}; }

std::vector<std::string> available_kernels() {
    std::vector<std::string> out;
    if (cpu_has<xsimd::avx512bw>()) out.push_back("avx512");
    if (cpu_has<xsimd::fma3<xsimd::avx2>>()) out.push_back("avx2");
    if (cpu_has<xsimd::sse4_2>()) out.push_back("sse4_2");
    if (cpu_has<xsimd::sse2>()) out.push_back("sse2");
    out.push_back("scalar");
    return out;
}

std::string best_kernel() { return available_kernels().front(); }

void compute_pd(const kernel_binding& k, std::size_t begin, std::size_t end, float* pd) {
    static auto dispatched = xsimd::dispatch<kernel_archs>(detail::pd_kernel{});
    dispatched(k.args(), begin, end, pd);
}

void compute_pd(const compiled_model& m, const loan_batch& b, std::size_t begin, std::size_t end, float* pd) {
    compute_pd(thread_binding(m, b), begin, end, pd);
}

namespace {

void pd_with(std::string_view kernel, const kernel_args& a, std::size_t begin, std::size_t end, float* pd) {
    with_kernel(
        kernel, [&](auto arch) { detail::pd_kernel{}(arch, a, begin, end, pd); }, [&] { scalar_pd(a, begin, end, pd); });
}

}  // namespace

void compute_pd_with(std::string_view kernel, const compiled_model& m, const loan_batch& b, std::size_t begin,
                     std::size_t end, float* pd) {
    pd_with(kernel, thread_binding(m, b).args(), begin, end, pd);
}

void compute_pd_with_groups(std::string_view kernel, const compiled_model& m, const loan_batch& b, std::size_t begin,
                            std::size_t end, float* pd) {
    pd_with(kernel, thread_binding(m, b, false).args(), begin, end, pd);
}

void apply_policy(const policy_args& a, const float* pd, std::size_t n, std::uint8_t* decision, double* expected_loss,
                  block_totals& t) {
    static auto dispatched = xsimd::dispatch<kernel_archs>(detail::policy_kernel{});
    dispatched(a, pd, n, decision, expected_loss, t);
}

void apply_policy_with(std::string_view kernel, const policy_args& a, const float* pd, std::size_t n,
                       std::uint8_t* decision, double* expected_loss, block_totals& t) {
    with_kernel(
        kernel, [&](auto arch) { detail::policy_kernel{}(arch, a, pd, n, decision, expected_loss, t); },
        [&] { scalar_policy(a, pd, n, decision, expected_loss, t); });
}

}  // namespace loanrisk::core

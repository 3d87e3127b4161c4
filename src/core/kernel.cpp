// Run-time choice of the PD kernel (xsimd::dispatch over the instruction sets compiled in), the
// plain scalar kernel, and the named access tests and benchmarks use to run every available path.
#include "loanrisk/kernel.hpp"

#include <cmath>
#include <stdexcept>

#include "kernel_impl.hpp"

namespace loanrisk::core {

namespace detail {
extern template void pd_kernel::operator()<xsimd::sse2>(xsimd::sse2, const kernel_args&, std::size_t, std::size_t,
                                                        float*) const;
extern template void pd_kernel::operator()<xsimd::sse4_2>(xsimd::sse4_2, const kernel_args&, std::size_t, std::size_t,
                                                          float*) const;
extern template void pd_kernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const kernel_args&,
                                                                     std::size_t, std::size_t, float*) const;
extern template void pd_kernel::operator()<xsimd::avx512bw>(xsimd::avx512bw, const kernel_args&, std::size_t,
                                                            std::size_t, float*) const;
}  // namespace detail

namespace {

using kernel_archs = xsimd::arch_list<xsimd::avx512bw, xsimd::fma3<xsimd::avx2>, xsimd::sse4_2, xsimd::sse2>;

template <class Arch>
bool cpu_has() {
    return Arch::version() <= xsimd::available_architectures().best;
}

void scalar_kernel(const kernel_args& a, std::size_t begin, std::size_t end, float* pd) {
    for (std::size_t i = begin; i < end; ++i) {
        float logit = a.intercept;
        for (std::size_t t = 0; t < a.dense_terms; ++t) logit += a.dense_weight[t] * a.dense[t][i];
        for (std::size_t t = 0; t < a.lookup_terms; ++t) logit += a.tables[t][a.codes[t][i]];
        pd[i - begin] = 1.0f / (1.0f + std::exp(-logit));
    }
}

// Pointer tables for the kernel; small and rebuilt per call (a handful of terms).
struct args_holder {
    std::vector<const float*> dense, tables;
    std::vector<float> weights;
    std::vector<const std::uint16_t*> codes;
    kernel_args args;

    args_holder(const compiled_model& m, const loan_batch& b) {
        for (std::size_t t = 0; t < m.dense.size(); ++t) {
            dense.push_back(b.dense[t].data());
            weights.push_back(m.dense[t].weight);
        }
        for (std::size_t t = 0; t < m.lookups.size(); ++t) {
            codes.push_back(b.codes[t].data());
            tables.push_back(m.lookups[t].table.data());
        }
        args = {dense.data(), weights.data(), dense.size(), codes.data(), tables.data(), codes.size(), m.intercept};
    }
};

}  // namespace

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

void compute_pd(const compiled_model& m, const loan_batch& b, std::size_t begin, std::size_t end, float* pd) {
    static auto dispatched = xsimd::dispatch<kernel_archs>(detail::pd_kernel{});
    args_holder h(m, b);
    dispatched(h.args, begin, end, pd);
}

void compute_pd_with(std::string_view kernel, const compiled_model& m, const loan_batch& b, std::size_t begin,
                     std::size_t end, float* pd) {
    args_holder h(m, b);
    detail::pd_kernel k;
    auto unavailable = [&] { throw std::invalid_argument("kernel '" + std::string(kernel) + "' is not available on this CPU"); };
    if (kernel == "scalar") return scalar_kernel(h.args, begin, end, pd);
    if (kernel == "sse2") return cpu_has<xsimd::sse2>() ? k(xsimd::sse2{}, h.args, begin, end, pd) : unavailable();
    if (kernel == "sse4_2") return cpu_has<xsimd::sse4_2>() ? k(xsimd::sse4_2{}, h.args, begin, end, pd) : unavailable();
    if (kernel == "avx2")
        return cpu_has<xsimd::fma3<xsimd::avx2>>() ? k(xsimd::fma3<xsimd::avx2>{}, h.args, begin, end, pd) : unavailable();
    if (kernel == "avx512") return cpu_has<xsimd::avx512bw>() ? k(xsimd::avx512bw{}, h.args, begin, end, pd) : unavailable();
    unavailable();
}

}  // namespace loanrisk::core

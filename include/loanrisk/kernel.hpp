// The PD kernel: logit = intercept + dense dot product + per-code table lookups, PD = sigmoid(logit),
// in float, vectorised with xsimd. Written once (src/core/kernel_impl.hpp), instantiated per instruction
// set in its own translation unit, chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/batch.hpp"

namespace loanrisk::core {

// Everything the kernel reads, as plain pointers: the per-architecture translation units must not
// instantiate library templates (std::vector & co.) that other code could end up linking against.
struct kernel_args {
    const float* const* dense = nullptr;  // [term] -> column
    const float* dense_weight = nullptr;
    std::size_t dense_terms = 0;
    // Per lookup term (the scalar kernel, which follows the model term by term):
    const std::uint16_t* const* codes = nullptr;  // [term] -> column
    const float* const* tables = nullptr;         // [term] -> weight table (padded to 16 entries)
    std::size_t lookup_terms = 0;
    // Per register group (compiled_model::register_groups), which avx512 looks up from tables held in
    // registers when the model has them: group r's code is its first column's code, times its stride plus
    // its second column's code when it has two (so a cross is made from its inputs' columns, which are the
    // same columns the lookup groups read).
    bool tables_in_registers = false;
    const std::uint16_t* const* register_first = nullptr;   // [group] -> column
    const std::uint16_t* const* register_second = nullptr;  // [group] -> column, or null for one column
    const std::uint16_t* register_stride = nullptr;         // [group]
    const float* const* register_tables = nullptr;          // [group] -> table (a multiple of 16 entries)
    const std::uint32_t* register_entries = nullptr;        // [group] -> its table's entries
    std::size_t register_groups = 0;
    // Per lookup group (the other vector kernels, and avx512 otherwise; compiled_model::groups): group g's
    // joint index is the sum of code * stride over the column slots [group_begin[g], group_begin[g + 1]).
    const std::uint16_t* const* group_codes = nullptr;  // [slot] -> column
    const std::uint16_t* group_strides = nullptr;       // [slot]
    const std::size_t* group_begin = nullptr;           // [group], then the slot count
    const float* const* group_tables = nullptr;         // [group] -> joint table
    std::size_t groups = 0;
    float intercept = 0;
};

// The policy pass over a block of PDs (same instruction set as the PD kernel): decision, Expected Loss,
// and every portfolio count kept as "how many are >= this edge" (cumulative, from comparisons alone,
// so nothing branches or bumps a bin the previous loan just bumped). Counts are doubles: exact below 2^53.
inline constexpr std::size_t max_psi_edges = 16;

struct policy_args {
    double approve_max = 0.3, reject_min = 0.6, lgd = 0.6;
    const double* exposure = nullptr;  // per loan, NaN when missing
    const double* age = nullptr;       // per loan, NaN when missing
    double hist_edges[7] = {};         // the PD histogram's inner edges
    double psi_edges[max_psi_edges] = {};  // the training PD bins' inner edges
    std::size_t psi_edge_count = 0;
    double age_edges[5] = {};          // lower bounds of the age bands
};

struct block_totals {
    double review_or_worse = 0, rejected = 0;  // PD >= approve_max, PD >= reject_min
    double hist_ge[7] = {}, psi_ge[max_psi_edges] = {}, age_ge[5] = {}, approved_age_ge[5] = {};
    double pd_sum = 0, exposure_sum = 0, expected_loss_sum = 0, with_exposure = 0;
};

// Decisions (0 approve, 1 review, 2 reject) and Expected Losses of pd[0..n) into decision[]/expected_loss[]
// (exposure/age pointers already offset to the block), totals added into `t`.
void apply_policy(const policy_args& a, const float* pd, std::size_t n, std::uint8_t* decision,
                  double* expected_loss, block_totals& t);
void apply_policy_with(std::string_view kernel, const policy_args& a, const float* pd, std::size_t n,
                       std::uint8_t* decision, double* expected_loss, block_totals& t);

// The instruction sets this build has kernels for, best first, and which of them this CPU runs.
std::vector<std::string> kernel_names();
std::vector<std::string> available_kernels();
// The one run-time dispatch picks.
std::string best_kernel();

// The kernel_args of a model and a batch, with the pointer tables they point into. Valid while the model
// lives and the batch's columns are not reallocated: a caller scoring the same batch again and again (a
// one-loan /predict, its columns reserved) binds once; compute_pd(m, b, ...) binds on every call.
class kernel_binding {
public:
    kernel_binding() = default;
    // `registers`: false keeps avx512 on the lookup groups, as the other vector kernels (tests, benchmarks).
    kernel_binding(const compiled_model& m, const loan_batch& b, bool registers = true) { bind(m, b, registers); }
    kernel_binding(const kernel_binding&) = delete;  // args() points into this object's own tables
    kernel_binding& operator=(const kernel_binding&) = delete;
    void bind(const compiled_model& m, const loan_batch& b, bool registers = true);
    const kernel_args& args() const { return args_; }

private:
    std::vector<const float*> dense_, tables_, group_tables_, register_tables_;
    std::vector<std::uint32_t> register_entries_;
    std::vector<const std::uint16_t*> register_first_, register_second_;
    std::vector<std::uint16_t> register_stride_;
    std::vector<float> weights_;
    std::vector<const std::uint16_t*> codes_, group_codes_;
    std::vector<std::uint16_t> group_strides_;
    std::vector<std::size_t> group_begin_;
    kernel_args args_;
};

// PDs of loans [begin, end) of the batch into pd[0 .. end-begin), with the best available kernel, or
// with the named one ("scalar", "sse2", "sse4_2", "avx2", "avx512"; it must be available).
void compute_pd(const compiled_model& m, const loan_batch& b, std::size_t begin, std::size_t end, float* pd);
void compute_pd(const kernel_binding& k, std::size_t begin, std::size_t end, float* pd);
void compute_pd_with(std::string_view kernel, const compiled_model& m, const loan_batch& b, std::size_t begin,
                     std::size_t end, float* pd);
// The same with the lookup groups even where avx512 would hold the tables in registers (tests).
void compute_pd_with_groups(std::string_view kernel, const compiled_model& m, const loan_batch& b, std::size_t begin,
                            std::size_t end, float* pd);

}  // namespace loanrisk::core

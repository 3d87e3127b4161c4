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
    const std::uint16_t* const* codes = nullptr;  // [term] -> column
    const float* const* tables = nullptr;         // [term] -> weight table (padded to 16 entries)
    std::size_t lookup_terms = 0;
    float intercept = 0;
};

// The instruction sets this build has kernels for, best first, and which of them this CPU runs.
std::vector<std::string> kernel_names();
std::vector<std::string> available_kernels();
// The one run-time dispatch picks.
std::string best_kernel();

// PDs of loans [begin, end) of the batch into pd[0 .. end-begin), with the best available kernel, or
// with the named one ("scalar", "sse2", "sse4_2", "avx2", "avx512"; it must be available).
void compute_pd(const compiled_model& m, const loan_batch& b, std::size_t begin, std::size_t end, float* pd);
void compute_pd_with(std::string_view kernel, const compiled_model& m, const loan_batch& b, std::size_t begin,
                     std::size_t end, float* pd);

}  // namespace loanrisk::core

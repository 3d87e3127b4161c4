// The batch scorer: kernel, policy, Expected Loss and portfolio aggregation over a LoanBatch in one pass,
// chunk by chunk (each chunk's PDs are still in cache when the policy and the aggregates read them).
// Large batches are split across threads; per-chunk partial summaries merge in chunk order, so the
// result is the same whatever the thread count.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "loanrisk/batch.hpp"
#include "loanrisk/policy.hpp"
#include "loanrisk/portfolio.hpp"

namespace loanrisk::core {

struct scored_batch {
    std::vector<float> pd;
    std::vector<decision> decisions;
    std::vector<double> expected_loss;  // NaN where the exposure is missing
    void resize(std::size_t n) {
        pd.resize(n);
        decisions.resize(n);
        expected_loss.resize(n);
    }
};

struct score_options {
    policy rules;
    unsigned threads = 0;  // 0: one per core
    std::string kernel;    // "" = the best this CPU runs (see kernel.hpp)
};

inline constexpr std::size_t score_chunk_loans = 4096;

// Scores every loan of `b` into `out` (resized) and adds them into `acc` (already reset for the model;
// call repeatedly to accumulate a stream of batches).
void score_batch(const compiled_model& m, const loan_batch& b, const score_options& options, scored_batch& out,
                 portfolio_accumulator& acc);

}  // namespace loanrisk::core

// Explanations for one loan: scorecard points and reason codes (the features pushing PD up most above the
// average applicant's, for adverse-action notices). Computed only when asked: single predict, or ?explain=true on batches.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/batch.hpp"

namespace loanrisk::core {

struct reason_code {
    std::string_view feature;  // the model's name of the term (valid while the compiled model is)
    std::string value;   // the input as received ("D", "35000"), "a / b" for a cross, "(missing)"
    double contribution;  // to the logit, above the feature's mean contribution in training
};

struct explanation {
    int score = 0;                     // 600 at odds 50:1 good:bad, 20 points to double the odds
    std::vector<reason_code> reasons;  // largest contributions above the average first, at most `top`
    std::vector<std::string> warnings; // inputs outside their training range (needs keep_raw)
};

// Points for a logit: 600 + 20/ln2 * (ln(good:bad odds) - ln 50), rounded.
int score_points(double logit);

explanation explain(const compiled_model& m, const loan_batch& b, std::size_t loan, std::size_t top = 3);

}  // namespace loanrisk::core

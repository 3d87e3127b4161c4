// The scalar, double-precision reference scorer: the truth the SIMD engine is tested against, and what
// training uses to evaluate the artifact it writes. One loan at a time, values looked up by field name.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "loanrisk/model.hpp"
#include "loanrisk/result.hpp"

namespace loanrisk::core {

// One input field as received: absent/null, a number, or text.
using field_value = std::variant<std::monostate, double, std::string>;
using loan_fields = std::map<std::string, field_value, std::less<>>;

struct reference_score {
    double logit = 0;
    double pd = 0;
    // One per model feature, in model order: intercept + sum(contributions) == logit.
    std::vector<double> contributions;
    // Features whose value lies outside the training range (scored, bins clamp).
    std::vector<std::string> warnings;
};

// Errors: `where` is the field name, `what` says why ("expected a number", "must be >= 0").
result<reference_score> score_reference(const model& m, const loan_fields& loan);

double sigmoid(double logit);

}  // namespace loanrisk::core

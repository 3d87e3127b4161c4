// A small, valid model artifact for unit tests, and a way to break one piece of it at a time.
#pragma once

#include <stdexcept>
#include <string>

namespace loanrisk::testing {

inline const std::string small_model = R"({
  "schema_version": 1, "model_version": "test", "kind": "scorecard", "target": "bad", "exposure_field": "amount",
  "intercept": -1,
  "features": [
    {"name": "amount", "type": "numeric", "domain": {"min": 0, "max": null}, "training_range": {"min": 100, "max": 1000},
     "transform": {"kind": "bins", "edges": [200, 500], "weights": [0.1, 0.2, 0.3], "missing_weight": 0.15}},
    {"name": "rate", "type": "numeric", "domain": {"min": 0, "max": 100}, "training_range": {"min": 5, "max": 25},
     "transform": {"kind": "standardize", "impute": 10, "mean": 11, "scale": 2, "weight": 0.5}},
    {"name": "grade", "type": "categorical", "categories": ["A", "B"], "weights": [-0.5, 0.5], "missing_weight": 0.25},
    {"name": "home", "type": "categorical", "categories": ["RENT", "OWN"], "weights": [0.2, -0.2], "missing_weight": 0},
    {"name": "grade x home", "type": "cross", "of": ["grade", "home"], "pairs": [["A", "RENT"], ["B", "OWN"]],
     "weights": [0.05, -0.05]}
  ],
  "training_pd_distribution": {"edges": [0, 0.5, 1], "fractions": [0.6, 0.4]},
  "metrics": {"holdout": {"roc_auc": 0.8}},
  "training": {"rows": 10}
})";

// small_model with the first occurrence of `from` replaced by `to`.
inline std::string small_model_with(const std::string& from, const std::string& to) {
    std::string s = small_model;
    auto at = s.find(from);
    if (at == std::string::npos) throw std::logic_error("fixture has no '" + from + "'");
    return s.replace(at, from.size(), to);
}

}  // namespace loanrisk::testing

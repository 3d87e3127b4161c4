// Data set + options -> model artifact with its metrics: the binning, encoding, tuning and fitting that
// `loanrisk train` runs. Produces the same core::model the engine consumes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loanrisk/dataset.hpp"
#include "loanrisk/evaluation.hpp"
#include "loanrisk/model.hpp"
#include "loanrisk/result.hpp"

namespace loanrisk::train {

// Columns never used as features: the id fallback list of the API contract.
inline const std::vector<std::string> id_columns = {"application_id", "ID",          "id",          "loan_id",
                                                    "client_id",      "customer_id", "reference_id"};

struct train_options {
    std::string target = "loan_status";
    std::string exposure = "loan_amnt";
    std::string kind = "scorecard";  // "scorecard" (quantile bins + categories) or "plain" (impute, standardize, one-hot)
    std::vector<std::string> exclude;     // columns not to use as features
    std::vector<std::pair<std::string, core::value_range>> domains;  // declared valid ranges, by column
    // scorecard only; 0 / empty means "tune by cross-validation on the training rows"
    int bins = 0;
    double l2 = 0;  // plain: 0 means 1.0 (scikit-learn's default C = 1)
    bool tune_crosses = true;
    std::vector<std::pair<std::string, std::string>> crosses;  // used as given when tune_crosses is false
    int max_crosses = 3;
    // Cross tuning tries pairs among this many categorical features, those that alone separate the
    // target best: the search is quadratic in it.
    int cross_candidates = 6;
    int folds = 5;
    // A categorical column with more distinct values in the training rows is refused (an identifier or free
    // text: each value would be a weight, and the fit's matrix grows with their square).
    std::size_t max_categories = 1000;
    // The numeric feature the summary's age bands read (model::age_field); unset: person_age where the model
    // has it; "": none.
    std::optional<std::string> age_field;
    std::function<void(std::string_view)> log;  // progress lines; may be empty
};

// Data row i (0-based, header excluded) is held out for evaluation iff i % 5 == 4.
inline bool is_holdout(std::size_t row) { return row % 5 == 4; }

struct train_report {
    core::model model;
    evaluation holdout;
    evaluation training;
    std::vector<std::string> leakage_warnings;
};

result<train_report> train_model(const dataset& data, const train_options& options);

// Column types a data set must have to be scored by `m` (numeric features numeric, the rest text), and the
// columns it reads: the model's and its target.
dataset_options columns_for(const core::model& m);
// Whether training with `o` never uses column `name` as a feature: excluded, or an id column.
bool never_a_feature(const train_options& o, std::string_view name);
// The dataset options for training with `o`: columns it never uses (not features, nor the target or the
// exposure) are not checked.
dataset_options columns_for(const train_options& o, std::vector<std::string> categorical);
// The model's features (other than crosses) that `data` has no column for, in model order.
std::vector<std::string> absent_features(const core::model& m, const dataset& data);

// Scores rows of `data` with the reference scorer; errors name the line and field.
// contribution_sums, when given: each feature's contributions summed over the rows (one per model feature).
result<std::vector<double>> score_rows(const core::model& m, const dataset& data, const std::vector<std::uint32_t>& rows,
                                       std::vector<double>* contribution_sums = nullptr);

// The 0/1 target column as bytes; errors name the line of the first value that is not 0 or 1.
result<std::vector<std::uint8_t>> labels(const dataset& data, const std::string& target);

// How well one feature alone separates the target on `rows`: max(AUC, 1 - AUC) of its values (a
// categorical scored by each category's default rate), and of whether it is missing (0.5 when never).
struct separation {
    double value = 0.5;
    double missingness = 0.5;
};
separation single_feature_separation(const column& c, const std::vector<std::uint8_t>& y,
                                     const std::vector<std::uint32_t>& rows);

// Single-feature separation check: a feature, or the missingness of one, that alone reaches AUC > 0.95
// on the training rows is almost certainly leaking the outcome. One message per offender.
std::vector<std::string> leakage_diagnostic(const dataset& data, const std::vector<std::uint8_t>& y,
                                            const std::vector<std::uint32_t>& rows,
                                            const std::vector<std::string>& features, double threshold = 0.95);

}  // namespace loanrisk::train

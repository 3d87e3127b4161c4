// Model quality metrics on a labelled set: what `loanrisk train` records in the artifact and
// `loanrisk evaluate` prints. Plain functions over (pd, label) pairs, all sums in double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace loanrisk::io {
class json_writer;
}

namespace loanrisk::train {

// ROC-AUC with ties counted as one half (the Mann-Whitney statistic), as scikit-learn's roc_auc_score.
// Returns NaN when only one class is present.
double roc_auc(std::span<const double> score, std::span<const std::uint8_t> label);

// Kolmogorov-Smirnov statistic: max over thresholds of |TPR - FPR|, tied scores moved together.
double ks_statistic(std::span<const double> score, std::span<const std::uint8_t> label);

// Mean squared error of the PD against the 0/1 outcome.
double brier_score(std::span<const double> pd, std::span<const std::uint8_t> label);

// Mean negative log-likelihood; PDs are clipped to [1e-15, 1 - 1e-15] as scikit-learn does.
double log_loss(std::span<const double> pd, std::span<const std::uint8_t> label);

struct calibration_bin {
    double lower = 0, upper = 0;  // PD range [lower, upper); the last bin includes 1
    std::size_t count = 0;
    double mean_pd = 0;        // 0 when count == 0
    double default_rate = 0;   // 0 when count == 0
};

// `bins` equal-width PD bins over [0, 1].
std::vector<calibration_bin> calibration_table(std::span<const double> pd, std::span<const std::uint8_t> label,
                                               std::size_t bins = 10);

// Expected calibration error: sum over bins of count/N * |mean_pd - default_rate|.
double expected_calibration_error(const std::vector<calibration_bin>& table);

// One row per candidate approve cut-off: loans with PD < cutoff are approved.
struct threshold_row {
    double cutoff = 0;
    double approval_rate = 0;            // approved / all
    double default_rate_approved = 0;    // defaults among approved / approved (0 when none approved)
    double recall = 0;                   // defaults declined (PD >= cutoff) / all defaults
    double precision = 0;                // defaults among declined / declined (0 when none declined)
    double false_positive_rate = 0;      // good loans declined / all good loans
};

// Cut-offs from `first` to `last` inclusive in steps of `step` (0.05 .. 0.95 by 0.05 by default).
std::vector<threshold_row> threshold_table(std::span<const double> pd, std::span<const std::uint8_t> label,
                                           double first = 0.05, double last = 0.95, double step = 0.05);

struct evaluation {
    std::size_t count = 0;
    std::size_t defaults = 0;
    double roc_auc = 0, gini = 0, ks = 0, brier = 0, log_loss = 0, ece = 0;
    std::vector<calibration_bin> calibration;
    std::vector<threshold_row> thresholds;
};

evaluation evaluate(std::span<const double> pd, std::span<const std::uint8_t> label);

// Writes the evaluation's fields (rows, defaults, roc_auc, gini, ks, brier, log_loss, ece and, with
// `tables`, calibration and thresholds) into an open JSON object, numbers to `digits` significant digits.
// The model artifact's metrics and `loanrisk evaluate --json` share it.
void write_evaluation_fields(io::json_writer& w, const evaluation& e, bool tables, int digits);

}  // namespace loanrisk::train

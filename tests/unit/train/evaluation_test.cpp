// Pins the evaluation metrics against values worked out by hand, so a change to the trainer's
// reported numbers is a deliberate one.
#include "loanrisk/evaluation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

using loanrisk::train::calibration_table;
using loanrisk::train::evaluate;
using loanrisk::train::expected_calibration_error;
using loanrisk::train::ks_statistic;
using loanrisk::train::roc_auc;
using loanrisk::train::threshold_table;

using scores = std::vector<double>;
using labels = std::vector<std::uint8_t>;

TEST(evaluation, auc_is_one_for_perfect_separation) {
    EXPECT_EQ(roc_auc(scores{0.1, 0.2, 0.8, 0.9}, labels{0, 0, 1, 1}), 1.0);
}

TEST(evaluation, auc_is_zero_for_reversed_ranking) {
    EXPECT_EQ(roc_auc(scores{0.9, 0.8, 0.2, 0.1}, labels{0, 0, 1, 1}), 0.0);
}

TEST(evaluation, auc_is_one_half_when_all_scores_tie) {
    EXPECT_EQ(roc_auc(scores{0.5, 0.5, 0.5, 0.5}, labels{0, 1, 0, 1}), 0.5);
}

TEST(evaluation, auc_counts_each_misordered_pair) {
    // Positive 0.35 loses to negative 0.4: 3 of 4 pairs ordered.
    EXPECT_EQ(roc_auc(scores{0.1, 0.4, 0.35, 0.8}, labels{0, 0, 1, 1}), 0.75);
}

TEST(evaluation, auc_counts_a_tied_pair_as_one_half) {
    // Pairs (pos, neg): (0.5, 0.2) 1, (0.5, 0.5) 1/2, (0.9, 0.2) 1, (0.9, 0.5) 1 -> 3.5 / 4.
    EXPECT_EQ(roc_auc(scores{0.2, 0.5, 0.5, 0.9}, labels{0, 0, 1, 1}), 0.875);
}

TEST(evaluation, auc_equals_pairwise_count_on_heavily_tied_scores) {
    scores s;
    labels y;
    std::uint32_t state = 12345;  // fixed LCG: deterministic data with many ties
    for (int i = 0; i < 300; ++i) {
        state = state * 1664525u + 1013904223u;
        s.push_back(static_cast<double>(state >> 28) / 16.0);  // 16 distinct scores
        y.push_back(static_cast<std::uint8_t>((state >> 7) % 3 == 0));
    }
    double twice_u = 0, positives = 0, negatives = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        (y[i] ? positives : negatives) += 1;
        if (!y[i]) continue;
        for (std::size_t j = 0; j < s.size(); ++j)
            if (!y[j]) twice_u += s[i] > s[j] ? 2 : s[i] == s[j] ? 1 : 0;
    }
    EXPECT_EQ(roc_auc(s, y), twice_u / (2 * positives * negatives));
}

TEST(evaluation, auc_does_not_depend_on_input_order) {
    EXPECT_EQ(roc_auc(scores{0.3, 0.7, 0.3, 0.1, 0.7}, labels{1, 0, 0, 1, 1}),
              roc_auc(scores{0.7, 0.1, 0.3, 0.7, 0.3}, labels{1, 1, 0, 0, 1}));
}

TEST(evaluation, auc_is_nan_when_one_class_is_absent) {
    EXPECT_TRUE(std::isnan(roc_auc(scores{0.1, 0.9}, labels{0, 0})));
    EXPECT_TRUE(std::isnan(roc_auc(scores{0.1, 0.9}, labels{1, 1})));
    EXPECT_TRUE(std::isnan(roc_auc(scores{}, labels{})));
}

TEST(evaluation, auc_is_nan_when_a_score_is_nan) {
    EXPECT_TRUE(std::isnan(roc_auc(scores{0.1, std::numeric_limits<double>::quiet_NaN()}, labels{0, 1})));
}

TEST(evaluation, ks_is_one_for_perfect_separation) {
    EXPECT_EQ(ks_statistic(scores{0.1, 0.2, 0.8, 0.9}, labels{0, 0, 1, 1}), 1.0);
}

TEST(evaluation, ks_is_largest_gap_between_tpr_and_fpr) {
    // From the top: 0.9 -> 1/3, 0.8 -> 2/3, 0.7 -> 2/3 - 1/2, 0.6 -> 1 - 1/2, 0.5 -> 0.
    EXPECT_EQ(ks_statistic(scores{0.9, 0.8, 0.7, 0.6, 0.5}, labels{1, 1, 0, 1, 0}), 2.0 / 3.0);
    EXPECT_EQ(ks_statistic(scores{0.1, 0.4, 0.35, 0.8}, labels{0, 0, 1, 1}), 0.5);
}

TEST(evaluation, ks_moves_tied_scores_together) {
    // Taking the positive 0.9 alone would claim 1/2; no cut-off separates it from the negative 0.9.
    EXPECT_EQ(ks_statistic(scores{0.9, 0.9, 0.1, 0.1}, labels{1, 0, 0, 1}), 0.0);
    EXPECT_EQ(ks_statistic(scores{0.9, 0.9, 0.5, 0.1}, labels{1, 0, 1, 0}), 0.5);
    EXPECT_EQ(ks_statistic(scores{0.5, 0.5, 0.5}, labels{1, 0, 1}), 0.0);
}

TEST(evaluation, ks_is_nan_when_one_class_is_absent) {
    EXPECT_TRUE(std::isnan(ks_statistic(scores{0.1, 0.9}, labels{1, 1})));
    EXPECT_TRUE(std::isnan(ks_statistic(scores{}, labels{})));
}

TEST(evaluation, brier_is_mean_squared_error) {
    // (0.0625 + 0.0625 + 0.25 + 0) / 4
    EXPECT_EQ(loanrisk::train::brier_score(scores{0.25, 0.75, 0.5, 0.0}, labels{0, 1, 1, 0}), 0.09375);
    EXPECT_TRUE(std::isnan(loanrisk::train::brier_score(scores{}, labels{})));
}

TEST(evaluation, log_loss_is_mean_negative_log_likelihood) {
    EXPECT_EQ(loanrisk::train::log_loss(scores{0.5, 0.5}, labels{0, 1}), std::log(2.0));
    EXPECT_EQ(loanrisk::train::log_loss(scores{0.25, 0.75}, labels{1, 0}), -std::log(0.25));
    EXPECT_TRUE(std::isnan(loanrisk::train::log_loss(scores{}, labels{})));
}

TEST(evaluation, log_loss_clips_certain_wrong_predictions) {
    EXPECT_DOUBLE_EQ(loanrisk::train::log_loss(scores{0.0}, labels{1}), -std::log(1e-15));
    EXPECT_TRUE(std::isfinite(loanrisk::train::log_loss(scores{1.0}, labels{0})));
}

TEST(evaluation, calibration_table_counts_and_means_per_bin) {
    const auto table = calibration_table(scores{0.125, 0.125, 0.375, 0.875, 1.0}, labels{0, 1, 0, 1, 1}, 4);
    ASSERT_EQ(table.size(), 4u);
    EXPECT_EQ(table[0].count, 2u);
    EXPECT_EQ(table[0].mean_pd, 0.125);
    EXPECT_EQ(table[0].default_rate, 0.5);
    EXPECT_EQ(table[1].count, 1u);
    EXPECT_EQ(table[1].mean_pd, 0.375);
    EXPECT_EQ(table[1].default_rate, 0.0);
    EXPECT_EQ(table[2].count, 0u);
    EXPECT_EQ(table[2].lower, 0.5);
    EXPECT_EQ(table[2].upper, 0.75);
    EXPECT_EQ(table[2].mean_pd, 0.0);
    EXPECT_EQ(table[3].count, 2u);  // PD == 1 closes the last bin
    EXPECT_EQ(table[3].mean_pd, 0.9375);
    EXPECT_EQ(table[3].default_rate, 1.0);
}

TEST(evaluation, calibration_table_spans_zero_to_one_in_ten_bins_by_default) {
    const auto table = calibration_table(scores{}, labels{});
    ASSERT_EQ(table.size(), 10u);
    EXPECT_EQ(table.front().lower, 0.0);
    EXPECT_EQ(table[3].lower, 0.3);
    EXPECT_EQ(table[3].upper, 0.4);
    EXPECT_EQ(table.back().upper, 1.0);
}

TEST(evaluation, calibration_bin_holds_pd_equal_to_its_lower_edge) {
    // 15.0 / 22 * 22 rounds below 15, so a bare floor would file this PD one bin low.
    const auto table = calibration_table(scores{15.0 / 22}, labels{0}, 22);
    EXPECT_EQ(table[15].count, 1u);
    EXPECT_EQ(table[14].count, 0u);
}

TEST(evaluation, ece_weights_each_bin_gap_by_its_count) {
    // (2 * |0.125 - 0.5| + 1 * 0.375 + 2 * |0.9375 - 1|) / 5
    const auto table = calibration_table(scores{0.125, 0.125, 0.375, 0.875, 1.0}, labels{0, 1, 0, 1, 1}, 4);
    EXPECT_EQ(expected_calibration_error(table), 0.25);
    EXPECT_EQ(expected_calibration_error(calibration_table(scores{0.5, 0.5}, labels{0, 1})), 0.0);
    EXPECT_TRUE(std::isnan(expected_calibration_error(calibration_table(scores{}, labels{}))));
}

TEST(evaluation, threshold_table_rates_at_each_cutoff) {
    const auto table = threshold_table(scores{0.1, 0.3, 0.6, 0.9}, labels{0, 1, 0, 1}, 0.25, 0.75, 0.25);
    ASSERT_EQ(table.size(), 3u);

    EXPECT_EQ(table[0].cutoff, 0.25);
    EXPECT_EQ(table[0].approval_rate, 0.25);
    EXPECT_EQ(table[0].default_rate_approved, 0.0);
    EXPECT_EQ(table[0].recall, 1.0);
    EXPECT_EQ(table[0].precision, 2.0 / 3.0);
    EXPECT_EQ(table[0].false_positive_rate, 0.5);

    EXPECT_EQ(table[1].cutoff, 0.5);
    EXPECT_EQ(table[1].approval_rate, 0.5);
    EXPECT_EQ(table[1].default_rate_approved, 0.5);
    EXPECT_EQ(table[1].recall, 0.5);
    EXPECT_EQ(table[1].precision, 0.5);
    EXPECT_EQ(table[1].false_positive_rate, 0.5);

    EXPECT_EQ(table[2].cutoff, 0.75);
    EXPECT_EQ(table[2].approval_rate, 0.75);
    EXPECT_EQ(table[2].default_rate_approved, 1.0 / 3.0);
    EXPECT_EQ(table[2].recall, 0.5);
    EXPECT_EQ(table[2].precision, 1.0);
    EXPECT_EQ(table[2].false_positive_rate, 0.0);
}

TEST(evaluation, threshold_table_declines_pd_equal_to_cutoff) {
    const auto table = threshold_table(scores{0.5}, labels{1}, 0.5, 0.5, 0.05);
    ASSERT_EQ(table.size(), 1u);
    EXPECT_EQ(table[0].approval_rate, 0.0);
    EXPECT_EQ(table[0].recall, 1.0);
}

TEST(evaluation, threshold_table_cutoffs_are_the_exact_decimals) {
    // 0.05 + 18 * 0.05 is 0.9500000000000001 in binary; the table must still end on 0.95.
    const std::vector<double> expected{0.05, 0.1,  0.15, 0.2,  0.25, 0.3,  0.35, 0.4,  0.45, 0.5,
                                       0.55, 0.6,  0.65, 0.7,  0.75, 0.8,  0.85, 0.9,  0.95};
    const auto table = threshold_table(scores{0.5}, labels{0});
    ASSERT_EQ(table.size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) EXPECT_EQ(table[k].cutoff, expected[k]) << k;
}

TEST(evaluation, threshold_table_is_empty_for_a_degenerate_range) {
    EXPECT_TRUE(threshold_table(scores{0.5}, labels{0}, 0.05, 0.95, 0.0).empty());
    EXPECT_TRUE(threshold_table(scores{0.5}, labels{0}, 0.95, 0.05, 0.05).empty());
}

TEST(evaluation, threshold_table_of_empty_input_is_zeros) {
    const auto table = threshold_table(scores{}, labels{});
    ASSERT_EQ(table.size(), 19u);
    EXPECT_EQ(table[0].approval_rate, 0.0);
    EXPECT_EQ(table[0].recall, 0.0);
}

TEST(evaluation, evaluate_bundles_every_metric_with_gini_from_auc) {
    const scores pd{0.1, 0.4, 0.35, 0.8};
    const labels y{0, 0, 1, 1};
    const auto result = evaluate(pd, y);
    EXPECT_EQ(result.count, 4u);
    EXPECT_EQ(result.defaults, 2u);
    EXPECT_EQ(result.roc_auc, 0.75);
    EXPECT_EQ(result.gini, 0.5);
    EXPECT_EQ(result.ks, 0.5);
    EXPECT_EQ(result.brier, loanrisk::train::brier_score(pd, y));
    EXPECT_EQ(result.log_loss, loanrisk::train::log_loss(pd, y));
    EXPECT_EQ(result.calibration.size(), 10u);
    EXPECT_EQ(result.ece, expected_calibration_error(result.calibration));
    EXPECT_EQ(result.thresholds.size(), 19u);
}

TEST(evaluation, evaluate_of_empty_input_reports_nan_metrics) {
    const auto result = evaluate(scores{}, labels{});
    EXPECT_EQ(result.count, 0u);
    EXPECT_TRUE(std::isnan(result.roc_auc));
    EXPECT_TRUE(std::isnan(result.gini));
    EXPECT_TRUE(std::isnan(result.brier));
    EXPECT_TRUE(std::isnan(result.ece));
}

}  // namespace

// Pins explanations: scorecard points on the 600 / 50:1 / 20-points-to-double scale, and reason codes
// that are the contributions lying furthest above the average applicant's (each feature's mean
// contribution in training; 0 in an artifact without it), in order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "../batch_support.hpp"
#include "../model_fixture.hpp"
#include "loanrisk/explain.hpp"

using namespace loanrisk;

TEST(explain, points_are_600_at_odds_50_to_1_and_20_more_per_doubling) {
    EXPECT_EQ(core::score_points(-std::log(50.0)), 600);
    EXPECT_EQ(core::score_points(-std::log(100.0)), 620);
    EXPECT_EQ(core::score_points(-std::log(25.0)), 580);
    EXPECT_EQ(core::score_points(0), 487);  // even odds
}

TEST(explain, reason_codes_are_the_top_positive_contributions_in_order) {
    auto model = core::parse_model(loanrisk::testing::small_model);
    ASSERT_TRUE(model);
    auto m = loanrisk::testing::compiled(*model, "amount");
    core::loan_batch b;
    b.reset(m, /*keep_raw=*/true);
    // amount 600 -> bin 2 (+0.3); rate 15 -> +1.0; grade B +0.5; home RENT +0.2; cross (B, RENT) unseen 0.
    ASSERT_TRUE(loanrisk::testing::push_loan(
        m, b, {{"amount", 600.0}, {"rate", 15.0}, {"grade", std::string("B")}, {"home", std::string("RENT")}}));
    auto e = core::explain(m, b, 0);
    ASSERT_EQ(e.reasons.size(), 3u);
    EXPECT_EQ(e.reasons[0].feature, "rate");
    EXPECT_EQ(e.reasons[0].value, "15");
    EXPECT_NEAR(e.reasons[0].contribution, 1.0, 1e-6);
    EXPECT_EQ(e.reasons[1].feature, "grade");
    EXPECT_EQ(e.reasons[1].value, "B");
    EXPECT_EQ(e.reasons[2].feature, "amount");
    EXPECT_EQ(e.reasons[2].value, "600");
    EXPECT_EQ(e.score, core::score_points(-1 + 0.3 + 1.0 + 0.5 + 0.2));
    EXPECT_TRUE(e.warnings.empty());
}

TEST(explain, negative_contributions_are_never_reasons_and_out_of_range_values_warn) {
    auto model = core::parse_model(loanrisk::testing::small_model);
    ASSERT_TRUE(model);
    auto m = loanrisk::testing::compiled(*model, "amount");
    core::loan_batch b;
    b.reset(m, true);
    ASSERT_TRUE(loanrisk::testing::push_loan(m, b, {{"amount", 5000.0}, {"rate", 1.0}, {"grade", std::string("A")}}));
    auto e = core::explain(m, b, 0);
    // amount bin 2 (+0.3) is the only positive term: rate -2.5, grade A -0.5, home missing 0, cross 0.
    ASSERT_EQ(e.reasons.size(), 1u);
    EXPECT_EQ(e.reasons[0].feature, "amount");
    EXPECT_EQ(e.warnings, (std::vector<std::string>{"amount", "rate"}));
}

// A reason is measured from the feature's mean contribution in training, the average applicant's: a term
// below zero but above its average is a reason (grade A, -0.5 against an average of -0.9), terms above zero
// but below their average are not (amount, home), and the amount reported is the difference.
TEST(explain, reasons_are_measured_from_the_average_applicants_contribution) {
    auto model = core::parse_model(loanrisk::testing::small_model);
    ASSERT_TRUE(model);
    model->features[0].mean_contribution = 0.35;  // amount: bin 2 (+0.3) lies below it
    model->features[1].mean_contribution = -1.5;  // rate
    model->features[2].mean_contribution = -0.9;  // grade: A (-0.5) lies 0.4 above it
    model->features[3].mean_contribution = 0.25;  // home: RENT (+0.2) lies below it
    auto m = loanrisk::testing::compiled(*model, "amount");
    core::loan_batch b;
    b.reset(m, true);
    // amount 600 -> +0.3; rate 9 -> 0.5 * (9 - 11) / 2 = -0.5; grade A -0.5; home RENT +0.2; cross (A, RENT) +0.05.
    ASSERT_TRUE(loanrisk::testing::push_loan(
        m, b, {{"amount", 600.0}, {"rate", 9.0}, {"grade", std::string("A")}, {"home", std::string("RENT")}}));
    auto e = core::explain(m, b, 0);
    ASSERT_EQ(e.reasons.size(), 3u);
    EXPECT_EQ(e.reasons[0].feature, "rate");
    EXPECT_NEAR(e.reasons[0].contribution, 1.0, 1e-6);  // -0.5 against -1.5
    EXPECT_EQ(e.reasons[1].feature, "grade");
    EXPECT_EQ(e.reasons[1].value, "A");
    EXPECT_NEAR(e.reasons[1].contribution, 0.4, 1e-6);
    EXPECT_EQ(e.reasons[2].feature, "grade x home");
    EXPECT_NEAR(e.reasons[2].contribution, 0.05, 1e-6);  // no mean in the artifact: measured from 0
    // The score is the loan's own logit, whatever the reference.
    EXPECT_EQ(e.score, core::score_points(-1 + 0.3 - 0.5 - 0.5 + 0.2 + 0.05));
}

// The reasons are the first `top` of all positive contributions in a stable descending sort (the earlier
// term first on a tie), for any `top`: explain keeps only the best few as it goes, and must agree.
TEST(explain, reasons_match_a_stable_sort_of_every_contribution_for_any_top) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    core::loan_batch b;
    b.reset(m, true);
    const char* grades = "ABCDEFG";
    const char* homes[] = {"RENT", "OWN", "MORTGAGE", "OTHER", "UNSEEN"};
    for (int i = 0; i < 140; ++i)
        ASSERT_TRUE(loanrisk::testing::push_loan(
            m, b, {{"person_age", 21.0 + i % 50}, {"loan_amnt", 500.0 + 250.0 * i}, {"loan_int_rate", 5.0 + i % 17},
                   {"loan_percent_income", 0.01 * (i % 60)}, {"loan_grade", std::string(1, grades[i % 7])},
                   {"person_home_ownership", std::string(homes[i % 5])}}));
    for (std::size_t loan = 0; loan < b.size; ++loan) {
        std::vector<std::pair<double, std::string_view>> all;  // contribution, feature, in term order
        for (std::size_t t = 0; t < m.dense.size(); ++t)
            all.emplace_back(static_cast<double>(m.dense[t].weight) * b.dense[t][loan] - m.dense[t].mean_contribution,
                             m.dense[t].name);
        for (std::size_t t = 0; t < m.lookups.size(); ++t)
            all.emplace_back(m.lookups[t].table[b.codes[t][loan]] - m.lookups[t].mean_contribution, m.lookups[t].name);
        std::stable_sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
        for (std::size_t top : {0u, 1u, 2u, 3u, 5u, 40u}) {
            auto e = core::explain(m, b, loan, top);
            std::size_t expected = 0;
            while (expected < std::min(top, all.size()) && all[expected].first > 0) ++expected;
            ASSERT_EQ(e.reasons.size(), expected) << "loan " << loan << " top " << top;
            for (std::size_t r = 0; r < expected; ++r) {
                EXPECT_EQ(e.reasons[r].feature, all[r].second) << "loan " << loan << " top " << top;
                EXPECT_EQ(e.reasons[r].contribution, all[r].first);
            }
        }
    }
}

// Pins the reference scorer: the contribution of every transform, missing and unknown values, domain
// errors, and intercept + sum(contributions) == logit.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "../model_fixture.hpp"
#include "loanrisk/reference_scorer.hpp"

using namespace loanrisk::core;

namespace {

model small() {
    auto m = parse_model(loanrisk::testing::small_model);
    if (!m) throw std::runtime_error(m.err().message());
    return *m;
}

}  // namespace

TEST(reference_scorer, sums_each_transform_into_the_logit) {
    loan_fields loan{{"amount", 300.0}, {"rate", 15.0}, {"grade", std::string("B")}, {"home", std::string("OWN")}};
    auto s = score_reference(small(), loan);
    ASSERT_TRUE(s) << s.err().message();
    EXPECT_EQ(s->contributions, (std::vector<double>{0.2, 0.5 * (15 - 11) / 2, 0.5, -0.2, -0.05}));
    EXPECT_EQ(s->logit, -1 + 0.2 + 1.0 + 0.5 - 0.2 - 0.05);
    EXPECT_DOUBLE_EQ(s->pd, 1 / (1 + std::exp(-s->logit)));
    EXPECT_TRUE(s->warnings.empty());
}

TEST(reference_scorer, intercept_plus_contributions_equals_logit_exactly) {
    loan_fields loan{{"amount", 250.5}, {"rate", 7.25}, {"grade", std::string("A")}, {"home", std::string("RENT")}};
    auto s = score_reference(small(), loan);
    ASSERT_TRUE(s);
    double sum = -1;
    for (double c : s->contributions) sum += c;
    EXPECT_EQ(sum, s->logit);
}

TEST(reference_scorer, bin_edges_are_inclusive_below) {
    EXPECT_EQ(score_reference(small(), {{"amount", 199.999}})->contributions[0], 0.1);
    EXPECT_EQ(score_reference(small(), {{"amount", 200.0}})->contributions[0], 0.2);
    EXPECT_EQ(score_reference(small(), {{"amount", 500.0}})->contributions[0], 0.3);
}

TEST(reference_scorer, values_beyond_the_training_range_clamp_to_the_end_bins_and_warn) {
    auto s = score_reference(small(), {{"amount", 1e9}});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->contributions[0], 0.3);
    EXPECT_EQ(s->warnings, (std::vector<std::string>{"amount"}));
}

TEST(reference_scorer, missing_values_use_the_missing_weight_or_the_imputed_value) {
    auto s = score_reference(small(), {{"amount", std::monostate{}}});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->contributions[0], 0.15);
    EXPECT_EQ(s->contributions[1], 0.5 * (10 - 11) / 2);
    EXPECT_EQ(s->contributions[2], 0.25);
    EXPECT_EQ(s->contributions[4], 0);
    // An empty category is missing too, as an empty CSV field is.
    EXPECT_EQ(score_reference(small(), {{"grade", std::string()}})->contributions[2], 0.25);
}

TEST(reference_scorer, unknown_categories_and_unseen_pairs_contribute_zero) {
    auto s = score_reference(small(), {{"grade", std::string("Z")}, {"home", std::string("RENT")}});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->contributions[2], 0);
    EXPECT_EQ(s->contributions[3], 0.2);
    EXPECT_EQ(s->contributions[4], 0);
    EXPECT_EQ(score_reference(small(), {{"grade", std::string("A")}, {"home", std::string("OWN")}})->contributions[4], 0);
}

TEST(reference_scorer, rejects_text_in_a_numeric_field) {
    auto s = score_reference(small(), {{"amount", std::string("12")}});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.err().message(), "amount: expected a number");
}

TEST(reference_scorer, rejects_a_number_in_a_categorical_field) {
    auto s = score_reference(small(), {{"grade", 1.0}});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.err().message(), "grade: expected a string (one of the model's categories)");
}

TEST(reference_scorer, rejects_values_outside_the_domain) {
    EXPECT_EQ(score_reference(small(), {{"amount", -1.0}}).err().message(), "amount: must be >= 0");
    EXPECT_EQ(score_reference(small(), {{"rate", 100.5}}).err().message(), "rate: must be <= 100");
}

TEST(reference_scorer, rejects_non_finite_numbers) {
    EXPECT_EQ(score_reference(small(), {{"amount", NAN}}).err().message(), "amount: expected a finite number");
    EXPECT_EQ(score_reference(small(), {{"amount", INFINITY}}).err().message(), "amount: expected a finite number");
}

TEST(reference_scorer, sigmoid_is_stable_at_extremes) {
    EXPECT_EQ(sigmoid(0), 0.5);
    EXPECT_EQ(sigmoid(-1000), 0);
    EXPECT_EQ(sigmoid(1000), 1);
    EXPECT_GT(sigmoid(-700), 0);
}

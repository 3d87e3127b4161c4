// Pins the IRLS solver: it recovers known coefficients from synthetic data, honours the L2 penalty,
// fits on a subset of rows, and is deterministic.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "loanrisk/irls.hpp"

using namespace loanrisk::train;

namespace {

// Three dense features with true weights {1.5, -2, 0.5} and intercept -1.
struct synthetic {
    design x;
    std::vector<std::uint8_t> y;
};

synthetic make(std::size_t n, unsigned seed) {
    synthetic s;
    s.x.resize(n, 3);
    s.x.cols = 3;
    s.y.resize(n);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    const double w[3] = {1.5, -2, 0.5};
    for (std::size_t r = 0; r < n; ++r) {
        double eta = -1;
        for (std::uint32_t k = 0; k < 3; ++k) {
            double v = u(rng);
            s.x.index[r * 3 + k] = k;
            s.x.value[r * 3 + k] = v;
            eta += w[k] * v;
        }
        s.y[r] = u(rng) * 0.5 + 0.5 < 1 / (1 + std::exp(-eta)) ? 1 : 0;
    }
    return s;
}

}  // namespace

TEST(irls, recovers_known_coefficients) {
    auto s = make(200000, 7);
    auto fit = fit_logistic(s.x, s.y, irls_options{1e-6});
    ASSERT_TRUE(fit.converged);
    EXPECT_NEAR(fit.intercept, -1, 0.03);
    EXPECT_NEAR(fit.weights[0], 1.5, 0.03);
    EXPECT_NEAR(fit.weights[1], -2, 0.03);
    EXPECT_NEAR(fit.weights[2], 0.5, 0.03);
    EXPECT_LT(fit.iterations, 15);
}

TEST(irls, gradient_is_zero_at_the_penalized_optimum) {
    auto s = make(5000, 3);
    const double l2 = 10;
    auto fit = fit_logistic(s.x, s.y, irls_options{l2});
    ASSERT_TRUE(fit.converged);
    double g[4] = {0, 0, 0, 0};
    for (std::size_t r = 0; r < s.x.rows; ++r) {
        double resid = 1 / (1 + std::exp(-linear_predictor(s.x, fit, r))) - s.y[r];
        g[0] += resid;
        for (std::size_t k = 0; k < 3; ++k) g[1 + k] += resid * s.x.value[r * 3 + k];
    }
    EXPECT_NEAR(g[0], 0, 1e-8);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(g[1 + k] + l2 * fit.weights[k], 0, 1e-8);
}

TEST(irls, a_larger_penalty_shrinks_the_weights) {
    auto s = make(2000, 5);
    auto loose = fit_logistic(s.x, s.y, irls_options{0.01});
    auto tight = fit_logistic(s.x, s.y, irls_options{1000});
    EXPECT_LT(std::fabs(tight.weights[1]), std::fabs(loose.weights[1]) / 2);
}

TEST(irls, fits_only_the_rows_it_is_given) {
    auto s = make(4000, 11);
    std::vector<std::uint32_t> first_half;
    for (std::uint32_t r = 0; r < 2000; ++r) first_half.push_back(r);
    auto subset = fit_logistic(s.x, s.y, irls_options{1}, first_half);
    synthetic half = make(4000, 11);
    half.x.resize(2000, 3);
    half.x.cols = 3;
    for (std::size_t i = 0; i < 2000 * 3; ++i) half.x.index[i] = s.x.index[i], half.x.value[i] = s.x.value[i];
    half.y.resize(2000);
    auto direct = fit_logistic(half.x, half.y, irls_options{1});
    EXPECT_EQ(subset.weights, direct.weights);
    EXPECT_EQ(subset.intercept, direct.intercept);
}

TEST(irls, is_deterministic) {
    auto s = make(3000, 13);
    auto a = fit_logistic(s.x, s.y, irls_options{1});
    auto b = fit_logistic(s.x, s.y, irls_options{1});
    EXPECT_EQ(a.weights, b.weights);
    EXPECT_EQ(a.intercept, b.intercept);
}

TEST(irls, with_no_features_the_intercept_is_the_log_odds_of_the_base_rate) {
    design x;
    x.resize(4, 0);
    std::vector<std::uint8_t> y{1, 0, 0, 0};
    auto fit = fit_logistic(x, y, irls_options{1});
    EXPECT_NEAR(fit.intercept, std::log(1.0 / 3), 1e-12);
}

// A row may put two entries in one column (the trainer does not, but the design allows it): the fit must be
// that of the row with the two values added. The Hessian's diagonal once missed one of the cross terms.
TEST(irls, two_entries_of_a_row_in_one_column_fit_as_their_sum) {
    auto s = make(5000, 11);
    design split;
    split.resize(s.x.rows, 4);
    split.cols = 3;
    for (std::size_t r = 0; r < s.x.rows; ++r) {
        for (std::size_t k = 0; k < 3; ++k) {
            split.index[r * 4 + k] = s.x.index[r * 3 + k];
            split.value[r * 4 + k] = s.x.value[r * 3 + k];
        }
        split.value[r * 4] *= 0.25;  // column 0's value as 0.25 v + 0.75 v
        split.index[r * 4 + 3] = 0;
        split.value[r * 4 + 3] = 0.75 * s.x.value[r * 3];
    }
    auto whole = fit_logistic(s.x, s.y, irls_options{1});
    auto parts = fit_logistic(split, s.y, irls_options{1});
    ASSERT_TRUE(whole.converged && parts.converged);
    EXPECT_NEAR(parts.intercept, whole.intercept, 1e-9);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(parts.weights[k], whole.weights[k], 1e-9) << k;
    EXPECT_LE(parts.iterations, whole.iterations);  // a wrong Hessian converges slower, if at all
}

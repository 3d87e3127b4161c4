// Pins the one-pass scorer: decisions at the policy boundaries, Expected Loss (null without exposure),
// the summary equal to a naive double-precision recomputation from the same PDs, and results that do not
// depend on the thread count or the instruction set.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../batch_support.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/scorer.hpp"

using namespace loanrisk;

namespace {

// A portfolio of `n` random loans drawn from the shipped model's categories and training ranges.
core::loan_batch random_portfolio(const core::compiled_model& m, std::size_t n, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    core::loan_batch b;
    b.reset(m);
    for (std::size_t i = 0; i < n; ++i) {
        core::loan_fields f;
        for (const auto& in : m.inputs) {
            if (u(rng) < 0.03) continue;  // missing
            if (in.numeric) {
                double lo = in.training_range.min, hi = std::min(in.training_range.max, in.domain.max);
                f.emplace(in.name, std::round((lo + u(rng) * (hi - lo) * 0.5) * 100) / 100);
            } else {
                f.emplace(in.name, in.categories[static_cast<std::size_t>(u(rng) * static_cast<double>(in.categories.size()))]);
            }
        }
        if (!loanrisk::testing::push_loan(m, b, f)) ADD_FAILURE() << "invalid generated loan";
        core::set_id(b, b.size - 1, "L-" + std::to_string(i));
    }
    return b;
}

struct run_result {
    core::scored_batch scored;
    core::portfolio_accumulator acc;
};

run_result run(const core::compiled_model& m, const core::loan_batch& b, unsigned threads, const std::string& kernel = "") {
    run_result r;
    r.acc.reset(m, {});
    core::score_options o;
    o.threads = threads;
    o.kernel = kernel;
    core::score_batch(m, b, o, r.scored, r.acc);
    return r;
}

}  // namespace

TEST(scorer, decisions_follow_the_policy_boundaries) {
    core::policy p;
    EXPECT_EQ(core::decide(p, 0.2999999), core::decision::approve);
    EXPECT_EQ(core::decide(p, 0.30), core::decision::manual_review);
    EXPECT_EQ(core::decide(p, 0.5999999), core::decision::manual_review);
    EXPECT_EQ(core::decide(p, 0.60), core::decision::reject);
    EXPECT_EQ(core::decision_name(core::decision::manual_review), "MANUAL_REVIEW");
}

TEST(scorer, expected_loss_is_pd_times_exposure_times_lgd_and_nan_without_exposure) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    core::loan_batch b;
    b.reset(m);
    loanrisk::testing::push_loan(m, b, {{"loan_amnt", 10000.0}, {"loan_grade", std::string("D")}});
    loanrisk::testing::push_loan(m, b, {{"loan_grade", std::string("D")}});
    auto r = run(m, b, 1);
    EXPECT_EQ(r.scored.expected_loss[0], static_cast<double>(r.scored.pd[0]) * 10000.0 * 0.6);
    EXPECT_TRUE(std::isnan(r.scored.expected_loss[1]));
    EXPECT_EQ(r.acc.expected_loss_count, 1u);
}

// Every kernel (each has its own vectorised policy pass and accumulation) and the dispatched one, on two
// threads, over 20,011 loans: four full chunks and one of 3,627, which is no multiple of any vector width, so
// each chunk's scalar tail is summed too.
TEST(scorer, summary_equals_a_naive_recomputation_with_every_kernel) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    constexpr std::size_t n = 20011;
    auto b = random_portfolio(m, n, 1);
    // SPEC section 3's PD histogram buckets, written out here rather than taken from the product.
    constexpr std::array<double, 9> edges = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1};
    const std::array<std::string, 2> group_names = {"loan_grade", "loan_intent"};  // the default grouping
    std::vector<std::string> kernels = core::available_kernels();
    kernels.insert(kernels.begin(), "");
    for (const std::string& kernel : kernels) {
        SCOPED_TRACE("kernel '" + kernel + "'");
        auto r = run(m, b, 2, kernel);
        const auto& s = r.scored;
        core::policy p;
        std::array<std::size_t, 3> decisions{};
        std::array<std::size_t, 8> hist{};
        std::array<std::size_t, 5> band{}, approved{};
        double exposure = 0, el = 0, pd_sum = 0;
        std::size_t with_el = 0, unknown_age = 0;
        std::vector<std::vector<core::group_totals>> groups;
        std::vector<std::size_t> group_columns;
        for (const auto& name : group_names) {
            const auto& in = m.inputs[static_cast<std::size_t>(m.find_input(name))];
            group_columns.push_back(in.column);
            groups.emplace_back(in.categories.size() + 2);  // the categories, unknown, missing
        }
        std::vector<std::size_t> psi(model.training_pd.fractions.size(), 0);
        for (std::size_t i = 0; i < b.size; ++i) {
            double pd = s.pd[i];
            auto d = pd < p.approve_max ? 0 : pd < p.reject_min ? 1 : 2;
            ASSERT_EQ(static_cast<int>(s.decisions[i]), d) << "loan " << i;
            ++decisions[static_cast<std::size_t>(d)];
            std::size_t h = 0;
            while (h < 7 && pd >= edges[h + 1]) ++h;
            ++hist[h];
            std::size_t k = 0;
            while (k + 1 < psi.size() && pd >= model.training_pd.edges[k + 1]) ++k;
            ++psi[k];
            pd_sum += pd;
            const bool has_el = !std::isnan(b.exposure[i]);
            if (has_el) {
                exposure += b.exposure[i];
                el += pd * b.exposure[i] * p.lgd;
                ++with_el;
                ASSERT_NEAR(s.expected_loss[i], pd * b.exposure[i] * p.lgd, 1e-12 * pd * b.exposure[i]) << "loan " << i;
            }
            for (std::size_t g = 0; g < groups.size(); ++g) {
                auto& t = groups[g].at(b.codes[group_columns[g]][i]);
                ++t.count;
                if (has_el) {
                    t.exposure += b.exposure[i];
                    t.expected_loss += pd * b.exposure[i] * p.lgd;
                }
            }
            double age = b.age[i];
            if (std::isnan(age) || age < 18) {
                ++unknown_age;
            } else {
                std::size_t k2 = age < 25 ? 0 : age < 35 ? 1 : age < 45 ? 2 : age < 55 ? 3 : 4;
                ++band[k2];
                approved[k2] += d == 0;
            }
        }
        const auto& a = r.acc;
        EXPECT_EQ(a.count, b.size);
        EXPECT_EQ(a.decisions, decisions);
        EXPECT_EQ(a.pd_histogram, hist);
        EXPECT_EQ(a.psi_counts, psi);
        EXPECT_EQ(a.band_count, band);
        EXPECT_EQ(a.band_approved, approved);
        EXPECT_EQ(a.band_unknown, unknown_age);
        EXPECT_EQ(a.expected_loss_count, with_el);
        EXPECT_NEAR(a.exposure_total, exposure, 1e-9 * exposure);
        EXPECT_NEAR(a.expected_loss_total, el, 1e-9 * el);
        EXPECT_NEAR(a.pd_sum, pd_sum, 1e-9 * pd_sum);
        ASSERT_EQ(a.groups.size(), groups.size());
        for (std::size_t g = 0; g < groups.size(); ++g) {
            EXPECT_EQ(a.group_column.at(g), group_columns[g]) << group_names[g];
            ASSERT_EQ(a.groups[g].size(), groups[g].size()) << group_names[g];
            for (std::size_t c = 0; c < groups[g].size(); ++c) {
                const auto& want = groups[g][c];
                const auto& got = a.groups[g][c];
                EXPECT_EQ(got.count, want.count) << group_names[g] << " code " << c;
                EXPECT_NEAR(got.exposure, want.exposure, 1e-9 * (1 + want.exposure)) << group_names[g] << " code " << c;
                EXPECT_NEAR(got.expected_loss, want.expected_loss, 1e-9 * (1 + want.expected_loss))
                    << group_names[g] << " code " << c;
            }
        }

        auto summary = core::summarize(m, a, {});
        EXPECT_DOUBLE_EQ(summary.approval_rate, static_cast<double>(decisions[0]) / n);
        EXPECT_DOUBLE_EQ(summary.mean_expected_loss, a.expected_loss_total / static_cast<double>(with_el));
        double lo = 1, hi = 0;
        for (std::size_t k = 0; k < 5; ++k) {
            double rate = static_cast<double>(approved[k]) / static_cast<double>(band[k]);
            lo = std::min(lo, rate), hi = std::max(hi, rate);
        }
        ASSERT_TRUE(summary.disparate_impact_ratio);
        EXPECT_DOUBLE_EQ(*summary.disparate_impact_ratio, lo / hi);
        double expected_psi = 0;
        for (std::size_t k = 0; k < psi.size(); ++k) {
            double act = std::max(static_cast<double>(psi[k]) / n, 1e-4), exp = std::max(model.training_pd.fractions[k], 1e-4);
            expected_psi += (act - exp) * std::log(act / exp);
        }
        ASSERT_TRUE(summary.psi);
        EXPECT_NEAR(*summary.psi, expected_psi, 1e-12);
    }
}

TEST(scorer, results_do_not_depend_on_the_thread_count) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    auto b = random_portfolio(m, 3 * core::score_chunk_loans + 123, 2);
    auto one = run(m, b, 1), four = run(m, b, 4);
    EXPECT_EQ(one.scored.pd, four.scored.pd);
    EXPECT_EQ(one.acc.expected_loss_total, four.acc.expected_loss_total);  // bit for bit: merged in chunk order
    EXPECT_EQ(one.acc.pd_sum, four.acc.pd_sum);
    EXPECT_EQ(one.acc.exposure_total, four.acc.exposure_total);
    EXPECT_EQ(one.acc.decisions, four.acc.decisions);
    EXPECT_EQ(one.acc.pd_histogram, four.acc.pd_histogram);
    EXPECT_EQ(one.acc.psi_counts, four.acc.psi_counts);
    ASSERT_EQ(one.acc.groups.size(), four.acc.groups.size());
    for (std::size_t g = 0; g < one.acc.groups.size(); ++g)
        for (std::size_t c = 0; c < one.acc.groups[g].size(); ++c) {  // bit for bit too
            EXPECT_EQ(one.acc.groups[g][c].count, four.acc.groups[g][c].count);
            EXPECT_EQ(one.acc.groups[g][c].exposure, four.acc.groups[g][c].exposure);
            EXPECT_EQ(one.acc.groups[g][c].expected_loss, four.acc.groups[g][c].expected_loss);
        }
}

TEST(scorer, every_kernel_gives_the_same_decisions_away_from_the_boundaries) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    auto b = random_portfolio(m, 5000, 3);
    auto base = run(m, b, 1, "scalar");
    for (const auto& k : core::available_kernels()) {
        auto r = run(m, b, 1, k);
        for (std::size_t i = 0; i < b.size; ++i) {
            ASSERT_NEAR(r.scored.pd[i], base.scored.pd[i], 1e-6) << k;
            if (std::fabs(base.scored.pd[i] - 0.3) > 1e-6 && std::fabs(base.scored.pd[i] - 0.6) > 1e-6) {
                ASSERT_EQ(r.scored.decisions[i], base.scored.decisions[i]) << k;
            }
        }
    }
}

TEST(scorer, an_empty_batch_gives_an_empty_summary) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    core::loan_batch b;
    b.reset(m);
    auto r = run(m, b, 2);
    EXPECT_EQ(r.acc.count, 0u);
    auto s = core::summarize(m, r.acc, {});
    EXPECT_TRUE(std::isnan(s.approval_rate));
    EXPECT_FALSE(s.psi);
    EXPECT_FALSE(s.disparate_impact_ratio);
}

// The disparate-impact ratio compares age bands: with loans in one band only it is undefined (null), not 1.
TEST(scorer, one_age_band_has_no_disparate_impact_ratio) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    core::loan_batch b;
    b.reset(m);
    for (double age : {30.0, 31.0, 33.0})
        ASSERT_TRUE(loanrisk::testing::push_loan(m, b, {{"person_age", age}, {"loan_grade", std::string("A")}}));
    auto one = core::summarize(m, run(m, b, 1).acc, {});
    EXPECT_EQ(one.band_approval_rate[1], 1.0);
    EXPECT_FALSE(one.disparate_impact_ratio);
    ASSERT_TRUE(loanrisk::testing::push_loan(m, b, {{"person_age", 50.0}, {"loan_grade", std::string("A")}}));
    auto two = core::summarize(m, run(m, b, 1).acc, {});
    EXPECT_TRUE(two.disparate_impact_ratio);
}

TEST(scorer, a_pd_printed_as_the_threshold_is_not_approved) {
    // Regression: float PDs were compared with double thresholds, so a PD printed "0.7" was approved under
    // approve_max 0.7 (float(0.7) < 0.7).
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    core::policy p{0.7, 0.9, 0.6};
    core::policy_args a = core::make_policy_args(m, p);
    const double exposure[3] = {1000, 1000, 1000}, age[3] = {30, 30, 30};
    a.exposure = exposure;
    a.age = age;
    const float pd[3] = {0.7f, 0.9f, std::nextafter(0.7f, 0.0f)};
    std::uint8_t decision[3];
    double el[3];
    core::block_totals t;
    for (const auto& k : core::available_kernels()) {
        core::apply_policy_with(k, a, pd, 3, decision, el, t);
        EXPECT_EQ(decision[0], 1) << k;  // MANUAL_REVIEW
        EXPECT_EQ(decision[1], 2) << k;  // REJECT
        EXPECT_EQ(decision[2], 0) << k;  // APPROVE
    }
}

// Pins the PD kernel: every instruction set this CPU runs, and the plain scalar kernel, agree with the
// double-precision reference scorer to |dPD| <= 1e-6, on the whole real data set and on edge inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include "../batch_support.hpp"
#include "../model_fixture.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/trainer.hpp"

using namespace loanrisk;
using loanrisk::testing::push_loan;

namespace {

const std::string real_data = LOANRISK_DATA_DIR "/credit_risk_dataset.csv";

// The largest |PD - reference| of `kernel` over the batch (NaN if any PD is NaN); `groups`: avx512 on the
// lookup groups, not its tables in registers.
double max_error(const std::string& kernel, const core::compiled_model& m, const core::loan_batch& b,
                 const std::vector<double>& reference, bool groups = false) {
    std::vector<float> pd(b.size + 1, -1.0f);
    if (groups) core::compute_pd_with_groups(kernel, m, b, 0, b.size, pd.data());
    else core::compute_pd_with(kernel, m, b, 0, b.size, pd.data());
    EXPECT_EQ(pd[b.size], -1.0f) << kernel << " wrote past the end";
    double worst = 0;
    for (std::size_t i = 0; i < b.size; ++i) {
        const double e = std::fabs(static_cast<double>(pd[i]) - reference[i]);
        if (!(e <= worst)) worst = e;  // NaN sticks
    }
    return worst;
}

bool has_avx512() {
    const auto k = core::available_kernels();
    return std::find(k.begin(), k.end(), "avx512") != k.end();
}

struct loans {
    core::loan_batch batch;
    std::vector<double> reference;
};

loans from_fields(const core::model& model, const core::compiled_model& m, const std::vector<core::loan_fields>& all) {
    loans l;
    l.batch.reset(m);
    for (const auto& f : all) {
        auto r = core::score_reference(model, f);
        EXPECT_TRUE(r) << r.err().message();
        EXPECT_TRUE(push_loan(m, l.batch, f));
        l.reference.push_back(r->pd);
    }
    return l;
}

// A model artifact around `features` (a JSON list's items, without brackets).
std::string scorecard(const std::string& version, const std::string& intercept, const std::string& features) {
    return R"({"schema_version": 1, "model_version": ")" + version + R"(", "kind": "scorecard", "target": "bad",
        "exposure_field": "amount", "intercept": )" + intercept + R"(, "features": [)" + features + R"(],
        "training_pd_distribution": {"edges": [0, 0.5, 1], "fractions": [0.6, 0.4]},
        "metrics": {"holdout": {"roc_auc": 0.8}}, "training": {"rows": 10}})";
}

}  // namespace

TEST(kernel, the_scalar_kernel_and_baseline_sse2_are_always_available) {
    auto k = core::available_kernels();
    EXPECT_NE(std::find(k.begin(), k.end(), "scalar"), k.end());
    EXPECT_NE(std::find(k.begin(), k.end(), "sse2"), k.end());
    EXPECT_EQ(core::best_kernel(), k.front());
}

TEST(kernel, an_unavailable_or_unknown_kernel_is_refused) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    core::loan_batch b;
    b.reset(m);
    float pd = 0;
    EXPECT_THROW(core::compute_pd_with("neon", m, b, 0, 0, &pd), std::invalid_argument);
}

TEST(kernel, every_kernel_matches_the_reference_on_the_real_data) {
    if (!std::ifstream(real_data)) {
        if (std::getenv("LOANRISK_REQUIRE_DATA")) FAIL() << real_data << " is required";
        GTEST_SKIP() << real_data << " not found";
    }
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    auto data = train::load_dataset(real_data, train::columns_for(model));
    ASSERT_TRUE(data);
    std::vector<core::loan_fields> all;
    for (std::size_t r = 0; r < data->rows(); ++r) all.push_back(loanrisk::testing::row_fields(*data, r));
    auto l = from_fields(model, m, all);
    ASSERT_EQ(l.batch.size, 32581u);
    for (const auto& k : core::available_kernels()) EXPECT_LE(max_error(k, m, l.batch, l.reference), 1e-6) << k;
    // The dispatched kernel too.
    std::vector<float> pd(l.batch.size);
    core::compute_pd(m, l.batch, 0, l.batch.size, pd.data());
    for (std::size_t i = 0; i < l.batch.size; ++i) ASSERT_NEAR(pd[i], l.reference[i], 1e-6) << "loan " << i;
}

TEST(kernel, every_kernel_matches_the_reference_on_edge_inputs) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    std::vector<core::loan_fields> all = {
        {},                                                          // everything missing
        {{"person_age", 1e300}, {"person_income", 1e300}, {"loan_amnt", 1e300}},  // huge: end bins
        {{"person_age", 0.0}, {"person_income", 0.0}, {"loan_percent_income", 1.0}},
        {{"loan_grade", std::string("Z")}, {"loan_intent", std::string("")}, {"person_home_ownership", std::string("rent")}},
        {{"loan_grade", std::string("G")}, {"person_home_ownership", std::string("OTHER")}, {"loan_int_rate", 23.22}},
        {{"loan_grade", std::string("A")}, {"loan_int_rate", 5.42}, {"cb_person_default_on_file", std::string("N")}},
    };
    // Every bin edge of every binned feature, exactly on the edge and just below it.
    for (const auto& f : model.features)
        for (double e : f.edges) {
            all.push_back({{f.name, e}});
            all.push_back({{f.name, std::nextafter(e, 0.0)}});
        }
    auto l = from_fields(model, m, all);
    for (const auto& k : core::available_kernels()) EXPECT_LE(max_error(k, m, l.batch, l.reference), 1e-6) << k;
}

// Negative values, which the shipped model's domains refuse: a model whose domains allow them, with a binned
// input whose edges are negative (below the first edge, between, on an edge, past the last), a standardized one
// (negative z), a category and the exposure, through every kernel, 37 loans (no multiple of a vector width).
TEST(kernel, every_kernel_matches_the_reference_on_negative_values) {
    const std::string features =
        R"({"name": "balance", "type": "numeric", "domain": {"min": null, "max": null},
            "training_range": {"min": -5000, "max": 5000},
            "transform": {"kind": "bins", "edges": [-2500, -100.5, -1, 0, 750], "weights": [0.9, 0.4, -0.2, 0.1, -0.3, -0.8],
                          "missing_weight": 0.05}},
           {"name": "trend", "type": "numeric", "domain": {"min": -1e9, "max": null},
            "training_range": {"min": -40, "max": 40},
            "transform": {"kind": "standardize", "impute": 0, "mean": -3.5, "scale": 12.25, "weight": -0.45}},
           {"name": "segment", "type": "categorical", "categories": ["retail", "sme"], "weights": [-0.2, 0.35],
            "missing_weight": 0.1},
           {"name": "amount", "type": "numeric", "domain": {"min": null, "max": null},
            "training_range": {"min": 0, "max": 9}, "transform": {"kind": "standardize", "impute": 1,
            "mean": 2, "scale": 3, "weight": 0.5}})";
    auto model = core::parse_model(scorecard("negatives", "-0.6", features));
    ASSERT_TRUE(model) << model.err().message();
    auto m = loanrisk::testing::compiled(*model, "amount");
    const std::vector<double> balances = {-1e12, -5000, -2500, std::nextafter(-2500.0, -1e9), -100.5, -50, -1, -0.0,
                                          0.0, -1e-300, 749.99, 750, 1e12};
    std::vector<core::loan_fields> all;
    for (int i = 0; i < 37; ++i) {
        core::loan_fields f{{"balance", balances[static_cast<std::size_t>(i) % balances.size()]},
                            {"trend", -1e8 + 1e7 * (i % 3) - 7.25 * i},
                            {"amount", -250.0 * i}};
        if (i % 4) f.emplace("segment", std::string(i % 4 == 1 ? "retail" : i % 4 == 2 ? "sme" : "unknown"));
        if (i % 5 == 0) f.erase("trend");
        all.push_back(f);
    }
    auto l = from_fields(*model, m, all);
    ASSERT_EQ(l.batch.size, 37u);
    const auto [lowest, highest] = std::minmax_element(l.reference.begin(), l.reference.end());
    EXPECT_GT(*highest - *lowest, 0.2) << "the negative inputs should move the PD";
    for (const auto& k : core::available_kernels()) EXPECT_LE(max_error(k, m, l.batch, l.reference), 1e-6) << k;
    std::vector<float> pd(l.batch.size);
    core::compute_pd(m, l.batch, 0, l.batch.size, pd.data());
    for (std::size_t i = 0; i < l.batch.size; ++i) EXPECT_NEAR(pd[i], l.reference[i], 1e-6) << "loan " << i;
}

TEST(kernel, batch_sizes_that_are_not_a_multiple_of_the_vector_width) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    std::vector<core::loan_fields> all;
    for (int i = 0; i < 67; ++i)
        all.push_back({{"person_age", 20.0 + i}, {"loan_amnt", 1000.0 * (i + 1)},
                       {"loan_grade", std::string(1, static_cast<char>('A' + i % 7))}});
    auto l = from_fields(model, m, all);
    for (const auto& k : core::available_kernels())
        for (std::size_t n : {0u, 1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 67u}) {
            std::vector<float> pd(n + 1, -1.0f);
            // An offset start too: kernels must not assume aligned or zero-based ranges.
            std::size_t begin = n < 67 ? 67 - n : 0;
            core::compute_pd_with(k, m, l.batch, begin, begin + n, pd.data());
            for (std::size_t i = 0; i < n; ++i) ASSERT_NEAR(pd[i], l.reference[begin + i], 1e-6) << k << " n=" << n;
            EXPECT_EQ(pd[n], -1.0f) << k << " n=" << n;
        }
}

// /predict binds its one-loan batch once and rescores it loan after loan: a binding follows the values
// of the columns it was made on (cleared and refilled within their capacity), as a fresh call does.
TEST(kernel, a_binding_made_once_scores_each_new_loan_of_its_batch) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    core::loan_batch b;
    b.reset(m, true);
    b.reserve(1);
    const core::kernel_binding k(m, b);
    for (int i = 0; i < 20; ++i) {
        b.clear();
        ASSERT_TRUE(push_loan(m, b, {{"person_age", 20.0 + 3 * i}, {"loan_amnt", 1500.0 * (i + 1)},
                                     {"loan_grade", std::string(1, static_cast<char>('A' + i % 7))},
                                     {"person_home_ownership", i % 2 ? "RENT" : "OWN"}}));
        float bound = -1, fresh = -2;
        core::compute_pd(k, 0, 1, &bound);
        core::compute_pd(m, b, 0, 1, &fresh);
        ASSERT_EQ(bound, fresh) << "loan " << i;
    }
}

TEST(kernel, a_loans_pd_does_not_depend_on_where_the_range_starts) {
    // Regression: the tail of a block used scalar exp, one bit off the vector exp, so `loanrisk score`
    // output changed with the block size.
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    std::vector<core::loan_fields> all;
    for (int i = 0; i < 1100; ++i)
        all.push_back({{"person_age", 20.0 + i % 50}, {"loan_amnt", 500.0 + 31 * i}, {"loan_int_rate", 5.0 + (i % 170) / 10.0},
                       {"loan_grade", std::string(1, static_cast<char>('A' + i % 7))}});
    auto l = from_fields(model, m, all);
    for (const auto& k : core::available_kernels()) {
        std::vector<float> whole(l.batch.size);
        core::compute_pd_with(k, m, l.batch, 0, l.batch.size, whole.data());
        for (std::size_t begin : {1u, 3u, 5u, 255u, 257u, 511u, 513u, 1000u}) {
            std::vector<float> part(l.batch.size - begin);
            core::compute_pd_with(k, m, l.batch, begin, l.batch.size, part.data());
            for (std::size_t i = 0; i < part.size(); ++i) ASSERT_EQ(part[i], whole[begin + i]) << k << " begin " << begin;
        }
        // one loan alone, as /predict scores it (avx512: each register group's table read from memory)
        for (std::size_t i : {0u, 15u, 16u, 700u, 1099u}) {
            float one = -1;
            core::compute_pd_with(k, m, l.batch, i, i + 1, &one);
            ASSERT_EQ(one, whole[i]) << k << " loan " << i;
        }
    }
}

TEST(kernel, an_extreme_standardized_value_gives_a_finite_pd) {
    // Regression: a plain (standardized) model turned 1e300 into an infinite z, a NaN PD and invalid JSON.
    // rate: standardized; its domain opened up so that 1e300 is valid.
    auto model = core::parse_model(loanrisk::testing::small_model_with("\"domain\": {\"min\": 0, \"max\": 100}",
                                                                        "\"domain\": {\"min\": 0, \"max\": null}"));
    ASSERT_TRUE(model);
    auto m = loanrisk::testing::compiled(*model, "amount");
    core::loan_batch b;
    b.reset(m);
    ASSERT_TRUE(loanrisk::testing::push_loan(m, b, {{"rate", 1e300}}));
    ASSERT_TRUE(loanrisk::testing::push_loan(m, b, {{"rate", 0.0}}));
    for (const auto& k : core::available_kernels()) {
        float pd[2] = {-1, -1};
        core::compute_pd_with(k, m, b, 0, 2, pd);
        EXPECT_EQ(pd[0], 1.0f) << k;
        EXPECT_TRUE(std::isfinite(pd[1])) << k;
    }
}

TEST(kernel, categories_too_many_to_join_leave_each_cross_on_its_own_column) {
    // grade gets 1,100 categories: 1,102 codes x 4 of home is over the joint table's limit.
    std::string categories = "\"A\", \"B\"", weights = "-0.5, 0.5";
    for (int c = 2; c < 1100; ++c) {
        categories += ", \"C" + std::to_string(c) + "\"";
        weights += ", " + std::to_string((c % 17 - 8) / 10.0);
    }
    auto model = core::parse_model(loanrisk::testing::small_model_with(
        R"("categories": ["A", "B"], "weights": [-0.5, 0.5])",
        "\"categories\": [" + categories + "], \"weights\": [" + weights + "]"));
    ASSERT_TRUE(model) << model.err().message();
    auto m = loanrisk::testing::compiled(*model, "amount");
    loanrisk::testing::expect_groups_sum_their_terms(m);
    for (const auto& g : m.groups)
        for (auto t : g.terms)
            if (m.lookups[t].cross) {
                EXPECT_EQ(g.columns, std::vector<std::uint32_t>{t});
            }
    std::vector<core::loan_fields> all;
    for (int i = 0; i < 3000; ++i) {
        core::loan_fields f{{"amount", 50.0 + 7 * i}, {"rate", 5.0 + i % 30}};
        if (i % 11) f.emplace("grade", i % 13 == 0 ? std::string("unknown") : "C" + std::to_string(i % 1100));
        if (i % 5) f.emplace("home", std::string(i % 3 ? "RENT" : "OWN"));
        if (i % 7 == 0) f["grade"] = std::string(i % 2 ? "A" : "B");
        all.push_back(f);
    }
    auto l = from_fields(*model, m, all);
    for (const auto& k : core::available_kernels()) EXPECT_LE(max_error(k, m, l.batch, l.reference), 1e-6) << k;
}

// Models shaped to take every path of the vector kernels' lookups: a categorical group of 3 columns or of
// 6 (more than the 4 added in one pass), then 0 to 8 binned numerics with too many bins to pair (one group
// each), so that sweeps of 1 to 5 groups and more than one sweep per block all run.
TEST(kernel, every_shape_of_lookup_groups_matches_the_reference) {
    for (int categorical : {3, 6})
        for (int binned = 0; binned <= 8; ++binned) {
            std::string features;
            for (int c = 0; c < categorical; ++c)
                features += R"({"name": "c)" + std::to_string(c) +
                            R"(", "type": "categorical", "categories": ["A", "B"], "weights": [)" +
                            std::to_string(0.1 * c) + R"(, -0.3], "missing_weight": 0.05},)";
            for (int k = 0; k < binned; ++k) {
                std::string edges, weights = "0.01";
                for (int e = 1; e <= 40; ++e) {
                    edges += (e > 1 ? ", " : "") + std::to_string(e * (k + 1));
                    weights += ", " + std::to_string(((e * 7 + k) % 11 - 5) / 20.0);
                }
                features += R"({"name": "n)" + std::to_string(k) + R"(", "type": "numeric", )" +
                            R"("domain": {"min": 0, "max": null}, "training_range": {"min": 0, "max": 50}, )" +
                            R"("transform": {"kind": "bins", "edges": [)" + edges + R"(], "weights": [)" + weights +
                            R"(], "missing_weight": 0.2}},)";
            }
            features += R"({"name": "amount", "type": "numeric", "domain": {"min": 0, "max": null}, )"
                        R"("training_range": {"min": 0, "max": 9}, "transform": {"kind": "standardize", "impute": 1, )"
                        R"("mean": 2, "scale": 3, "weight": 0.5}})";
            auto model = core::parse_model(scorecard("shapes", "-0.7", features));
            ASSERT_TRUE(model) << model.err().message();
            auto m = loanrisk::testing::compiled(*model, "amount");
            loanrisk::testing::expect_groups_sum_their_terms(m);
            ASSERT_EQ(m.groups.size(), static_cast<std::size_t>(1 + binned));
            EXPECT_EQ(m.groups[0].columns.size(), static_cast<std::size_t>(categorical));
            std::vector<core::loan_fields> all;
            for (int i = 0; i < 700; ++i) {
                core::loan_fields f{{"amount", 0.5 * (i % 9)}};
                for (int c = 0; c < categorical; ++c)  // A, B, unknown or missing
                    if ((i + c) % 5) f.emplace("c" + std::to_string(c), std::string(1, "ABZ"[(i >> c) % 3]));
                for (int k = 0; k < binned; ++k)
                    if ((i + k) % 13) f.emplace("n" + std::to_string(k), ((i * 37 + k * 11) % 500) / 7.0);
                all.push_back(f);
            }
            auto l = from_fields(*model, m, all);
            for (const auto& k : core::available_kernels()) {
                EXPECT_LE(max_error(k, m, l.batch, l.reference), 1e-6)
                    << k << ", " << categorical << " categorical, " << binned << " binned";
                // avx512 holds these tables in registers; its lookup groups too
                EXPECT_LE(max_error(k, m, l.batch, l.reference, true), 1e-6)
                    << k << " on its groups, " << categorical << " categorical, " << binned << " binned";
            }
        }
}

// The avx512 kernel looks each register group up from its table held in one to eight registers (up to 128
// entries), with crosses made in registers from their inputs' codes and their inputs' own terms folded in;
// a model with one larger table goes through the lookup groups instead. Tables of 1 to 8 registers, crosses
// of 2, 4 and 7 (the third over inputs whose own terms went into the other two), codes up to each table's last (missing) entry, then the same with a 144-entry table: every
// kernel matches the reference. Skipped (after the other kernels ran) where the CPU has no AVX-512: the
// register path then did not run.
TEST(kernel, tables_of_every_register_count_and_past_them_match_the_reference) {
    for (bool wider_than_registers : {false, true}) {
        std::string features;
        std::vector<int> edge_counts = {10, 25, 40, 60, 75, 85, 120};
        if (wider_than_registers) edge_counts.push_back(140);
        for (std::size_t k = 0; k < edge_counts.size(); ++k) {
            std::string edges, weights = "0.02";
            for (int e = 1; e <= edge_counts[k]; ++e) {
                edges += (e > 1 ? ", " : "") + std::to_string(e);
                weights += ", " + std::to_string(((e * 5 + static_cast<int>(k)) % 13 - 6) / 25.0);
            }
            features += R"({"name": "n)" + std::to_string(k) + R"(", "type": "numeric", "domain": {"min": 0, "max": null}, )" +
                        R"("training_range": {"min": 0, "max": 150}, "transform": {"kind": "bins", "edges": [)" + edges +
                        R"(], "weights": [)" + weights + R"(], "missing_weight": 0.3}},)";
        }
        const std::vector<std::string> small = {"A", "B", "C"}, large = {"a", "b", "c", "d", "e", "f", "g", "h"};
        auto categorical = [&](const std::string& name, const std::vector<std::string>& cats) {
            std::string list, weights;
            for (std::size_t c = 0; c < cats.size(); ++c) {
                list += (c ? ", \"" : "\"") + cats[c] + "\"";
                weights += (c ? ", " : "") + std::to_string(0.1 * static_cast<double>(c) - 0.25);
            }
            features += R"({"name": ")" + name + R"(", "type": "categorical", "categories": [)" + list +
                        R"(], "weights": [)" + weights + R"(], "missing_weight": -0.4},)";
        };
        auto cross = [&](const std::string& a, const std::string& b, const std::vector<std::string>& cats,
                         const std::vector<std::string>& second_cats) {
            std::string pairs, weights;
            for (std::size_t i = 0; i < cats.size(); ++i)
                for (std::size_t j = 0; j < second_cats.size(); j += 2) {
                    pairs += std::string(pairs.empty() ? "" : ", ") + "[\"" + cats[i] + "\", \"" + second_cats[j] + "\"]";
                    weights += (weights.empty() ? "" : ", ") + std::to_string(static_cast<double>((i * 3 + j) % 7) / 10.0 - 0.3);
                }
            features += R"({"name": ")" + a + " x " + b + R"(", "type": "cross", "of": [")" + a + R"(", ")" + b +
                        R"("], "pairs": [)" + pairs + R"(], "weights": [)" + weights + "]},";
        };
        categorical("s0", small);
        categorical("s1", small);
        categorical("l0", large);
        categorical("l1", large);
        cross("s0", "s1", small, small);
        cross("l0", "l1", large, large);
        cross("s0", "l0", small, large);  // both inputs' own terms already folded into the crosses above
        features.pop_back();
        auto model = core::parse_model(scorecard("registers", "-0.4", features));
        ASSERT_TRUE(model) << model.err().message();
        auto m = loanrisk::testing::compiled(*model, "");
        loanrisk::testing::expect_groups_sum_their_terms(m);
        std::set<std::size_t> registers;
        for (const auto& g : m.register_groups) registers.insert(g.table.size() / 16);
        if (wider_than_registers) {
            EXPECT_TRUE(m.register_groups.empty());  // n7's 142 codes would not fit
        } else {
            EXPECT_EQ(registers, (std::set<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8}));
            EXPECT_EQ(m.register_groups.size(), 10u);  // 7 binned, 3 crosses (the first two with their inputs' terms)
        }
        std::vector<core::loan_fields> all;
        for (int i = 0; i < 1001; ++i) {  // not a multiple of 16 or of the kernel's block
            core::loan_fields f;
            for (std::size_t k = 0; k < edge_counts.size(); ++k)
                if ((i + static_cast<int>(k)) % 17) f.emplace("n" + std::to_string(k), static_cast<double>((i * 7 + static_cast<int>(k) * 13) % 150) + 0.5);
            if (i % 11) f.emplace("s0", i % 13 == 0 ? std::string("Z") : small[static_cast<std::size_t>(i) % 3]);
            if (i % 7) f.emplace("s1", small[static_cast<std::size_t>(i / 3) % 3]);
            if (i % 9) f.emplace("l0", i % 10 == 0 ? std::string("zz") : large[static_cast<std::size_t>(i) % 8]);
            if (i % 5) f.emplace("l1", large[static_cast<std::size_t>(i / 8) % 8]);
            all.push_back(f);
        }
        auto l = from_fields(*model, m, all);
        for (const auto& k : core::available_kernels())
            EXPECT_LE(max_error(k, m, l.batch, l.reference), 1e-6) << k << (wider_than_registers ? ", a table past 128" : "");
    }
    if (!has_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the tables-in-registers path did not run";
}

// Pins the PD kernel: every instruction set this CPU runs, and the plain scalar kernel, agree with the
// double-precision reference scorer to |dPD| <= 1e-6, on the whole real data set and on edge inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "../batch_support.hpp"
#include "../model_fixture.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/trainer.hpp"

using namespace loanrisk;
using loanrisk::testing::push_loan;

namespace {

const std::string real_data = LOANRISK_DATA_DIR "/credit_risk_dataset.csv";

// Max |PD - reference PD| over the batch, for one kernel.
double max_error(const std::string& kernel, const core::compiled_model& m, const core::loan_batch& b,
                 const std::vector<double>& reference) {
    std::vector<float> pd(b.size + 1, -1.0f);
    core::compute_pd_with(kernel, m, b, 0, b.size, pd.data());
    EXPECT_EQ(pd[b.size], -1.0f) << kernel << " wrote past the end";
    double worst = 0;
    for (std::size_t i = 0; i < b.size; ++i) worst = std::max(worst, std::fabs(static_cast<double>(pd[i]) - reference[i]));
    return worst;
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
        for (std::size_t begin : {1u, 3u, 5u, 511u, 513u, 1000u}) {
            std::vector<float> part(l.batch.size - begin);
            core::compute_pd_with(k, m, l.batch, begin, l.batch.size, part.data());
            for (std::size_t i = 0; i < part.size(); ++i) ASSERT_EQ(part[i], whole[begin + i]) << k << " begin " << begin;
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

namespace {

// Every lookup term in exactly one group, and each joint table entry the sum of its terms' weights at
// the codes that entry stands for.
void expect_groups_sum_their_terms(const core::compiled_model& m) {
    std::vector<int> seen(m.lookups.size(), 0);
    std::vector<int> input_of_column(m.lookups.size(), -1);
    for (std::size_t i = 0; i < m.inputs.size(); ++i)
        if (!m.inputs[i].standardized) input_of_column[m.inputs[i].column] = static_cast<int>(i);
    for (const auto& g : m.groups) {
        ASSERT_EQ(g.columns.size(), g.strides.size());
        ASSERT_LE(g.table.size(), std::size_t{65536});
        for (auto t : g.terms) ++seen[t];
        for (std::size_t j = 0; j < g.table.size(); ++j) {
            std::vector<std::size_t> code_of_column(m.lookups.size(), 0);
            for (std::size_t k = 0, rest = j; k < g.columns.size(); ++k) {
                code_of_column[g.columns[k]] = rest / g.strides[k];
                rest %= g.strides[k];
            }
            double sum = 0;
            for (auto t : g.terms) {
                const auto& term = m.lookups[t];
                const bool own_column = std::find(g.columns.begin(), g.columns.end(), t) != g.columns.end();
                std::size_t code = term.cross && !own_column
                                       ? code_of_column[m.inputs[term.first_input].column] * term.stride +
                                             code_of_column[m.inputs[term.second_input].column]
                                       : code_of_column[t];
                sum += term.table[code];
            }
            ASSERT_NEAR(g.table[j], sum, 1e-6) << "group entry " << j;
        }
    }
    for (std::size_t t = 0; t < m.lookups.size(); ++t) EXPECT_EQ(seen[t], 1) << m.lookups[t].name;
}

}  // namespace

TEST(kernel, lookup_groups_join_the_categories_and_crosses_and_pair_the_bins) {
    auto model = loanrisk::testing::load_shipped_model();
    auto m = loanrisk::testing::compiled(model);
    expect_groups_sum_their_terms(m);
    // The four categorical inputs and their three crosses: one group; seven binned numerics: three pairs
    // and one alone. Fourteen lookups per loan become five.
    ASSERT_EQ(m.groups.size(), 5u);
    EXPECT_EQ(m.groups[0].columns.size(), 4u);
    EXPECT_EQ(m.groups[0].terms.size(), 7u);
    EXPECT_LE(m.groups[0].table.size(), core::max_categorical_group_entries);
    for (std::size_t g = 1; g < m.groups.size(); ++g) {
        EXPECT_EQ(m.groups[g].columns.size(), g < 4 ? 2u : 1u) << g;
        EXPECT_LE(m.groups[g].table.size(), core::max_pair_group_entries) << g;
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
    expect_groups_sum_their_terms(m);
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

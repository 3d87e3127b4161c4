// Test support: builds LoanBatches through the shared field setters, from reference-scorer style field
// maps or from a training data set, so engine results can be compared with the reference scorer.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "loanrisk/batch.hpp"
#include "loanrisk/dataset.hpp"
#include "loanrisk/reference_scorer.hpp"

namespace loanrisk::testing {

inline core::compiled_model compiled(const core::model& m, const std::string& age_field = "person_age") {
    auto c = core::compile(std::make_shared<const core::model>(m), age_field);
    if (!c) throw std::runtime_error(c.err().message());
    return std::move(*c);
}

inline core::model load_shipped_model() {
    auto m = core::load_model(LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json");
    if (!m) throw std::runtime_error(m.err().message());
    return std::move(*m);
}

// Appends one loan; returns false (and appends nothing) when a value is invalid for the model.
inline bool push_loan(const core::compiled_model& m, core::loan_batch& b, const core::loan_fields& loan) {
    std::size_t i = b.push_default(m);
    for (const auto& [name, value] : loan) {
        int input = m.find_input(name);
        if (input < 0) {
            if (name == m.exposure_field)
                if (auto d = std::get_if<double>(&value)) core::set_exposure(b, i, *d);
            continue;
        }
        loanrisk::status s = ok();
        if (auto d = std::get_if<double>(&value)) s = core::set_number(m, b, i, input, *d);
        else if (auto t = std::get_if<std::string>(&value)) s = core::set_category(m, b, i, input, *t);
        if (!s) {
            b.pop_back();
            return false;
        }
    }
    core::finish_loan(m, b, i);
    return true;
}

inline core::loan_fields row_fields(const train::dataset& d, std::size_t r) {
    core::loan_fields f;
    for (const auto& c : d.columns) {
        if (c.numeric) {
            if (!std::isnan(c.numbers[r])) f.emplace(c.name, c.numbers[r]);
        } else if (!c.text[r].empty()) {
            f.emplace(c.name, c.text[r]);
        }
    }
    return f;
}

// Every lookup term of `m` in exactly one group, in both plans (compiled_model::groups and, when the
// model has them, register_groups); each group's strides row-major over its columns' code counts and its
// table exactly as large as their product (register groups: padded with zeros to a multiple of 16, at
// most max_register_table entries, one or two columns); each table entry the sum of its terms' weights (the
// float per-term tables, in double) at the codes that entry stands for.
inline void expect_groups_sum_their_terms(const core::compiled_model& m, const std::vector<core::lookup_group>& groups,
                                          bool registers) {
    std::vector<int> seen(m.lookups.size(), 0);
    std::vector<std::size_t> codes_of_column(m.lookups.size(), 0);  // every code a decoder can write
    for (const auto& in : m.inputs)
        if (!in.standardized) codes_of_column[in.column] = std::size_t{in.missing_code()} + 1;
    for (std::size_t t = 0; t < m.lookups.size(); ++t)
        if (m.lookups[t].cross)
            codes_of_column[t] = codes_of_column[m.inputs[m.lookups[t].first_input].column] * m.lookups[t].stride;
    for (const auto& g : groups) {
        ASSERT_FALSE(g.columns.empty());
        ASSERT_EQ(g.columns.size(), g.strides.size());
        EXPECT_EQ(g.strides.back(), 1u);
        for (std::size_t k = 0; k + 1 < g.columns.size(); ++k)
            EXPECT_EQ(g.strides[k], g.strides[k + 1] * codes_of_column[g.columns[k + 1]]);
        const std::size_t entries = g.strides[0] * codes_of_column[g.columns[0]];
        if (registers) {
            EXPECT_LE(g.columns.size(), 2u);
            ASSERT_EQ(g.table.size(), (entries + 15) / 16 * 16);
            EXPECT_LE(g.table.size(), core::max_register_table);
            for (std::size_t j = entries; j < g.table.size(); ++j) EXPECT_EQ(g.table[j], 0.0f) << "padding " << j;
        } else {
            ASSERT_EQ(g.table.size(), entries);
        }
        auto reads = [&](std::size_t column) { return std::find(g.columns.begin(), g.columns.end(), column) != g.columns.end(); };
        for (auto t : g.terms) {
            ++seen[t];
            const auto& term = m.lookups[t];
            if (term.cross && !reads(t))
                EXPECT_TRUE(reads(m.inputs[term.first_input].column) && reads(m.inputs[term.second_input].column)) << term.name;
            else
                EXPECT_TRUE(reads(t)) << term.name;
        }
        for (std::size_t j = 0; j < entries; ++j) {
            std::vector<std::size_t> code_of_column(m.lookups.size(), 0);
            for (std::size_t k = 0, rest = j; k < g.columns.size(); ++k) {
                code_of_column[g.columns[k]] = rest / g.strides[k];
                rest %= g.strides[k];
            }
            double sum = 0;
            for (auto t : g.terms) {
                const auto& term = m.lookups[t];
                const std::size_t code = term.cross && !reads(t)
                                             ? code_of_column[m.inputs[term.first_input].column] * term.stride +
                                                   code_of_column[m.inputs[term.second_input].column]
                                             : code_of_column[t];
                sum += term.table[code];
            }
            ASSERT_NEAR(g.table[j], sum, 1e-6 * std::max(1.0, std::fabs(sum))) << "group entry " << j;
        }
    }
    for (std::size_t t = 0; t < m.lookups.size(); ++t) EXPECT_EQ(seen[t], 1) << m.lookups[t].name;
}

inline void expect_groups_sum_their_terms(const core::compiled_model& m) {
    expect_groups_sum_their_terms(m, m.groups, false);
    if (!m.register_groups.empty()) expect_groups_sum_their_terms(m, m.register_groups, true);
}

}  // namespace loanrisk::testing

// Test support: builds LoanBatches through the shared field setters, from reference-scorer style field
// maps or from a training data set, so engine results can be compared with the reference scorer.
#pragma once

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

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

}  // namespace loanrisk::testing

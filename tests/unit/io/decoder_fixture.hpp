// Shared by the decoder tests: the small and the shipped model compiled, a readable dump of a LoanBatch
// (so whole batches compare in one EXPECT_EQ), errors as one line, and the real data file when present.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "../model_fixture.hpp"
#include "loanrisk/batch.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/model.hpp"
#include "loanrisk/result.hpp"

namespace loanrisk::testing {

// `exposure`, when given, replaces the model's exposure field (a field the model does not score).
inline core::compiled_model compiled(const std::string& json, const std::string& exposure = "",
                                     const std::string& age_field = "amount") {
    auto m = core::parse_model(json);
    if (!m) throw std::runtime_error(m.err().message());
    core::model model = std::move(*m);
    if (!exposure.empty()) model.exposure_field = exposure;
    auto c = core::compile(std::make_shared<const core::model>(std::move(model)), age_field);
    if (!c) throw std::runtime_error(c.err().message());
    return std::move(*c);
}

// amount: bins at 200 and 500 (codes 0..2, missing 3), exposure and age; rate: standardized, dense 0;
// grade {A, B} and home {RENT, OWN}: unknown 2, missing 3; grade x home: grade * 4 + home.
inline const core::compiled_model& small_compiled() {
    static const core::compiled_model m = compiled(small_model);
    return m;
}

inline const core::compiled_model& shipped_compiled() {
    static const core::compiled_model m = [] {
        auto model = core::load_model(LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json");
        if (!model) throw std::runtime_error(model.err().message());
        auto c = core::compile(std::make_shared<const core::model>(std::move(*model)));
        if (!c) throw std::runtime_error(c.err().message());
        return std::move(*c);
    }();
    return m;
}

inline core::loan_batch empty_batch(const core::compiled_model& m) {
    core::loan_batch b;
    b.reset(m);
    return b;
}

// One line per loan: "id=A-1 codes=1,0,3,3 dense=-0.5 exposure=300 age=300".
inline std::string dump(const core::loan_batch& b) {
    std::string s;
    for (std::size_t i = 0; i < b.size; ++i) {
        s += b.id_present[i] ? "id=" + std::string(b.id(i)) : std::string("id=null");
        s += " codes=";
        for (std::size_t t = 0; t < b.codes.size(); ++t) s += (t ? "," : "") + std::to_string(b.codes[t][i]);
        s += " dense=";
        for (std::size_t t = 0; t < b.dense.size(); ++t) {
            if (t) s += ',';
            io::append_number(s, b.dense[t][i]);
        }
        s += " exposure=";
        io::append_number(s, b.exposure[i]);
        s += " age=";
        io::append_number(s, b.age[i]);
        s += '\n';
    }
    return s;
}

// "code where: what @offset", or "ok".
inline std::string outcome(const status& s) {
    if (s) return "ok";
    const error& e = s.err();
    return e.code + " " + e.message() + " @" + std::to_string(e.offset);
}

// The real data set, or "" (and the test skips unless LOANRISK_REQUIRE_DATA is set).
inline std::string real_data() {
    std::ifstream in(LOANRISK_DATA_DIR "/credit_risk_dataset.csv", std::ios::binary);
    if (!in) return {};
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace loanrisk::testing

#define LOANRISK_NEED_REAL_DATA(text)                                                                                  \
    if ((text).empty()) {                                                                                              \
        if (std::getenv("LOANRISK_REQUIRE_DATA") != nullptr)                                                           \
            FAIL() << "LOANRISK_REQUIRE_DATA is set but " LOANRISK_DATA_DIR "/credit_risk_dataset.csv cannot be read"; \
        GTEST_SKIP() << LOANRISK_DATA_DIR "/credit_risk_dataset.csv is absent";                                        \
    }

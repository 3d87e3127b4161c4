// Reason codes and points from the same tables the kernel uses, so explanations match the scores.
#include "loanrisk/explain.hpp"

#include <algorithm>
#include <cmath>

#include "loanrisk/json_writer.hpp"

namespace loanrisk::core {

int score_points(double logit) {
    const double factor = 20 / std::log(2.0);
    // logit = ln(bad:good odds), so ln(good:bad odds) = -logit.
    return static_cast<int>(std::lround(600 + factor * (-logit - std::log(50.0))));
}

namespace {

std::string input_value(const compiled_model& m, const loan_batch& b, std::size_t input, std::size_t loan) {
    const input_field& in = m.inputs[input];
    if (in.numeric) {
        if (in.standardized || b.keep_raw) {
            double x = b.keep_raw ? b.raw[input][loan] : std::nan("");
            if (std::isnan(x)) return "(missing)";
            std::string s;
            io::append_number(s, x);
            return s;
        }
        std::uint16_t code = b.codes[in.column][loan];
        return code == in.missing_code() ? "(missing)" : "(bin " + std::to_string(code) + ")";
    }
    std::uint16_t code = b.codes[in.column][loan];
    if (code == in.missing_code()) return "(missing)";
    if (code == in.unknown_code()) return "(unknown)";
    return in.categories[code];
}

}  // namespace

explanation explain(const compiled_model& m, const loan_batch& b, std::size_t loan, std::size_t top) {
    explanation e;
    std::vector<reason_code> all;
    double logit = m.intercept;
    for (std::size_t t = 0; t < m.dense.size(); ++t) {
        double c = static_cast<double>(m.dense[t].weight) * b.dense[t][loan];
        logit += c;
        for (std::size_t i = 0; i < m.inputs.size(); ++i)
            if (m.inputs[i].standardized && m.inputs[i].column == t) all.push_back({m.dense[t].name, input_value(m, b, i, loan), c});
    }
    for (std::size_t t = 0; t < m.lookups.size(); ++t) {
        const lookup_term& term = m.lookups[t];
        double c = term.table[b.codes[t][loan]];
        logit += c;
        std::string value;
        if (term.cross) {
            value = input_value(m, b, term.first_input, loan) + " / " + input_value(m, b, term.second_input, loan);
        } else {
            for (std::size_t i = 0; i < m.inputs.size(); ++i)
                if (!m.inputs[i].standardized && m.inputs[i].column == t) value = input_value(m, b, i, loan);
        }
        all.push_back({term.name, std::move(value), c});
    }
    e.score = score_points(logit);
    std::stable_sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.contribution > y.contribution; });
    for (auto& r : all) {
        if (e.reasons.size() >= top || r.contribution <= 0) break;
        e.reasons.push_back(std::move(r));
    }
    if (b.keep_raw)
        for (std::size_t i = 0; i < m.inputs.size(); ++i) {
            double x = b.raw[i][loan];
            if (m.inputs[i].numeric && !std::isnan(x) && !m.inputs[i].training_range.contains(x))
                e.warnings.push_back(m.inputs[i].name);
        }
    return e;
}

}  // namespace loanrisk::core

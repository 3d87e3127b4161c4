// Reason codes and points from the same tables the kernel uses, so explanations match the scores.
#include "loanrisk/explain.hpp"

#include <algorithm>
#include <cmath>

#include "loanrisk/json_writer.hpp"

namespace loanrisk::core {

int score_points(double logit) {
    const double factor = 20 / std::log(2.0);
    if (!std::isfinite(logit)) logit = std::isnan(logit) ? 0 : std::copysign(1e6, logit);
    logit = std::clamp(logit, -1e6, 1e6);
    // logit = ln(bad:good odds), so ln(good:bad odds) = -logit.
    return static_cast<int>(std::lround(600 + factor * (-logit - std::log(50.0))));
}

namespace {

// The input as received, appended to `out`: "D", "35000", "(missing)".
void append_input_value(std::string& out, const compiled_model& m, const loan_batch& b, std::size_t input,
                        std::size_t loan) {
    const input_field& in = m.inputs[input];
    if (in.numeric) {
        if (in.standardized || b.keep_raw) {
            double x = b.keep_raw ? b.raw[input][loan] : std::nan("");
            if (std::isnan(x)) out += "(missing)";
            else io::append_number(out, x);
            return;
        }
        std::uint16_t code = b.codes[in.column][loan];
        if (code == in.missing_code()) out += "(missing)";
        else out += "(bin " + std::to_string(code) + ")";
        return;
    }
    std::uint16_t code = b.codes[in.column][loan];
    if (code == in.missing_code()) out += "(missing)";
    else if (code == in.unknown_code()) out += "(unknown)";
    else out += in.categories[code];
}

}  // namespace

explanation explain(const compiled_model& m, const loan_batch& b, std::size_t loan, std::size_t top) {
    // Contributions first, as plain numbers; strings only for the few that become reasons (this runs on
    // every /predict).
    struct term_contribution {
        double value;
        bool dense;
        std::size_t term;
        std::size_t position;  // order of the terms, for ties
    };
    thread_local std::vector<term_contribution> all;  // keeps its capacity: no allocation per call
    all.clear();
    double logit = m.intercept;
    for (std::size_t t = 0; t < m.dense.size(); ++t) {
        double c = static_cast<double>(m.dense[t].weight) * b.dense[t][loan];
        logit += c;
        all.push_back({c, true, t, all.size()});
    }
    for (std::size_t t = 0; t < m.lookups.size(); ++t) {
        double c = m.lookups[t].table[b.codes[t][loan]];
        logit += c;
        all.push_back({c, false, t, all.size()});
    }
    explanation e;
    e.score = score_points(logit);
    e.reasons.reserve(top);
    // Only the top few are needed, in a stable order (a tie goes to the earlier term): a partial sort on
    // (value, position) gives exactly what a stable sort would, without its buffer.
    const std::size_t keep = std::min(top, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), [](const auto& x, const auto& y) {
        return x.value > y.value || (x.value == y.value && x.position < y.position);
    });
    all.resize(keep);
    for (const auto& c : all) {
        if (c.value <= 0) break;  // `all` holds the top few already
        reason_code r;
        r.contribution = c.value;
        if (c.dense) {
            r.feature = m.dense[c.term].name;
            for (std::size_t i = 0; i < m.inputs.size(); ++i)
                if (m.inputs[i].standardized && m.inputs[i].column == c.term) append_input_value(r.value, m, b, i, loan);
        } else {
            const lookup_term& term = m.lookups[c.term];
            r.feature = term.name;
            if (term.cross) {
                append_input_value(r.value, m, b, term.first_input, loan);
                r.value += " / ";
                append_input_value(r.value, m, b, term.second_input, loan);
            } else {
                for (std::size_t i = 0; i < m.inputs.size(); ++i)
                    if (!m.inputs[i].standardized && m.inputs[i].column == c.term) append_input_value(r.value, m, b, i, loan);
            }
        }
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

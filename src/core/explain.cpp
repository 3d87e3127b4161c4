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
    // A reason is a feature whose contribution lies above the average applicant's (its mean contribution
    // over the training rows), by how much: the method of comparing with the average of all applicants
    // (Regulation B's commentary, 1002.9(b)(2)). Those amounts first, as plain numbers, keeping only the
    // `top` largest positive ones in order (a tie goes to the earlier term, as a stable sort would have it);
    // strings only for those (this runs on every /predict).
    struct term_contribution {
        double value;
        bool dense;
        std::size_t term;
    };
    thread_local std::vector<term_contribution> all;  // the best so far; keeps its capacity
    all.clear();
    auto offer = [&](double c, bool dense, std::size_t t) {
        if (!(c > 0) || top == 0 || (all.size() == top && c <= all.back().value)) return;
        auto at = std::find_if(all.begin(), all.end(), [c](const term_contribution& x) { return x.value < c; });
        if (all.size() == top) all.pop_back();
        all.insert(at, {c, dense, t});
    };
    double logit = m.intercept;
    for (std::size_t t = 0; t < m.dense.size(); ++t) {
        double c = static_cast<double>(m.dense[t].weight) * b.dense[t][loan];
        logit += c;
        offer(c - m.dense[t].mean_contribution, true, t);
    }
    for (std::size_t t = 0; t < m.lookups.size(); ++t) {
        double c = m.lookups[t].table[b.codes[t][loan]];
        logit += c;
        offer(c - m.lookups[t].mean_contribution, false, t);
    }
    explanation e;
    e.score = score_points(logit);
    e.reasons.reserve(all.size());
    for (const auto& c : all) {
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

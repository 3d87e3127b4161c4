// The reference scorer: a direct, double-precision reading of the model artifact, one loan at a time.
// Deliberately simple (linear searches, no tables) so that it is obviously right.
#include "loanrisk/reference_scorer.hpp"

#include <algorithm>
#include <cmath>

#include "loanrisk/json_writer.hpp"

namespace loanrisk::core {

double sigmoid(double logit) {
    if (logit >= 0) return 1.0 / (1.0 + std::exp(-logit));
    double e = std::exp(logit);
    return e / (1.0 + e);
}

namespace {

std::string number_text(double x) {
    std::string s;
    io::append_number(s, x);
    return s;
}

// Category index of a categorical input, or nullopt-like -1 for missing, -2 for an unknown category.
constexpr long missing_code = -1, unknown_code = -2;

result<long> category_of(const feature& f, const loan_fields& loan) {
    auto it = loan.find(f.name);
    if (it == loan.end() || std::holds_alternative<std::monostate>(it->second)) return missing_code;
    const auto* s = std::get_if<std::string>(&it->second);
    if (!s) return error{"expected a string (one of the model's categories)", f.name};
    if (s->empty()) return missing_code;  // as an empty CSV field
    auto c = std::find(f.categories.begin(), f.categories.end(), *s);
    return c == f.categories.end() ? unknown_code : static_cast<long>(c - f.categories.begin());
}

}  // namespace

result<reference_score> score_reference(const model& m, const loan_fields& loan) {
    reference_score out;
    out.contributions.reserve(m.features.size());
    double logit = m.intercept;
    for (const feature& f : m.features) {
        double contribution = 0;
        if (f.type == feature_type::numeric) {
            auto it = loan.find(f.name);
            bool missing = it == loan.end() || std::holds_alternative<std::monostate>(it->second);
            double x = 0;
            if (!missing) {
                const double* d = std::get_if<double>(&it->second);
                if (!d) return error{"expected a number", f.name};
                x = *d;
                if (!std::isfinite(x)) return error{"expected a finite number", f.name};
                if (x < f.domain.min) return error{"must be >= " + number_text(f.domain.min), f.name};
                if (x > f.domain.max) return error{"must be <= " + number_text(f.domain.max), f.name};
                if (!f.training_range.contains(x)) out.warnings.push_back(f.name);
            }
            if (f.transform == numeric_transform::standardize) {
                contribution = f.weight * ((missing ? f.impute : x) - f.mean) / f.scale;
            } else if (missing) {
                contribution = f.missing_weight;
            } else {
                auto bin = std::upper_bound(f.edges.begin(), f.edges.end(), x) - f.edges.begin();
                contribution = f.bin_weights[static_cast<std::size_t>(bin)];
            }
        } else if (f.type == feature_type::categorical) {
            auto code = category_of(f, loan);
            if (!code) return code.err();
            if (*code == missing_code) contribution = f.missing_weight;
            else if (*code >= 0) contribution = f.category_weights[static_cast<std::size_t>(*code)];
        } else {
            auto a = category_of(m.features[f.cross_of[0]], loan);
            auto b = category_of(m.features[f.cross_of[1]], loan);
            if (!a) return a.err();
            if (!b) return b.err();
            for (std::size_t i = 0; i < f.pair_weights.size(); ++i)
                if (static_cast<long>(f.pair_codes[0][i]) == *a && static_cast<long>(f.pair_codes[1][i]) == *b)
                    contribution = f.pair_weights[i];
        }
        out.contributions.push_back(contribution);
        logit += contribution;
    }
    out.logit = logit;
    out.pd = sigmoid(logit);
    return out;
}

}  // namespace loanrisk::core

// Single-feature separation check. The reference design's data set had a feature whose missingness alone
// gave the outcome away; a model trained on such data looks excellent and is useless, so training says so.
#include <cmath>
#include <map>

#include "loanrisk/evaluation.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/trainer.hpp"

namespace loanrisk::train {

namespace {

double separation_of(const std::vector<double>& score, const std::vector<std::uint8_t>& y) {
    double auc = roc_auc(score, y);
    return std::isnan(auc) ? 0.5 : std::max(auc, 1 - auc);
}

std::string format(double auc) {
    std::string s;
    io::append_number(s, auc, 4);
    return s;
}

}  // namespace

separation single_feature_separation(const column& c, const std::vector<std::uint8_t>& y,
                                     const std::vector<std::uint32_t>& rows) {
    std::vector<double> score, missing;
    std::vector<std::uint8_t> label, all_labels;
    bool any_missing = false;
    std::map<std::string, std::pair<double, double>> rate;  // category -> defaults, count
    if (!c.numeric)
        for (auto r : rows) {
            auto& e = rate[c.text[r]];
            e.first += y[r];
            e.second += 1;
        }
    for (auto r : rows) {
        bool m = c.numeric ? std::isnan(c.numbers[r]) : c.text[r].empty();
        any_missing |= m;
        missing.push_back(m ? 1 : 0);
        all_labels.push_back(y[r]);
        if (m) continue;
        if (c.numeric) {
            score.push_back(c.numbers[r]);
        } else {
            // In-sample target encoding: each category scored by its default rate in these rows.
            const auto& e = rate[c.text[r]];
            score.push_back(e.first / e.second);
        }
        label.push_back(y[r]);
    }
    separation s;
    s.value = separation_of(score, label);
    if (any_missing) s.missingness = separation_of(missing, all_labels);
    return s;
}

std::vector<std::string> leakage_diagnostic(const dataset& data, const std::vector<std::uint8_t>& y,
                                            const std::vector<std::uint32_t>& rows,
                                            const std::vector<std::string>& features, double threshold) {
    std::vector<std::string> warnings;
    for (const auto& name : features) {
        const column* c = data.find(name);
        if (!c) continue;
        separation s = single_feature_separation(*c, y, rows);
        if (s.value > threshold)
            warnings.push_back("possible target leakage: '" + name + "' alone separates the target (AUC " +
                               format(s.value) + ")");
        if (s.missingness > threshold)
            warnings.push_back("possible target leakage: whether '" + name +
                               "' is missing alone separates the target (AUC " + format(s.missingness) + ")");
    }
    return warnings;
}

}  // namespace loanrisk::train

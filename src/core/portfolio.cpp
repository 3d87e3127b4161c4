// Portfolio aggregation: one add() per scored loan, merge() to combine chunks, summarize() at the end.
#include "loanrisk/portfolio.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace loanrisk::core {

void portfolio_accumulator::reset(const compiled_model& m, const summary_options& options) {
    *this = portfolio_accumulator{};
    psi_counts.assign(m.source->training_pd.fractions.size(), 0);
    for (const auto& name : options.group_by) {
        int input = m.find_input(name);
        if (input < 0 || m.inputs[static_cast<std::size_t>(input)].numeric) continue;
        const input_field& in = m.inputs[static_cast<std::size_t>(input)];
        group_column.push_back(in.column);
        groups.emplace_back(in.categories.size() + 2);
    }
}

portfolio_accumulator portfolio_accumulator::empty_copy() const {
    portfolio_accumulator z;
    z.psi_counts.assign(psi_counts.size(), 0);
    z.group_column = group_column;
    for (const auto& g : groups) z.groups.emplace_back(g.size());
    return z;
}

void portfolio_accumulator::add(const compiled_model& m, const policy&, const loan_batch& b, std::size_t loan,
                                double pd, decision d, double expected_loss) {
    ++count;
    ++decisions[static_cast<std::size_t>(d)];
    double exposure = b.exposure[loan];
    bool has_exposure = !std::isnan(exposure);
    if (has_exposure) {
        exposure_total += exposure;
        expected_loss_total += expected_loss;
        ++expected_loss_count;
    }
    pd_sum += pd;
    // PD histogram bucket: number of inner edges <= pd (so 1.0 lands in the last bucket).
    auto inner = pd_histogram_edges.begin() + 1;
    ++pd_histogram[static_cast<std::size_t>(std::upper_bound(inner, pd_histogram_edges.end() - 1, pd) - inner)];
    // PSI bin: number of inner training edges <= pd.
    const auto& edges = m.source->training_pd.edges;
    std::size_t bin = static_cast<std::size_t>(std::upper_bound(edges.begin() + 1, edges.end() - 1, pd) - (edges.begin() + 1));
    ++psi_counts[bin];
    double age = b.age[loan];
    if (std::isnan(age) || age < 18) {
        ++band_unknown;
    } else {
        std::size_t band = age < 25 ? 0 : age < 35 ? 1 : age < 45 ? 2 : age < 55 ? 3 : 4;
        ++band_count[band];
        band_approved[band] += d == decision::approve;
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
        group_totals& t = groups[g][b.codes[group_column[g]][loan]];
        ++t.count;
        if (has_exposure) {
            t.exposure += exposure;
            t.expected_loss += expected_loss;
        }
    }
}

void portfolio_accumulator::merge(const portfolio_accumulator& o) {
    count += o.count;
    for (std::size_t i = 0; i < decisions.size(); ++i) decisions[i] += o.decisions[i];
    exposure_total += o.exposure_total;
    expected_loss_total += o.expected_loss_total;
    expected_loss_count += o.expected_loss_count;
    pd_sum += o.pd_sum;
    for (std::size_t i = 0; i < pd_histogram.size(); ++i) pd_histogram[i] += o.pd_histogram[i];
    for (std::size_t i = 0; i < psi_counts.size(); ++i) psi_counts[i] += o.psi_counts[i];
    for (std::size_t i = 0; i < band_count.size(); ++i) {
        band_count[i] += o.band_count[i];
        band_approved[i] += o.band_approved[i];
    }
    band_unknown += o.band_unknown;
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (std::size_t c = 0; c < groups[g].size(); ++c) {
            groups[g][c].count += o.groups[g][c].count;
            groups[g][c].exposure += o.groups[g][c].exposure;
            groups[g][c].expected_loss += o.groups[g][c].expected_loss;
        }
}

portfolio_summary summarize(const compiled_model& m, const portfolio_accumulator& acc, const summary_options& options) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    portfolio_summary s;
    s.totals = &acc;
    for (const auto& name : options.group_by) {
        int input = m.find_input(name);
        if (input < 0 || m.inputs[static_cast<std::size_t>(input)].numeric) continue;
        s.group_fields.push_back(name);
        auto labels = m.inputs[static_cast<std::size_t>(input)].categories;
        labels.push_back("(unknown)");
        labels.push_back("(missing)");
        s.group_labels.push_back(std::move(labels));
    }
    s.age_field = m.age_field;
    double n = static_cast<double>(acc.count);
    s.approval_rate = acc.count ? static_cast<double>(acc.decisions[0]) / n : nan;
    s.manual_review_rate = acc.count ? static_cast<double>(acc.decisions[1]) / n : nan;
    s.reject_rate = acc.count ? static_cast<double>(acc.decisions[2]) / n : nan;
    s.mean_pd = acc.count ? acc.pd_sum / n : nan;
    s.mean_expected_loss = acc.expected_loss_count ? acc.expected_loss_total / static_cast<double>(acc.expected_loss_count) : nan;
    double lowest = INFINITY, highest = -INFINITY;
    for (std::size_t i = 0; i < acc.band_count.size(); ++i) {
        if (!acc.band_count[i]) {
            s.band_approval_rate[i] = nan;
            continue;
        }
        double r = static_cast<double>(acc.band_approved[i]) / static_cast<double>(acc.band_count[i]);
        s.band_approval_rate[i] = r;
        lowest = std::min(lowest, r);
        highest = std::max(highest, r);
    }
    if (highest > 0) s.disparate_impact_ratio = lowest / highest;
    // PSI = sum (actual - expected) * ln(actual / expected); empty bins floored at 1e-4 as is customary.
    s.psi_expected = m.source->training_pd.fractions;
    if (acc.count) {
        double psi = 0;
        for (std::size_t i = 0; i < acc.psi_counts.size(); ++i) {
            double actual = static_cast<double>(acc.psi_counts[i]) / n;
            s.psi_actual.push_back(actual);
            double a = std::max(actual, 1e-4), e = std::max(s.psi_expected[i], 1e-4);
            psi += (a - e) * std::log(a / e);
        }
        s.psi = psi;
    }
    return s;
}

}  // namespace loanrisk::core

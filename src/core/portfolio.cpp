// Portfolio aggregation: one add() per scored loan, merge() to combine chunks, summarize() at the end.
#include "loanrisk/portfolio.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace loanrisk::core {

void portfolio_accumulator::reset(const compiled_model& m, const summary_options& options) {
    *this = portfolio_accumulator{};
    // add() counts PSI bins against at most 16 inner edges; the trainer writes deciles (9).
    psi_counts.assign(std::min<std::size_t>(m.source->training_pd.fractions.size(), 17), 0);
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

void portfolio_accumulator::add(const compiled_model& m, const loan_batch& b, std::size_t begin, std::size_t end,
                                const float* pd, const decision* decisions_in, const double* expected_loss) {
    // Every count is accumulated as "how many are >= this edge" (cumulative) from comparisons alone, over
    // fixed-size edge lists padded with +inf: no branches to mispredict, no read-modify-write of a bin the
    // previous loan just bumped, and loops the compiler can keep in registers. Bins are differences at the
    // end. Group totals go to four interleaved copies for the same reason.
    constexpr std::size_t psi_slots = 16, hist_slots = 8, age_slots = 8;
    constexpr double inf = std::numeric_limits<double>::infinity();
    const auto& psi_edges = m.source->training_pd.edges;
    const std::size_t psi_inner_n = psi_edges.size() - 2;  // <= psi_slots: checked in reset()
    double psi_e[psi_slots], hist_e[hist_slots], age_e[age_slots];
    for (std::size_t k = 0; k < psi_slots; ++k) psi_e[k] = k < psi_inner_n ? psi_edges[k + 1] : inf;
    for (std::size_t k = 0; k < hist_slots; ++k) hist_e[k] = k < 7 ? pd_histogram_edges[k + 1] : inf;
    constexpr double age_edges[5] = {18, 25, 35, 45, 55};
    for (std::size_t k = 0; k < age_slots; ++k) age_e[k] = k < 5 ? age_edges[k] : inf;

    const double* exposure = b.exposure.data() + begin;
    const double* age = b.age.data() + begin;
    const std::size_t n = end - begin;
    std::int64_t hist_ge[hist_slots] = {}, psi_ge[psi_slots] = {}, age_ge[age_slots] = {}, approved_age_ge[age_slots] = {};
    std::int64_t review_or_worse = 0, rejected = 0, with_exposure = 0;
    double pd_total = 0, exposure_sum = 0, el_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double p = pd[i];
        const auto d = static_cast<unsigned>(decisions_in[i]);
        review_or_worse += d >= 1;
        rejected += d >= 2;
        pd_total += p;
        for (std::size_t k = 0; k < hist_slots; ++k) hist_ge[k] += p >= hist_e[k];
        for (std::size_t k = 0; k < psi_slots; ++k) psi_ge[k] += p >= psi_e[k];
        const double x = exposure[i];
        const bool has = x == x;  // not NaN
        with_exposure += has;
        exposure_sum += has ? x : 0.0;
        el_sum += has ? expected_loss[i] : 0.0;
        const double a = age[i];  // NaN compares false: no band
        const std::int64_t approved = d == 0;
        for (std::size_t k = 0; k < age_slots; ++k) {
            const std::int64_t in = a >= age_e[k];
            age_ge[k] += in;
            approved_age_ge[k] += in & approved;
        }
    }
    const auto un = static_cast<std::int64_t>(n);
    auto diff = [](const std::int64_t* ge, std::size_t k, std::size_t last) { return ge[k] - (k + 1 < last ? ge[k + 1] : 0); };
    count += n;
    decisions[0] += static_cast<std::size_t>(un - review_or_worse);
    decisions[1] += static_cast<std::size_t>(review_or_worse - rejected);
    decisions[2] += static_cast<std::size_t>(rejected);
    pd_sum += pd_total;
    exposure_total += exposure_sum;
    expected_loss_total += el_sum;
    expected_loss_count += static_cast<std::size_t>(with_exposure);
    pd_histogram[0] += static_cast<std::size_t>(un - hist_ge[0]);
    for (std::size_t k = 0; k < 7; ++k) pd_histogram[k + 1] += static_cast<std::size_t>(diff(hist_ge, k, 7));
    psi_counts[0] += static_cast<std::size_t>(un - (psi_inner_n ? psi_ge[0] : 0));
    for (std::size_t k = 0; k < psi_inner_n; ++k) psi_counts[k + 1] += static_cast<std::size_t>(diff(psi_ge, k, psi_inner_n));
    band_unknown += static_cast<std::size_t>(un - age_ge[0]);
    for (std::size_t k = 0; k < 5; ++k) {
        band_count[k] += static_cast<std::size_t>(diff(age_ge, k, 5));
        band_approved[k] += static_cast<std::size_t>(diff(approved_age_ge, k, 5));
    }

    for (std::size_t g = 0; g < groups.size(); ++g) {
        const std::size_t codes = groups[g].size();
        lanes_.assign(4 * codes, group_totals{});
        const std::uint16_t* code = b.codes[group_column[g]].data() + begin;
        for (std::size_t i = 0; i < n; ++i) {
            group_totals& t = lanes_[code[i] * 4 + (i & 3)];
            ++t.count;
            const double x = exposure[i];
            const bool has = x == x;
            t.exposure += has ? x : 0.0;
            t.expected_loss += has ? expected_loss[i] : 0.0;
        }
        for (std::size_t c = 0; c < codes; ++c)
            for (std::size_t l = 0; l < 4; ++l) {
                const group_totals& t = lanes_[c * 4 + l];
                groups[g][c].count += t.count;
                groups[g][c].exposure += t.exposure;
                groups[g][c].expected_loss += t.expected_loss;
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

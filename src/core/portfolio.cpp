// Portfolio aggregation: one add() per scored loan, merge() to combine chunks, summarize() at the end.
#include "loanrisk/portfolio.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace loanrisk::core {

void portfolio_accumulator::reset(const compiled_model& m, const summary_options& options) {
    *this = portfolio_accumulator{};
    // The policy kernel counts PSI bins against at most max_psi_edges inner edges; the trainer writes
    // deciles (9).
    psi_counts.assign(std::min(m.source->training_pd.fractions.size(), max_psi_edges + 1), 0);
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

result<std::vector<std::string>> checked_group_by(const compiled_model& m, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (std::string name : names) {
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        if (name.empty()) continue;
        const int input = m.find_input(name);
        if (input < 0 || m.inputs[static_cast<std::size_t>(input)].numeric)
            return error{"'" + name + "' is not a categorical input of the model", ""};
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
}

namespace {

// Not inlined on purpose: GCC 12 at -O3 vectorises two adjacent double -> float -> double round trips into
// a plain copy (seen here; the conversion vanished and the regression test below failed).
[[gnu::noinline]] double rounded_to_float(double x) { return static_cast<float>(x); }

}  // namespace

policy_args make_policy_args(const compiled_model& m, const policy& p) {
    policy_args a;
    // PDs are floats and are printed as the shortest text of that float: compare them with the thresholds
    // rounded to float too, so a PD printed as "0.7" is never approved below an approve_max of 0.7
    // (tests/unit/core/scorer_test.cpp: a_pd_printed_as_the_threshold_is_not_approved).
    a.approve_max = rounded_to_float(p.approve_max);
    a.reject_min = rounded_to_float(p.reject_min);
    a.lgd = p.lgd;
    for (std::size_t k = 0; k < 7; ++k) a.hist_edges[k] = pd_histogram_edges[k + 1];
    const auto& edges = m.source->training_pd.edges;
    a.psi_edge_count = std::min(edges.size() - 2, max_psi_edges);
    for (std::size_t k = 0; k < a.psi_edge_count; ++k) a.psi_edges[k] = edges[k + 1];
    constexpr double age_lower[5] = {18, 25, 35, 45, 55};
    for (std::size_t k = 0; k < 5; ++k) a.age_edges[k] = age_lower[k];
    return a;
}

void portfolio_accumulator::add(const block_totals& t, std::size_t n) {
    // Cumulative counts ("how many are >= edge k") become bins by differences.
    auto count_of = [](double c) { return static_cast<std::size_t>(c); };
    auto bin = [&](const double* ge, std::size_t k, std::size_t edges) {
        return count_of(ge[k]) - (k + 1 < edges ? count_of(ge[k + 1]) : 0);
    };
    count += n;
    decisions[0] += n - count_of(t.review_or_worse);
    decisions[1] += count_of(t.review_or_worse) - count_of(t.rejected);
    decisions[2] += count_of(t.rejected);
    pd_sum += t.pd_sum;
    exposure_total += t.exposure_sum;
    expected_loss_total += t.expected_loss_sum;
    expected_loss_count += count_of(t.with_exposure);
    pd_histogram[0] += n - count_of(t.hist_ge[0]);
    for (std::size_t k = 0; k < 7; ++k) pd_histogram[k + 1] += bin(t.hist_ge, k, 7);
    const std::size_t psi_edges = psi_counts.size() - 1;
    psi_counts[0] += n - (psi_edges ? count_of(t.psi_ge[0]) : 0);
    for (std::size_t k = 0; k < psi_edges; ++k) psi_counts[k + 1] += bin(t.psi_ge, k, psi_edges);
    band_unknown += n - count_of(t.age_ge[0]);
    for (std::size_t k = 0; k < 5; ++k) {
        band_count[k] += bin(t.age_ge, k, 5);
        band_approved[k] += bin(t.approved_age_ge, k, 5);
    }
}

void portfolio_accumulator::add_groups(const loan_batch& b, std::size_t begin, std::size_t end, const double* el) {
    // Four interleaved copies of the totals, so consecutive loans of the same group do not wait on each
    // other's read-modify-write.
    const double* exposure = b.exposure.data() + begin;
    const std::size_t n = end - begin;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const std::size_t codes = groups[g].size();
        // Up to four loans (a /predict) each have a lane to themselves, so adding them straight into the
        // totals, in order, gives the very same sums without lanes to clear and fold.
        if (n <= 4) {
            const std::uint16_t* code = b.codes[group_column[g]].data() + begin;
            for (std::size_t i = 0; i < n; ++i) {
                group_totals& t = groups[g][code[i]];
                ++t.count;
                const double x = exposure[i];
                if (x == x) {  // not NaN
                    t.exposure += x;
                    t.expected_loss += el[i];
                }
            }
            continue;
        }
        lanes_.assign(4 * codes, group_totals{});
        const std::uint16_t* code = b.codes[group_column[g]].data() + begin;
        for (std::size_t i = 0; i < n; ++i) {
            group_totals& t = lanes_[code[i] * 4 + (i & 3)];
            ++t.count;
            const double x = exposure[i];
            const bool has = x == x;  // not NaN
            t.exposure += has ? x : 0.0;
            t.expected_loss += has ? el[i] : 0.0;
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
    merge_totals(o);
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (std::size_t c = 0; c < groups[g].size(); ++c) {
            groups[g][c].count += o.groups[g][c].count;
            groups[g][c].exposure += o.groups[g][c].exposure;
            groups[g][c].expected_loss += o.groups[g][c].expected_loss;
        }
}

void portfolio_accumulator::merge_totals(const portfolio_accumulator& o) {
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
    std::size_t bands = 0;
    for (std::size_t i = 0; i < acc.band_count.size(); ++i) {
        if (!acc.band_count[i]) {
            s.band_approval_rate[i] = nan;
            continue;
        }
        double r = static_cast<double>(acc.band_approved[i]) / static_cast<double>(acc.band_count[i]);
        s.band_approval_rate[i] = r;
        lowest = std::min(lowest, r);
        highest = std::max(highest, r);
        ++bands;
    }
    // A ratio compares bands: with loans in one band only there is nothing to compare (1 would read as parity).
    if (bands >= 2 && highest > 0) s.disparate_impact_ratio = lowest / highest;
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

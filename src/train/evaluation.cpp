// Model quality metrics over (pd, label) pairs: the numbers `loanrisk train` writes into the artifact
// and `loanrisk evaluate` prints. Pure functions; no I/O and no state.
//
// Conventions shared by every function here:
// - a label counts as a default when it is non-zero;
// - `pd`/`score` and `label` must have the same length (asserted); in release builds the extra tail
//   of the longer span is ignored rather than read out of bounds;
// - sums run in index order in double, and ranking uses a stable sort, so the same input always gives
//   bit-identical output;
// - a metric that is undefined on its input (empty input, one class absent, a NaN score) is NaN, never
//   a crash; rates whose denominator is zero are 0, as documented in evaluation.hpp.
#include "loanrisk/evaluation.hpp"
#include "loanrisk/json_writer.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

namespace loanrisk::train {
namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

std::size_t paired_size(std::size_t values, std::size_t labels) {
    assert(values == labels && "pd/score and label spans must have equal length");
    return std::min(values, labels);
}

double as_double(std::size_t n) { return static_cast<double>(n); }

bool any_nan(std::span<const double> values) {
    return std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); });
}

// Indices ordered by ascending score, ties kept in index order. Sorting indices once serves both AUC
// and KS; callers reject NaN scores first since they break the strict weak ordering sort needs.
std::vector<std::size_t> ascending_order(std::span<const double> score, std::size_t n) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
    return order;
}

std::size_t count_defaults(std::span<const std::uint8_t> label, std::size_t n) {
    return static_cast<std::size_t>(std::count_if(label.begin(), label.begin() + static_cast<std::ptrdiff_t>(n),
                                                  [](std::uint8_t y) { return y != 0; }));
}

// Mann-Whitney U from the rank sum of the positives, tied groups sharing their mean rank. Every term
// is a half-integer below 2^53, so U is exact and the one division is correctly rounded.
double auc_from_order(std::span<const double> score, std::span<const std::uint8_t> label,
                      const std::vector<std::size_t>& order, std::size_t positives) {
    const std::size_t n = order.size();
    const std::size_t negatives = n - positives;
    if (positives == 0 || negatives == 0) return not_a_number;

    double positive_rank_sum = 0;
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i;
        std::size_t group_positives = 0;
        for (; j < n && score[order[j]] == score[order[i]]; ++j) group_positives += label[order[j]] != 0;
        // 1-based ranks i+1 .. j share their mean (i + 1 + j) / 2.
        positive_rank_sum += as_double(group_positives) * as_double(i + 1 + j) / 2;
        i = j;
    }
    const double p = as_double(positives);
    const double u = positive_rank_sum - p * (p + 1) / 2;
    return u / (p * as_double(negatives));
}

// Walks thresholds from the highest score down, a whole tied group per step: splitting a group would
// report a separation no cut-off can achieve. |tp*N - fp*P| / (P*N) is exact up to the last division.
double ks_from_order(std::span<const double> score, std::span<const std::uint8_t> label,
                     const std::vector<std::size_t>& order, std::size_t positives) {
    const std::size_t n = order.size();
    const std::size_t negatives = n - positives;
    if (positives == 0 || negatives == 0) return not_a_number;

    const double p = as_double(positives);
    const double q = as_double(negatives);
    double true_positives = 0, false_positives = 0, best = 0;
    for (std::size_t i = n; i > 0;) {
        const double group_score = score[order[i - 1]];
        for (; i > 0 && score[order[i - 1]] == group_score; --i) {
            if (label[order[i - 1]] != 0) ++true_positives;
            else ++false_positives;
        }
        best = std::max(best, std::abs(true_positives * q - false_positives * p));
    }
    return best / (p * q);
}

// Edges as k / bins, so the first is exactly 0 and the last exactly 1.
double bin_edge(std::size_t k, std::size_t bins) { return as_double(k) / as_double(bins); }

// floor(pd * bins) can round across an edge (15.0 / 22 * 22 < 15), so nudge the index until the
// bin's own [lower, upper) holds pd. Out-of-range PDs are clamped into the first or last bin.
std::size_t bin_of(double pd, std::size_t bins) {
    if (!(pd > 0)) return 0;
    if (pd >= 1) return bins - 1;
    auto k = std::min(static_cast<std::size_t>(pd * as_double(bins)), bins - 1);
    if (pd < bin_edge(k, bins)) --k;  // k > 0 here: edge 0 is 0 and pd > 0
    else if (k + 1 < bins && pd >= bin_edge(k + 1, bins)) ++k;
    return k;
}

bool is_whole(double x) {
    return std::abs(x) < 1e15 && std::abs(x - std::nearbyint(x)) <= 1e-12 * std::max(1.0, std::abs(x));
}

// Cut-off k is first + k * step, but that sum in binary is not the decimal the caller meant:
// 0.05 + 18 * 0.05 == 0.9500000000000001, which would print badly in the artifact and decline a PD of
// exactly 0.95 one cut-off early. When first, step and last are short decimals, count in integer units
// of 10^-digits (5 + 18 * 5 = 95) and divide once, giving the double nearest the decimal (95 / 100.0).
std::vector<double> cutoff_values(double first, double last, double step) {
    std::vector<double> cutoffs;
    if (!std::isfinite(first) || !std::isfinite(last) || !std::isfinite(step) || !(step > 0) || last < first)
        return cutoffs;

    double scale = 1;  // 10^digits, exact in double
    for (int digits = 0; digits <= 9; ++digits, scale *= 10) {
        if (!is_whole(first * scale) || !is_whole(step * scale) || !is_whole(last * scale)) continue;
        const long long first_units = std::llround(first * scale);
        const long long step_units = std::llround(step * scale);
        const long long last_units = std::llround(last * scale);
        if (step_units <= 0) continue;
        for (long long units = first_units; units <= last_units; units += step_units)
            cutoffs.push_back(static_cast<double>(units) / scale);
        return cutoffs;
    }

    // No short decimal form: k * step from first, never accumulated; the slack keeps a last cut-off
    // that (last - first) / step lands a hair below.
    const auto steps = static_cast<std::size_t>(std::floor((last - first) / step + 1e-9));
    for (std::size_t k = 0; k <= steps; ++k) cutoffs.push_back(first + as_double(k) * step);
    return cutoffs;
}

double ratio_or_zero(std::size_t numerator, std::size_t denominator) {
    return denominator == 0 ? 0 : as_double(numerator) / as_double(denominator);
}

}  // namespace

double roc_auc(std::span<const double> score, std::span<const std::uint8_t> label) {
    const std::size_t n = paired_size(score.size(), label.size());
    score = score.first(n);
    if (any_nan(score)) return not_a_number;
    return auc_from_order(score, label, ascending_order(score, n), count_defaults(label, n));
}

double ks_statistic(std::span<const double> score, std::span<const std::uint8_t> label) {
    const std::size_t n = paired_size(score.size(), label.size());
    score = score.first(n);
    if (any_nan(score)) return not_a_number;
    return ks_from_order(score, label, ascending_order(score, n), count_defaults(label, n));
}

double brier_score(std::span<const double> pd, std::span<const std::uint8_t> label) {
    const std::size_t n = paired_size(pd.size(), label.size());
    if (n == 0) return not_a_number;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double error = pd[i] - (label[i] != 0 ? 1.0 : 0.0);
        sum += error * error;
    }
    return sum / as_double(n);
}

double log_loss(std::span<const double> pd, std::span<const std::uint8_t> label) {
    constexpr double eps = 1e-15;
    const std::size_t n = paired_size(pd.size(), label.size());
    if (n == 0) return not_a_number;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double p = std::clamp(pd[i], eps, 1 - eps);
        // log(1 - p) rather than log1p(-p): scikit-learn forms 1 - p first, and we match it.
        sum -= label[i] != 0 ? std::log(p) : std::log(1 - p);
    }
    return sum / as_double(n);
}

// NaN PDs belong to no bin (they would otherwise land silently in bin 0); the counts then sum to
// fewer than the input size, which expected_calibration_error accounts for. bins == 0 gives no rows.
std::vector<calibration_bin> calibration_table(std::span<const double> pd, std::span<const std::uint8_t> label,
                                               std::size_t bins) {
    std::vector<calibration_bin> table(bins);
    if (bins == 0) return table;
    for (std::size_t k = 0; k < bins; ++k) {
        table[k].lower = bin_edge(k, bins);
        table[k].upper = bin_edge(k + 1, bins);
    }

    const std::size_t n = paired_size(pd.size(), label.size());
    std::vector<double> pd_sum(bins, 0.0);
    std::vector<std::size_t> defaults(bins, 0);
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(pd[i])) continue;
        const std::size_t k = bin_of(pd[i], bins);
        ++table[k].count;
        pd_sum[k] += pd[i];
        defaults[k] += label[i] != 0;
    }
    for (std::size_t k = 0; k < bins; ++k) {
        if (table[k].count == 0) continue;
        table[k].mean_pd = pd_sum[k] / as_double(table[k].count);
        table[k].default_rate = ratio_or_zero(defaults[k], table[k].count);
    }
    return table;
}

// N is the number of binned loans; NaN when there are none, as a mean over nothing.
double expected_calibration_error(const std::vector<calibration_bin>& table) {
    std::size_t total = 0;
    double weighted_gap = 0;
    for (const calibration_bin& bin : table) {
        total += bin.count;
        weighted_gap += as_double(bin.count) * std::abs(bin.mean_pd - bin.default_rate);
    }
    return total == 0 ? not_a_number : weighted_gap / as_double(total);
}

// A non-positive or non-finite step, or last < first, gives no rows. Empty input gives rows of zeros.
std::vector<threshold_row> threshold_table(std::span<const double> pd, std::span<const std::uint8_t> label,
                                           double first, double last, double step) {
    const std::size_t n = paired_size(pd.size(), label.size());
    const std::size_t defaults = count_defaults(label, n);
    const std::size_t goods = n - defaults;

    std::vector<threshold_row> table;
    for (const double cutoff : cutoff_values(first, last, step)) {
        std::size_t approved = 0, approved_defaults = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!(pd[i] < cutoff)) continue;
            ++approved;
            approved_defaults += label[i] != 0;
        }
        const std::size_t declined = n - approved;
        const std::size_t declined_defaults = defaults - approved_defaults;
        const std::size_t declined_goods = declined - declined_defaults;

        threshold_row row;
        row.cutoff = cutoff;
        row.approval_rate = ratio_or_zero(approved, n);
        row.default_rate_approved = ratio_or_zero(approved_defaults, approved);
        row.recall = ratio_or_zero(declined_defaults, defaults);
        row.precision = ratio_or_zero(declined_defaults, declined);
        row.false_positive_rate = ratio_or_zero(declined_goods, goods);
        table.push_back(row);
    }
    return table;
}

evaluation evaluate(std::span<const double> pd, std::span<const std::uint8_t> label) {
    const std::size_t n = paired_size(pd.size(), label.size());
    pd = pd.first(n);
    label = label.first(n);

    evaluation result;
    result.count = n;
    result.defaults = count_defaults(label, n);
    if (any_nan(pd)) {
        result.roc_auc = result.ks = not_a_number;
    } else {
        const std::vector<std::size_t> order = ascending_order(pd, n);  // shared by AUC and KS
        result.roc_auc = auc_from_order(pd, label, order, result.defaults);
        result.ks = ks_from_order(pd, label, order, result.defaults);
    }
    result.gini = 2 * result.roc_auc - 1;
    result.brier = brier_score(pd, label);
    result.log_loss = log_loss(pd, label);
    result.calibration = calibration_table(pd, label);
    result.ece = expected_calibration_error(result.calibration);
    result.thresholds = threshold_table(pd, label);
    return result;
}

void write_evaluation_fields(io::json_writer& w, const evaluation& e, bool tables, int d) {
    w.key("rows").value(e.count).key("defaults").value(e.defaults);
    w.key("roc_auc").value(e.roc_auc, d).key("gini").value(e.gini, d).key("ks").value(e.ks, d);
    w.key("brier").value(e.brier, d).key("log_loss").value(e.log_loss, d).key("ece").value(e.ece, d);
    if (tables) {
        w.key("calibration").begin_array();
        for (const auto& b : e.calibration)
            w.begin_object()
                .key("lower").value(b.lower, d).key("upper").value(b.upper, d).key("count").value(b.count)
                .key("mean_pd").value(b.mean_pd, d).key("default_rate").value(b.default_rate, d)
                .end_object();
        w.end_array();
        w.key("thresholds").begin_array();
        for (const auto& t : e.thresholds)
            w.begin_object()
                .key("approve_below").value(t.cutoff, d).key("approval_rate").value(t.approval_rate, d)
                .key("default_rate_approved").value(t.default_rate_approved, d).key("recall").value(t.recall, d)
                .key("precision").value(t.precision, d).key("false_positive_rate").value(t.false_positive_rate, d)
                .end_object();
        w.end_array();
    }
}

}  // namespace loanrisk::train

// The trainer: chooses features, builds each one's transform from the training rows (quantile bins or
// standardization, categories, crosses), encodes the rows into a sparse design, tunes bins / L2 / crosses
// by cross-validation inside the training rows, fits by IRLS and writes the weights back into a
// core::model, which is then evaluated on the holdout with the reference scorer.
#include "loanrisk/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "loanrisk/irls.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/reference_scorer.hpp"

namespace loanrisk::train {

namespace {

constexpr int weight_digits = 10;  // weights are stored rounded, so ulp-level noise never changes the bytes
constexpr int metric_digits = 6;

double rounded(double x, int digits) {
    std::string s;
    io::append_number(s, x, digits);
    return s == "null" ? x : std::stod(s);
}

constexpr std::int32_t missing_code = -1, unknown_code = -2;

// One model feature while training: its artifact form plus where its columns sit in the design.
struct term {
    core::feature f;
    std::size_t source = 0;       // dataset column (numeric / categorical)
    std::size_t first = 0;        // first design column
    std::size_t width = 0;        // design columns
    bool missing_column = false;  // a design column for "missing" (last of its columns)
};

struct plan_config {
    int bins = 20;
    double l2 = 1.0;
    std::vector<std::pair<std::string, std::string>> crosses;
};

struct context {
    const dataset& data;
    const train_options& options;
    std::vector<std::uint8_t> y;
    std::vector<std::uint32_t> train_rows, holdout_rows;
    std::vector<std::size_t> numeric_cols, categorical_cols;
    // per categorical column: sorted training categories and each row's code
    std::map<std::size_t, std::vector<std::string>> categories;
    std::map<std::size_t, std::vector<std::int32_t>> codes;
    std::map<std::size_t, std::vector<double>> sorted_train_values;  // per numeric column, missing excluded
};

void say(const train_options& o, const std::string& line) {
    if (o.log) o.log(line);
}

const core::value_range* declared_domain(const train_options& o, std::string_view column) {
    for (const auto& [name, r] : o.domains)
        if (name == column) return &r;
    return nullptr;
}

core::value_range declared_or_inferred_domain(const context& ctx, const column& c) {
    if (const auto* r = declared_domain(ctx.options, c.name)) return *r;
    // Money amounts, incomes, lengths and rates are never negative; percentages stay within the scale
    // they are written in. Other columns are unbounded. Inferred from the training rows (the holdout
    // decides nothing), whose holdout values outside it are refused before the fit (holdout_outside_domains).
    const auto& v = ctx.sorted_train_values.at(static_cast<std::size_t>(&c - ctx.data.columns.data()));
    core::value_range r;
    if (!v.empty() && v.front() >= 0) r.min = 0;
    std::string lower = c.name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    bool percent = lower.find("percent") != std::string::npos || lower.find("pct") != std::string::npos ||
                   lower.find("rate") != std::string::npos;
    if (percent && r.min == 0 && !v.empty()) {
        if (v.back() <= 1) r.max = 1;
        else if (v.back() <= 100) r.max = 100;
    }
    return r;
}

// "values >= 0 and <= 1"
std::string range_text(const core::value_range& r) {
    std::string bounds = "values ";
    if (std::isfinite(r.min)) io::append_number(bounds += ">= ", r.min);
    if (std::isfinite(r.min) && std::isfinite(r.max)) bounds += " and ";
    if (std::isfinite(r.max)) io::append_number(bounds += "<= ", r.max);
    return bounds;
}

// Says which domain was inferred for a numeric column (the server refuses values outside it with a 422).
void say_inferred_domain(const context& ctx, const column& c, const core::value_range& r) {
    if (declared_domain(ctx.options, c.name) || (std::isinf(r.min) && std::isinf(r.max))) return;
    say(ctx.options, c.name + ": " + range_text(r) + " only (inferred from the training rows; the server refuses "
                     "others with a 422; --domain " + c.name + "=MIN:MAX to declare it)");
}

// A holdout value outside its column's inferred domain (a loan larger than the income where no training
// row has one): refused before the fit, with its line and how to declare the range.
status holdout_outside_domains(const context& ctx) {
    for (std::size_t ci : ctx.numeric_cols) {
        const column& c = ctx.data.columns[ci];
        if (declared_domain(ctx.options, c.name)) continue;
        const core::value_range r = declared_or_inferred_domain(ctx, c);
        for (auto row : ctx.holdout_rows) {
            const double x = c.numbers[row];
            if (std::isnan(x) || r.contains(x)) continue;
            std::string value;
            io::append_number(value, x);
            return error{value + " is outside the range inferred from the training rows (" + range_text(r) +
                             "): declare the column's valid range with --domain " + c.name + "=MIN:MAX",
                         "line " + std::to_string(ctx.data.lines[row]) + ", column " + c.name};
        }
    }
    return ok();
}

// The population standard deviation of the values (missing ones replaced by impute) around mean,
// without overflowing for values near the largest doubles: scaled by the largest deviation first.
double standard_deviation(const context& ctx, const column& c, double impute, double mean) {
    double ss = 0, largest = 0;
    for (auto r : ctx.train_rows) {
        const double d = (std::isnan(c.numbers[r]) ? impute : c.numbers[r]) - mean;
        ss += d * d;
        largest = std::max(largest, std::fabs(d));
    }
    const double n = static_cast<double>(ctx.train_rows.size());
    if (std::isfinite(ss)) return std::sqrt(ss / n);
    if (!std::isfinite(largest)) return largest;
    double scaled = 0;
    for (auto r : ctx.train_rows) {
        const double d = ((std::isnan(c.numbers[r]) ? impute : c.numbers[r]) - mean) / largest;
        scaled += d * d;
    }
    return largest * std::sqrt(scaled / n);
}

// Quantile edges: bin k holds edges[k-1] <= x < edges[k]. Ties collapse bins, and no edge sits at the
// minimum (that bin would be empty).
std::vector<double> quantile_edges(const std::vector<double>& sorted, int bins) {
    std::vector<double> edges;
    if (sorted.empty()) return edges;
    for (int q = 1; q < bins; ++q) {
        double e = sorted[static_cast<std::size_t>(q) * sorted.size() / static_cast<std::size_t>(bins)];
        if (e > sorted.front() && (edges.empty() || e > edges.back())) edges.push_back(e);
    }
    return edges;
}

double median(const std::vector<double>& sorted) {
    if (sorted.empty()) return 0;
    std::size_t n = sorted.size();
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

std::vector<term> make_terms(const context& ctx, const plan_config& cfg) {
    std::vector<term> terms;
    const bool plain = ctx.options.kind == "plain";
    std::size_t next = 0;
    for (std::size_t ci : ctx.numeric_cols) {
        const column& c = ctx.data.columns[ci];
        const auto& v = ctx.sorted_train_values.at(ci);
        term t;
        t.source = ci;
        t.f.name = c.name;
        t.f.type = core::feature_type::numeric;
        t.f.domain = declared_or_inferred_domain(ctx, c);
        if (!v.empty()) t.f.training_range = {v.front(), v.back()};
        bool any_missing = false;
        for (auto r : ctx.train_rows) any_missing |= std::isnan(c.numbers[r]);
        if (plain) {
            // scikit-learn: SimpleImputer(median) then StandardScaler (population standard deviation).
            t.f.transform = core::numeric_transform::standardize;
            t.f.impute = median(v);
            double sum = 0;
            for (auto r : ctx.train_rows) sum += std::isnan(c.numbers[r]) ? t.f.impute : c.numbers[r];
            t.f.mean = sum / static_cast<double>(ctx.train_rows.size());
            if (!std::isfinite(t.f.mean)) {  // a sum past the largest double: the mean of each value's share
                t.f.mean = 0;
                for (auto r : ctx.train_rows)
                    t.f.mean += (std::isnan(c.numbers[r]) ? t.f.impute : c.numbers[r]) / static_cast<double>(ctx.train_rows.size());
            }
            t.f.scale = standard_deviation(ctx, c, t.f.impute, t.f.mean);
            if (!(t.f.scale > 0)) t.f.scale = 1;
            t.width = 1;
        } else {
            t.f.transform = core::numeric_transform::bins;
            t.f.edges = quantile_edges(v, cfg.bins);
            t.missing_column = any_missing;
            t.width = t.f.edges.size() + 1 + (any_missing ? 1 : 0);
        }
        t.first = next;
        next += t.width;
        terms.push_back(std::move(t));
    }
    for (std::size_t ci : ctx.categorical_cols) {
        term t;
        t.source = ci;
        t.f.name = ctx.data.columns[ci].name;
        t.f.type = core::feature_type::categorical;
        t.f.categories = ctx.categories.at(ci);
        bool any_missing = false;
        for (auto r : ctx.train_rows) any_missing |= ctx.codes.at(ci)[r] == missing_code;
        t.missing_column = any_missing && !plain;
        t.width = t.f.categories.size() + (t.missing_column ? 1 : 0);
        t.first = next;
        next += t.width;
        terms.push_back(std::move(t));
    }
    for (const auto& [a, b] : cfg.crosses) {
        term t;
        t.f.type = core::feature_type::cross;
        t.f.name = a + " x " + b;
        std::size_t fa = 0, fb = 0;
        for (std::size_t k = 0; k < terms.size(); ++k) {
            if (terms[k].f.name == a) fa = k;
            if (terms[k].f.name == b) fb = k;
        }
        t.f.cross_of[0] = fa;
        t.f.cross_of[1] = fb;
        // Pairs seen in training, in (code a, code b) order.
        const auto& ca = ctx.codes.at(terms[fa].source);
        const auto& cb = ctx.codes.at(terms[fb].source);
        std::vector<std::pair<std::int32_t, std::int32_t>> seen;
        for (auto r : ctx.train_rows)
            if (ca[r] >= 0 && cb[r] >= 0) seen.emplace_back(ca[r], cb[r]);
        std::sort(seen.begin(), seen.end());
        seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
        for (auto [x, z] : seen) {
            t.f.pair_codes[0].push_back(static_cast<std::uint32_t>(x));
            t.f.pair_codes[1].push_back(static_cast<std::uint32_t>(z));
        }
        t.width = seen.size();
        t.first = next;
        next += t.width;
        terms.push_back(std::move(t));
    }
    return terms;
}

design encode(const context& ctx, const std::vector<term>& terms) {
    design x;
    x.resize(ctx.data.rows(), terms.size());
    x.cols = terms.empty() ? 0 : terms.back().first + terms.back().width;
    for (std::size_t k = 0; k < terms.size(); ++k) {
        const term& t = terms[k];
        for (std::size_t r = 0; r < ctx.data.rows(); ++r) {
            std::size_t at = r * x.per_row + k;
            std::uint32_t col = 0;
            double val = 0;
            if (t.f.type == core::feature_type::numeric) {
                double v = ctx.data.columns[t.source].numbers[r];
                if (t.f.transform == core::numeric_transform::standardize) {
                    col = static_cast<std::uint32_t>(t.first);
                    val = ((std::isnan(v) ? t.f.impute : v) - t.f.mean) / t.f.scale;
                } else if (std::isnan(v)) {
                    if (t.missing_column) col = static_cast<std::uint32_t>(t.first + t.width - 1), val = 1;
                } else {
                    auto bin = std::upper_bound(t.f.edges.begin(), t.f.edges.end(), v) - t.f.edges.begin();
                    col = static_cast<std::uint32_t>(t.first + static_cast<std::size_t>(bin));
                    val = 1;
                }
            } else if (t.f.type == core::feature_type::categorical) {
                std::int32_t c = ctx.codes.at(t.source)[r];
                if (c >= 0) col = static_cast<std::uint32_t>(t.first + static_cast<std::size_t>(c)), val = 1;
                else if (c == missing_code && t.missing_column) col = static_cast<std::uint32_t>(t.first + t.width - 1), val = 1;
            } else {
                std::int32_t a = ctx.codes.at(terms[t.f.cross_of[0]].source)[r];
                std::int32_t b = ctx.codes.at(terms[t.f.cross_of[1]].source)[r];
                for (std::size_t p = 0; p < t.width && a >= 0 && b >= 0; ++p)
                    if (t.f.pair_codes[0][p] == static_cast<std::uint32_t>(a) &&
                        t.f.pair_codes[1][p] == static_cast<std::uint32_t>(b)) {
                        col = static_cast<std::uint32_t>(t.first + p), val = 1;
                        break;
                    }
            }
            x.index[at] = col;
            x.value[at] = val;
        }
    }
    return x;
}

// Mean holdout log-loss over `folds` folds of the training rows (fold = position % folds).
double cv_log_loss(const context& ctx, const plan_config& cfg) {
    auto terms = make_terms(ctx, cfg);
    design x = encode(ctx, terms);
    int folds = std::max(2, ctx.options.folds);
    double loss = 0;
    std::vector<std::uint32_t> fit_rows, test_rows;
    for (int f = 0; f < folds; ++f) {
        fit_rows.clear();
        test_rows.clear();
        for (std::size_t j = 0; j < ctx.train_rows.size(); ++j)
            (static_cast<int>(j % static_cast<std::size_t>(folds)) == f ? test_rows : fit_rows).push_back(ctx.train_rows[j]);
        irls_fit fit = fit_logistic(x, ctx.y, irls_options{cfg.l2}, fit_rows);
        for (auto r : test_rows) {
            double eta = linear_predictor(x, fit, r);
            double l = eta > 0 ? eta + std::log1p(std::exp(-eta)) : std::log1p(std::exp(eta));
            loss += l - (ctx.y[r] ? eta : 0.0);
        }
    }
    return loss / static_cast<double>(ctx.train_rows.size());
}

std::string describe(const plan_config& cfg) {
    std::string s = "bins=" + std::to_string(cfg.bins) + " l2=";
    io::append_number(s, cfg.l2);
    for (const auto& [a, b] : cfg.crosses) s += " +" + a + "*" + b;
    return s;
}

plan_config tune(const context& ctx) {
    const auto& o = ctx.options;
    plan_config best{o.bins > 0 ? o.bins : 20, o.l2 > 0 ? o.l2 : 1.0, o.tune_crosses ? decltype(o.crosses){} : o.crosses};
    double best_loss = cv_log_loss(ctx, best);
    say(o, "cv " + describe(best) + " log_loss " + std::to_string(best_loss));
    auto consider = [&](const plan_config& cfg) {
        double loss = cv_log_loss(ctx, cfg);
        say(o, "cv " + describe(cfg) + " log_loss " + std::to_string(loss));
        if (loss < best_loss) {
            best_loss = loss;
            best = cfg;
            return true;
        }
        return false;
    };
    // Crosses first (greedy forward selection over pairs of categorical features), then bins, then L2.
    std::vector<std::size_t> candidates = ctx.categorical_cols;
    if (candidates.size() > static_cast<std::size_t>(std::max(0, o.cross_candidates))) {
        std::vector<double> strength(ctx.data.columns.size());
        for (auto ci : candidates) strength[ci] = single_feature_separation(ctx.data.columns[ci], ctx.y, ctx.train_rows).value;
        std::stable_sort(candidates.begin(), candidates.end(), [&](auto a, auto b) { return strength[a] > strength[b]; });
        candidates.resize(static_cast<std::size_t>(std::max(0, o.cross_candidates)));
        std::sort(candidates.begin(), candidates.end());  // back to column order, so pair names read as in the data
    }
    for (int round = 0; o.tune_crosses && round < o.max_crosses; ++round) {
        const plan_config base = best;
        bool improved = false;
        for (std::size_t i = 0; i < candidates.size(); ++i)
            for (std::size_t j = i + 1; j < candidates.size(); ++j) {
                std::pair<std::string, std::string> pair{ctx.data.columns[candidates[i]].name,
                                                         ctx.data.columns[candidates[j]].name};
                if (std::find(base.crosses.begin(), base.crosses.end(), pair) != base.crosses.end()) continue;
                plan_config cfg = base;
                cfg.crosses.push_back(pair);
                improved |= consider(cfg);
            }
        if (!improved) break;
    }
    if (o.bins <= 0) {
        plan_config base = best;
        for (int bins : {10, 30, 40, 50}) {
            plan_config cfg = base;
            cfg.bins = bins;
            consider(cfg);
        }
    }
    if (o.l2 <= 0) {
        plan_config base = best;
        for (double l2 : {0.3, 3.0, 10.0}) {
            plan_config cfg = base;
            cfg.l2 = l2;
            consider(cfg);
        }
    }
    say(o, "chosen " + describe(best));
    return best;
}

// Writes fitted weights into the terms' features (rounded), completing the model.
core::model assemble(const context& ctx, std::vector<term>& terms, const irls_fit& fit) {
    core::model m;
    m.kind = ctx.options.kind;
    m.target = ctx.options.target;
    m.exposure_field = ctx.options.exposure;
    m.intercept = rounded(fit.intercept, weight_digits);
    auto w = [&](std::size_t col) { return rounded(fit.weights[col], weight_digits); };
    for (term& t : terms) {
        core::feature& f = t.f;
        if (f.type == core::feature_type::numeric) {
            if (f.transform == core::numeric_transform::standardize) {
                f.weight = w(t.first);
            } else {
                for (std::size_t b = 0; b <= f.edges.size(); ++b) f.bin_weights.push_back(w(t.first + b));
                if (t.missing_column) {
                    f.missing_weight = w(t.first + t.width - 1);
                } else {
                    // Never missing in training: a missing value is imputed with the median, i.e. scored in its bin.
                    const auto& v = ctx.sorted_train_values.at(t.source);
                    double med = median(v);
                    auto bin = std::upper_bound(f.edges.begin(), f.edges.end(), med) - f.edges.begin();
                    f.missing_weight = f.bin_weights[static_cast<std::size_t>(bin)];
                }
            }
        } else if (f.type == core::feature_type::categorical) {
            for (std::size_t c = 0; c < f.categories.size(); ++c) f.category_weights.push_back(w(t.first + c));
            f.missing_weight = t.missing_column ? w(t.first + t.width - 1) : 0.0;
        } else {
            for (std::size_t p = 0; p < t.width; ++p) f.pair_weights.push_back(w(t.first + p));
        }
        m.features.push_back(f);
    }
    return m;
}

core::pd_distribution pd_deciles(std::vector<double> pds) {
    std::sort(pds.begin(), pds.end());
    core::pd_distribution d;
    d.edges.push_back(0);
    for (int q = 1; q < 10; ++q) {
        double e = rounded(pds[static_cast<std::size_t>(q) * pds.size() / 10], metric_digits);
        if (e > d.edges.back() && e < 1) d.edges.push_back(e);
    }
    d.edges.push_back(1);
    std::vector<std::size_t> counts(d.edges.size() - 1, 0);
    for (double p : pds) {
        auto bin = std::upper_bound(d.edges.begin(), d.edges.end(), p) - d.edges.begin() - 1;
        counts[std::min(static_cast<std::size_t>(std::max<std::ptrdiff_t>(bin, 0)), counts.size() - 1)]++;
    }
    for (auto c : counts) d.fractions.push_back(rounded(static_cast<double>(c) / static_cast<double>(pds.size()), 12));
    return d;
}


}  // namespace

result<std::vector<std::uint8_t>> labels(const dataset& data, const std::string& target) {
    const column* c = data.find(target);
    if (!c) return error{"no target column '" + target + "' in the data", "header"};
    if (data.rows() == 0) return error{"no data rows after the header", ""};
    if (!c->numeric) return error{"target column '" + target + "' must hold 0 or 1", "column " + target};
    std::vector<std::uint8_t> y(data.rows());
    for (std::size_t r = 0; r < data.rows(); ++r) {
        double v = c->numbers[r];
        if (v != 0 && v != 1)
            return error{std::isnan(v) ? "target is empty" : "target must be 0 or 1",
                         "line " + std::to_string(data.lines[r]) + ", column " + target};
        y[r] = static_cast<std::uint8_t>(v);
    }
    return y;
}

dataset_options columns_for(const core::model& m) {
    dataset_options o;
    for (const auto& f : m.features) {
        if (f.type == core::feature_type::numeric) o.numeric.push_back(f.name);
        else if (f.type == core::feature_type::categorical) o.categorical.push_back(f.name);
    }
    std::vector<std::string> read = {m.target};
    for (const auto& f : m.features) read.push_back(f.name);
    o.used = [read = std::move(read)](std::string_view name) { return std::find(read.begin(), read.end(), name) != read.end(); };
    return o;
}

bool never_a_feature(const train_options& o, std::string_view name) {
    auto listed = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), name) != v.end(); };
    return listed(o.exclude) || listed(id_columns);
}

dataset_options columns_for(const train_options& o, std::vector<std::string> categorical) {
    dataset_options d;
    d.categorical = std::move(categorical);
    d.used = [o](std::string_view name) { return name == o.target || name == o.exposure || !never_a_feature(o, name); };
    return d;
}

std::vector<std::string> absent_features(const core::model& m, const dataset& data) {
    std::vector<std::string> absent;
    for (const auto& f : m.features)
        if (f.type != core::feature_type::cross && !data.find(f.name)) absent.push_back(f.name);
    return absent;
}

result<std::vector<double>> score_rows(const core::model& m, const dataset& data, const std::vector<std::uint32_t>& rows,
                                       std::vector<double>* contribution_sums) {
    if (contribution_sums) contribution_sums->assign(m.features.size(), 0.0);
    std::vector<const column*> cols;
    for (const auto& f : m.features) cols.push_back(f.type == core::feature_type::cross ? nullptr : data.find(f.name));
    std::vector<double> pds;
    pds.reserve(rows.size());
    core::loan_fields loan;
    for (auto r : rows) {
        loan.clear();
        for (std::size_t k = 0; k < cols.size(); ++k) {
            const column* c = cols[k];
            if (!c) continue;
            if (c->numeric) {
                if (!std::isnan(c->numbers[r])) loan.emplace(c->name, c->numbers[r]);
            } else if (!c->text[r].empty()) {
                loan.emplace(c->name, c->text[r]);
            }
        }
        auto s = core::score_reference(m, loan);
        if (!s) return error{s.err().what, "line " + std::to_string(data.lines[r]) + ", column " + s.err().where};
        pds.push_back(s->pd);
        if (contribution_sums)
            for (std::size_t k = 0; k < m.features.size(); ++k) (*contribution_sums)[k] += s->contributions[k];
    }
    return pds;
}

result<train_report> train_model(const dataset& data, const train_options& options) {
    if (options.kind != "scorecard" && options.kind != "plain")
        return error{"unknown kind '" + options.kind + "' (expected scorecard or plain)", "--kind"};
    if (!data.find(options.target)) return error{"no target column '" + options.target + "' (pass --target)", "header"};
    auto y = labels(data, options.target);
    if (!y) return y.err();
    context ctx{data, options, std::move(*y), {}, {}, {}, {}, {}, {}, {}};
    for (std::uint32_t r = 0; r < data.rows(); ++r) (is_holdout(r) ? ctx.holdout_rows : ctx.train_rows).push_back(r);
    if (ctx.train_rows.empty()) return error{"no training rows", ""};
    std::size_t defaults = 0;
    for (auto r : ctx.train_rows) defaults += ctx.y[r];
    if (defaults == 0 || defaults == ctx.train_rows.size())
        return error{"the training rows hold one class only (" + std::to_string(defaults) + " of " +
                         std::to_string(ctx.train_rows.size()) + " are 1): a model needs both",
                     "column " + options.target};
    // An option naming a column the data lacks is a typo that would change the model silently (an --exclude
    // that excludes nothing keeps a leaky column in).
    for (const auto& name : options.exclude)
        if (!data.find(name)) return error{"no column '" + name + "' in the data", "--exclude"};
    for (const auto& [name, r] : options.domains) {
        if (!data.find(name)) return error{"no column '" + name + "' in the data", "--domain"};
        if (r.min > r.max) return error{"the minimum of " + name + " is above its maximum", "--domain"};
    }
    for (std::size_t k = 0; k < options.crosses.size(); ++k) {
        const auto& [a, b] = options.crosses[k];
        if (a == b) return error{"a cross needs two different columns, got " + a + ":" + b, "--cross"};
        for (std::size_t j = 0; j < k; ++j)
            if (options.crosses[j] == std::pair{a, b} || options.crosses[j] == std::pair{b, a})
                return error{"the cross of " + a + " and " + b + " is given twice", "--cross"};
    }

    const column* exposure = data.find(options.exposure);
    if (!exposure) return error{"no exposure column '" + options.exposure + "' (pass --exposure)", "header"};
    if (!exposure->numeric) return error{"exposure column '" + options.exposure + "' must be numeric", "header"};

    std::vector<std::string> feature_names;
    for (std::size_t ci = 0; ci < data.columns.size(); ++ci) {
        const column& c = data.columns[ci];
        if (c.name == options.target || never_a_feature(options, c.name)) continue;
        // A column without a value in the training rows has nothing to learn from (and would be a feature
        // with no bins or categories): left out, and said.
        auto no_values = [&] {
            say(options, "WARNING: column " + c.name + " has no value in the training rows: not used");
        };
        if (c.numeric) {
            std::vector<double> v;
            for (auto r : ctx.train_rows)
                if (!std::isnan(c.numbers[r])) v.push_back(c.numbers[r]);
            if (v.empty()) {
                no_values();
                continue;
            }
            std::sort(v.begin(), v.end());
            ctx.numeric_cols.push_back(ci);
            ctx.sorted_train_values[ci] = std::move(v);
        } else {
            std::vector<std::string> cats;
            for (auto r : ctx.train_rows)
                if (!c.text[r].empty()) cats.push_back(c.text[r]);
            std::sort(cats.begin(), cats.end());
            cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
            if (cats.empty()) {
                no_values();
                continue;
            }
            if (cats.size() > options.max_categories)
                return error{"column " + c.name + " has " + std::to_string(cats.size()) +
                                 " distinct values in the training rows, more than " +
                                 std::to_string(options.max_categories) +
                                 " (an identifier or free text?): --exclude it, or raise --max-categories",
                             "column " + c.name};
            ctx.categorical_cols.push_back(ci);
            std::vector<std::int32_t> codes(data.rows());
            for (std::size_t r = 0; r < data.rows(); ++r) {
                if (c.text[r].empty()) { codes[r] = missing_code; continue; }
                auto it = std::lower_bound(cats.begin(), cats.end(), c.text[r]);
                codes[r] = it != cats.end() && *it == c.text[r] ? static_cast<std::int32_t>(it - cats.begin()) : unknown_code;
            }
            ctx.categories[ci] = std::move(cats);
            ctx.codes[ci] = std::move(codes);
        }
        feature_names.push_back(c.name);
    }
    if (feature_names.empty()) return error{"no feature columns left after excluding the target and ids", ""};
    for (const auto& [a, b] : options.crosses)
        for (const auto& name : {a, b}) {
            bool categorical = false;
            for (auto ci : ctx.categorical_cols) categorical |= data.columns[ci].name == name;
            if (!categorical) return error{"'" + name + "' is not a categorical feature column", "--cross"};
        }
    const std::string age_field = options.age_field.value_or("person_age");
    bool age_is_numeric_feature = false;
    for (auto ci : ctx.numeric_cols) age_is_numeric_feature |= data.columns[ci].name == age_field;
    if (auto s = holdout_outside_domains(ctx); !s) return s.err();
    if (options.age_field && !age_field.empty() && !age_is_numeric_feature)
        return error{"'" + age_field + "' is not a numeric feature column: the age bands read the model's own input",
                     "--age-field"};
    for (const auto& [name, r] : options.domains)
        for (auto ci : ctx.categorical_cols)
            if (data.columns[ci].name == name)
                return error{"'" + name + "' is a categorical column: a domain bounds numbers", "--domain"};

    train_report report;
    report.leakage_warnings = leakage_diagnostic(data, ctx.y, ctx.train_rows, feature_names);
    for (const auto& w : report.leakage_warnings) say(options, "WARNING: " + w);

    plan_config cfg;
    if (options.kind == "plain") {
        cfg.l2 = options.l2 > 0 ? options.l2 : 1.0;
        cfg.crosses = options.crosses;
    } else {
        cfg = tune(ctx);
    }
    auto terms = make_terms(ctx, cfg);
    for (const term& t : terms) {
        if (t.f.type != core::feature_type::numeric) continue;
        if (!std::isfinite(t.f.scale))
            return error{"the values of " + t.f.name + " are too far apart to standardize: use --kind scorecard "
                         "(bins), or --exclude the column", "column " + t.f.name};
        say_inferred_domain(ctx, data.columns[t.source], t.f.domain);
    }
    design x = encode(ctx, terms);
    irls_fit fit = fit_logistic(x, ctx.y, irls_options{cfg.l2}, ctx.train_rows);
    say(options, "fit: " + std::to_string(fit.iterations) + " Newton iterations, converged " + (fit.converged ? "yes" : "no"));
    // Weights still moving when the iterations ran out are not a model to lend on.
    if (!fit.converged)
        return error{"the fit did not converge in " + std::to_string(fit.iterations) +
                         " Newton iterations (a feature may separate the classes perfectly): try a larger --l2, or "
                         "--exclude the feature",
                     ""};
    core::model m = assemble(ctx, terms, fit);
    m.age_field = age_is_numeric_feature ? age_field : "";
    m.age_field_written = m.age_field != core::default_age_field(m);  // the key only when it says something

    std::vector<double> contribution_sums;
    auto train_pd = score_rows(m, data, ctx.train_rows, &contribution_sums);
    if (!train_pd) return train_pd.err();
    // The average applicant's contribution of each feature, which reason codes measure from.
    for (std::size_t k = 0; k < m.features.size(); ++k)
        m.features[k].mean_contribution =
            rounded(contribution_sums[k] / static_cast<double>(ctx.train_rows.size()), weight_digits),
        m.features[k].mean_contribution_written = true;
    m.training_pd = pd_deciles(*train_pd);
    std::vector<std::uint8_t> y_train, y_holdout;
    for (auto r : ctx.train_rows) y_train.push_back(ctx.y[r]);
    for (auto r : ctx.holdout_rows) y_holdout.push_back(ctx.y[r]);
    report.training = evaluate(*train_pd, y_train);
    if (!ctx.holdout_rows.empty()) {
        auto holdout_pd = score_rows(m, data, ctx.holdout_rows);
        if (!holdout_pd) return holdout_pd.err();
        report.holdout = evaluate(*holdout_pd, y_holdout);
    } else {
        report.holdout = evaluate({}, {});  // no rows: metrics undefined (null), not 0
    }

    io::json_writer metrics;
    metrics.begin_object();
    metrics.key("split").value("data row i (0-based, header excluded) is held out iff i % 5 == 4");
    metrics.key("holdout");
    metrics.begin_object();
    write_evaluation_fields(metrics, report.holdout, true, metric_digits);
    metrics.end_object();
    metrics.key("training");
    metrics.begin_object();
    write_evaluation_fields(metrics, report.training, false, metric_digits);
    metrics.end_object();
    metrics.end_object();
    m.metrics_json = metrics.take();

    io::json_writer training;
    training.begin_object();
    training.key("data_sha256").value(data.sha256);
    training.key("rows").value(data.rows()).key("training_rows").value(ctx.train_rows.size());
    training.key("holdout_rows").value(ctx.holdout_rows.size());
    training.key("options").begin_object();
    training.key("kind").value(options.kind).key("target").value(options.target);
    training.key("exposure").value(options.exposure);
    if (options.kind == "scorecard") training.key("bins").value(cfg.bins);
    training.key("l2").value(cfg.l2);
    training.key("crosses").begin_array();
    for (const auto& [a, b] : cfg.crosses) training.begin_array().value(a).value(b).end_array();
    training.end_array();
    training.key("tuned").value(options.kind == "scorecard" ? "5-fold cross-validated log-loss on the training rows" : "no");
    training.end_object();
    training.key("newton_iterations").value(fit.iterations);
    training.key("leakage_warnings").begin_array();
    for (const auto& w : report.leakage_warnings) training.value(w);
    training.end_array();
    training.end_object();
    m.training_json = training.take();

    m.model_version = core::content_version(m);
    report.model = std::move(m);
    return report;
}

}  // namespace loanrisk::train

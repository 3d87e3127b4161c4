// The one binary: `loanrisk serve | score | train | evaluate | bench`. Parses flags, calls the library,
// reports start-up failures as one clear line and a non-zero exit.
#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "loanrisk/batch.hpp"
#include "loanrisk/dataset.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/response_writer.hpp"
#include "loanrisk/scorer.hpp"
#include "loanrisk/synthetic.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/model.hpp"
#include "loanrisk/trainer.hpp"

namespace {

using namespace loanrisk;

constexpr const char* version_text = "loanrisk 0.1.0";

// A subcommand's flags: each known flag takes a value unless listed as a switch; repeats accumulate.
struct flags {
    std::map<std::string, std::vector<std::string>> values;
    bool has(const std::string& name) const { return values.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const {
        auto it = values.find(name);
        return it == values.end() ? fallback : it->second.back();
    }
    const std::vector<std::string>& all(const std::string& name) const {
        static const std::vector<std::string> none;
        auto it = values.find(name);
        return it == values.end() ? none : it->second;
    }
};

struct usage_error {
    std::string message;
};

flags parse_flags(int argc, char** argv, int first, const std::vector<std::string>& with_value,
                  const std::vector<std::string>& switches) {
    flags f;
    auto known = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    for (int i = first; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            f.values["help"].push_back("");
            continue;
        }
        if (arg.rfind("--", 0) != 0) throw usage_error{"unexpected argument '" + arg + "'"};
        std::string name = arg.substr(2), value;
        bool inline_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        if (known(switches, name)) {
            if (inline_value) throw usage_error{"--" + name + " takes no value"};
            f.values[name].push_back("");
        } else if (known(with_value, name)) {
            if (!inline_value) {
                if (i + 1 >= argc) throw usage_error{"--" + name + " needs a value"};
                value = argv[++i];
            }
            f.values[name].push_back(value);
        } else {
            throw usage_error{"unknown option --" + name};
        }
    }
    return f;
}

double number_flag(const flags& f, const std::string& name, double fallback) {
    if (!f.has(name)) return fallback;
    double d = 0;
    if (!train::parse_number(f.get(name), d)) throw usage_error{"--" + name + " expects a number, got '" + f.get(name) + "'"};
    return d;
}

std::string fixed(double x, int digits = 4) {
    std::string s;
    io::append_number(s, x, digits);
    return s;
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.insert(0, width - s.size(), ' ');
    return s;
}

void print(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

// ---- train -------------------------------------------------------------------------------------------

constexpr const char* train_help = R"(usage: loanrisk train --data FILE.csv --out MODEL.json [options]

Fits a logistic-regression PD model on a labelled CSV and writes the model artifact with its holdout
metrics. Data row i (0-based, header excluded) is held out iff i % 5 == 4; everything else trains.
The same data and options always give a byte-identical artifact.

options:
  --data FILE          labelled CSV (RFC 4180; an empty field is a missing value)
  --out FILE           where to write the artifact (default: stdout)
  --target NAME        0/1 target column (default: loan_status)
  --exposure NAME      numeric column used as the exposure for Expected Loss (default: loan_amnt)
  --kind KIND          scorecard (default): quantile bins with a missing bin, per-category weights and
                       crossed categoricals, tuned by 5-fold cross-validation on the training rows;
                       plain: median imputation, standardization, one-hot (scikit-learn's pipeline)
  --bins N             quantile bins per numeric feature (scorecard; default: tuned from 10..50)
  --l2 X               L2 penalty 0.5*X*|w|^2 (scikit-learn's 1/C; default: 1 for plain, tuned for scorecard)
  --cross A:B          use this cross of two categorical columns (repeatable; disables cross tuning)
  --no-crosses         no crossed categoricals
  --categorical NAME   treat a column as categorical even if it holds numbers (repeatable)
  --exclude NAME       do not use a column as a feature (repeatable; id columns are always excluded)
  --domain NAME=MIN:MAX  declared valid range of a numeric column, either side may be empty
                       (default: >= 0 when the training values are, and 0..1 or 0..100 for
                       columns named like percent/pct/rate)
  --quiet              no progress on stderr
)";

int run_train(const flags& f) {
    if (f.has("help")) return print(train_help), 0;
    if (!f.has("data")) throw usage_error{"--data is required"};
    train::train_options o;
    o.target = f.get("target", o.target);
    o.exposure = f.get("exposure", o.exposure);
    o.kind = f.get("kind", o.kind);
    o.bins = static_cast<int>(number_flag(f, "bins", 0));
    if (f.has("bins") && (o.bins < 2 || o.bins > 1000)) throw usage_error{"--bins must be between 2 and 1000"};
    o.l2 = number_flag(f, "l2", 0);
    if (f.has("l2") && !(o.l2 > 0)) throw usage_error{"--l2 must be > 0"};
    o.exclude = f.all("exclude");
    for (const auto& c : f.all("cross")) {
        auto colon = c.find(':');
        if (colon == std::string::npos) throw usage_error{"--cross expects A:B, got '" + c + "'"};
        o.crosses.emplace_back(c.substr(0, colon), c.substr(colon + 1));
        o.tune_crosses = false;
    }
    if (f.has("no-crosses")) o.tune_crosses = false, o.crosses.clear();
    for (const auto& d : f.all("domain")) {
        auto eq = d.find('='), colon = d.find(':', eq == std::string::npos ? 0 : eq);
        if (eq == std::string::npos || colon == std::string::npos) throw usage_error{"--domain expects NAME=MIN:MAX, got '" + d + "'"};
        core::value_range r;
        std::string lo = d.substr(eq + 1, colon - eq - 1), hi = d.substr(colon + 1);
        if (!lo.empty() && !train::parse_number(lo, r.min)) throw usage_error{"--domain: bad minimum '" + lo + "'"};
        if (!hi.empty() && !train::parse_number(hi, r.max)) throw usage_error{"--domain: bad maximum '" + hi + "'"};
        o.domains.emplace_back(d.substr(0, eq), r);
    }
    if (!f.has("quiet")) o.log = [](std::string_view line) { std::cerr << "train: " << line << '\n'; };

    train::dataset_options columns;
    columns.categorical = f.all("categorical");
    auto data = train::load_dataset(f.get("data"), columns);
    if (!data) throw std::runtime_error(data.err().message());
    auto report = train::train_model(*data, o);
    if (!report) throw std::runtime_error(report.err().message());

    std::string artifact = core::write_model(report->model);
    if (f.has("out")) {
        std::ofstream out(f.get("out"), std::ios::binary);
        if (!out || !out.write(artifact.data(), static_cast<std::streamsize>(artifact.size())))
            throw std::runtime_error("cannot write " + f.get("out"));
    } else {
        print(artifact);
    }
    if (o.log) {
        const auto& h = report->holdout;
        o.log("model " + report->model.model_version + ": holdout ROC-AUC " + fixed(h.roc_auc) + ", KS " + fixed(h.ks) +
              ", Brier " + fixed(h.brier) + ", ECE " + fixed(h.ece) + " on " + std::to_string(h.count) + " rows");
    }
    for (const auto& w : report->leakage_warnings) std::cerr << "WARNING: " << w << '\n';
    return 0;
}

// ---- evaluate ----------------------------------------------------------------------------------------

constexpr const char* evaluate_help = R"(usage: loanrisk evaluate --model MODEL.json --data FILE.csv [options]

Scores a labelled CSV with a model and prints ROC-AUC, Gini, KS, Brier, log-loss, expected calibration
error, the calibration table and a threshold table (approve when PD < cut-off, cut-offs 0.05..0.95)
with approval rate, default rate among approved, recall, precision and false-positive rate.

options:
  --model FILE     model artifact
  --data FILE      labelled CSV holding the model's feature columns and its target
  --rows WHICH     holdout (rows i % 5 == 4), training, or all (default: holdout when FILE is the
                   model's training data, all otherwise)
  --json           print the report as JSON
)";

int run_evaluate(const flags& f) {
    if (f.has("help")) return print(evaluate_help), 0;
    if (!f.has("model") || !f.has("data")) throw usage_error{"--model and --data are required"};
    auto m = core::load_model(f.get("model"));
    if (!m) throw std::runtime_error(m.err().message());
    auto data = train::load_dataset(f.get("data"), train::columns_for(*m));
    if (!data) throw std::runtime_error(data.err().message());
    auto y = train::labels(*data, m->target);
    if (!y) throw std::runtime_error(y.err().message());

    std::string which = f.get("rows");
    if (which.empty()) which = m->training_json.find(data->sha256) != std::string::npos ? "holdout" : "all";
    if (which != "holdout" && which != "training" && which != "all") throw usage_error{"--rows must be holdout, training or all"};
    std::vector<std::uint32_t> rows;
    std::vector<std::uint8_t> labels;
    for (std::uint32_t r = 0; r < data->rows(); ++r) {
        bool held = train::is_holdout(r);
        if (which == "all" || (which == "holdout") == held) rows.push_back(r), labels.push_back((*y)[r]);
    }
    auto pds = train::score_rows(*m, *data, rows);
    if (!pds) throw std::runtime_error(pds.err().message());
    auto e = train::evaluate(*pds, labels);

    if (f.has("json")) {
        io::json_writer w(true);
        w.begin_object().key("model_version").value(m->model_version).key("rows_used").value(which);
        w.key("count").value(e.count).key("defaults").value(e.defaults);
        w.key("roc_auc").value(e.roc_auc).key("gini").value(e.gini).key("ks").value(e.ks);
        w.key("brier").value(e.brier).key("log_loss").value(e.log_loss).key("ece").value(e.ece);
        w.key("calibration").begin_array();
        for (const auto& b : e.calibration)
            w.begin_object().key("lower").value(b.lower).key("upper").value(b.upper).key("count").value(b.count)
                .key("mean_pd").value(b.mean_pd).key("default_rate").value(b.default_rate).end_object();
        w.end_array().key("thresholds").begin_array();
        for (const auto& t : e.thresholds)
            w.begin_object().key("approve_below").value(t.cutoff).key("approval_rate").value(t.approval_rate)
                .key("default_rate_approved").value(t.default_rate_approved).key("recall").value(t.recall)
                .key("precision").value(t.precision).key("false_positive_rate").value(t.false_positive_rate).end_object();
        w.end_array().end_object();
        print(w.str() + "\n");
        return 0;
    }
    std::string out;
    out += "model       " + m->model_version + " (" + m->kind + ")\n";
    out += "rows        " + std::to_string(e.count) + " (" + which + "), defaults " + std::to_string(e.defaults) + "\n";
    out += "ROC-AUC     " + fixed(e.roc_auc) + "\n";
    out += "Gini        " + fixed(e.gini) + "\n";
    out += "KS          " + fixed(e.ks) + "\n";
    out += "Brier       " + fixed(e.brier) + "\n";
    out += "log-loss    " + fixed(e.log_loss) + "\n";
    out += "ECE         " + fixed(e.ece) + "  (10 equal-width bins)\n\n";
    out += "calibration\n     PD range   loans   mean PD  default rate\n";
    for (const auto& b : e.calibration)
        out += pad(fixed(b.lower, 2), 6) + " - " + pad(fixed(b.upper, 2), 4) + pad(std::to_string(b.count), 8) +
               pad(fixed(b.mean_pd), 10) + pad(fixed(b.default_rate), 14) + "\n";
    out += "\nthresholds (approve when PD < cut-off)\n"
           " cut-off  approval  default rate      recall   precision        FPR\n"
           "              rate   of approved\n";
    for (const auto& t : e.thresholds)
        out += pad(fixed(t.cutoff, 2), 8) + pad(fixed(t.approval_rate), 10) + pad(fixed(t.default_rate_approved), 14) +
               pad(fixed(t.recall), 12) + pad(fixed(t.precision), 12) + pad(fixed(t.false_positive_rate), 11) + "\n";
    print(out);
    return 0;
}

// ---- bench -------------------------------------------------------------------------------------------

constexpr const char* bench_help = R"(usage: loanrisk bench [--model MODEL.json] [--loans N] [--threads T]

In-process throughput on this machine, no code to write: generates N loans from the model's own feature
distributions (its quantile bins and categories), then times each stage: decoding a JSON /batch_predict
body and a CSV body, scoring (kernel + policy + Expected Loss + portfolio summary) with every
instruction set this CPU runs, and encoding the JSON response. Prints loans/s and ns/loan per stage.

options:
  --model FILE   model artifact (default: models/credit_risk_pd.json)
  --loans N      portfolio size (default: 1000000)
  --threads T    threads for the multi-threaded scoring row (default: one per core)
)";

// Best of `runs` wall-clock timings of f(), in seconds.
template <class F>
double best_time(int runs, F&& f) {
    double best = 1e300;
    for (int r = 0; r < runs; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

int run_bench(const flags& f) {
    if (f.has("help")) return print(bench_help), 0;
    auto loaded = core::load_model(f.get("model", "models/credit_risk_pd.json"));
    if (!loaded) throw std::runtime_error(loaded.err().message());
    double loans_flag = number_flag(f, "loans", 1e6);
    if (!(loans_flag >= 1 && loans_flag <= 1e9)) throw usage_error{"--loans must be between 1 and 1e9"};
    const auto n = static_cast<std::size_t>(loans_flag);
    unsigned threads = static_cast<unsigned>(number_flag(f, "threads", std::max(1u, std::thread::hardware_concurrency())));
    auto model = std::make_shared<const core::model>(std::move(*loaded));
    auto compiled = core::compile(model);
    if (!compiled) throw std::runtime_error(compiled.err().message());
    const core::compiled_model& m = *compiled;

    std::cerr << "generating " << n << " loans...\n";
    const std::string json = io::synthetic_portfolio(*model, n, io::text_format::json_batch);
    const std::string csv = io::synthetic_portfolio(*model, n, io::text_format::csv);

    std::string out = std::string(version_text) + ", " + std::to_string(n) + " loans, kernel chosen at run time: " +
                      core::best_kernel() + "\n\n";
    out += "stage                          loans/s     ns/loan      MB/s\n";
    auto row = [&](const std::string& stage, double seconds, double bytes) {
        double rate = static_cast<double>(n) / seconds;
        std::string line = stage;
        line.resize(26, ' ');
        line += pad(fixed(rate, 4), 13) + pad(fixed(1e9 / rate, 3), 12) + pad(bytes > 0 ? fixed(bytes / seconds / 1e6, 4) : "-", 10);
        out += line + "\n";
    };
    core::loan_batch batch;
    auto decode_json = [&] {
        batch.reset(m);
        batch.reserve(n);
        if (auto s = io::decode_json_batch(json, m, batch); !s) throw std::runtime_error(s.err().message());
    };
    row("decode JSON", best_time(3, decode_json), static_cast<double>(json.size()));
    row("decode CSV", best_time(3, [&] {
            batch.reset(m);
            batch.reserve(n);
            io::csv_decoder d(m);
            if (auto s = d.feed(csv, batch); !s) throw std::runtime_error(s.err().message());
            if (auto s = d.finish(batch); !s) throw std::runtime_error(s.err().message());
        }), static_cast<double>(csv.size()));
    core::scored_batch scored;
    core::portfolio_accumulator acc;
    for (const auto& k : core::available_kernels()) {
        core::score_options o;
        o.kernel = k;
        o.threads = 1;
        row("score " + k + ", 1 thread", best_time(3, [&] {
                acc.reset(m, {});
                core::score_batch(m, batch, o, scored, acc);
            }), 0);
    }
    core::score_options all;
    all.threads = threads;
    row("score " + core::best_kernel() + ", " + std::to_string(threads) + " threads", best_time(3, [&] {
            acc.reset(m, {});
            core::score_batch(m, batch, all, scored, acc);
        }), 0);
    std::string body;
    auto summary = core::summarize(m, acc, {});
    row("encode JSON response", best_time(3, [&] {
            body.clear();
            io::append_batch_response_json(body, m, batch, scored, summary, all.rules, true, false);
        }), static_cast<double>(body.size()));
    print(out);
    return 0;
}

// ---- later subcommands ------------------------------------------------------------------------------

int not_yet(const std::string& name, int argc, char** argv) {
    bool help = false;
    for (int i = 2; i < argc; ++i) help |= !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h");
    if (help) {
        print("usage: loanrisk " + name + " [options]\n\nnot yet available in this build.\n");
        return 0;
    }
    std::cerr << "loanrisk " << name << ": not yet available in this build\n";
    return 2;
}

constexpr const char* main_help = R"(usage: loanrisk <command> [options]

commands:
  serve      the HTTP scoring server            (not yet available)
  score      bulk rescoring of CSV / NDJSON     (not yet available)
  train      fit a model artifact from a labelled CSV
  evaluate   metrics of a model on a labelled CSV
  bench      in-process throughput of decode, score and encode on this machine

`loanrisk <command> --help` describes each command.
)";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
        print(main_help);
        return argc < 2 ? 2 : 0;
    }
    std::string command = argv[1];
    if (command == "--version") {
        // The instruction set is chosen at run time; say which, and what else this CPU could run.
        std::string kernels;
        for (const auto& k : core::available_kernels()) kernels += " " + k;
        return print(std::string(version_text) + "\nkernel: " + core::best_kernel() + " (available:" + kernels + ")\n"), 0;
    }
    try {
        if (command == "train")
            return run_train(parse_flags(argc, argv, 2,
                                         {"data", "out", "target", "exposure", "kind", "bins", "l2", "cross", "categorical",
                                          "exclude", "domain"},
                                         {"no-crosses", "quiet"}));
        if (command == "evaluate") return run_evaluate(parse_flags(argc, argv, 2, {"model", "data", "rows"}, {"json"}));
        if (command == "bench") return run_bench(parse_flags(argc, argv, 2, {"model", "loans", "threads"}, {}));
        if (command == "serve" || command == "score") return not_yet(command, argc, argv);
        std::cerr << "loanrisk: unknown command '" << command << "'\n" << main_help;
        return 2;
    } catch (const usage_error& e) {
        std::cerr << "loanrisk " << command << ": " << e.message << " (see loanrisk " << command << " --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "loanrisk " << command << ": " << e.what() << '\n';
        return 1;
    }
}

// The one binary: `loanrisk serve | score | train | evaluate | bench`. Parses flags, calls the library,
// reports start-up failures as one clear line and a non-zero exit.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loanrisk/batch.hpp"
#include "loanrisk/dataset.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/response_writer.hpp"
#include "loanrisk/scorer.hpp"
#include "loanrisk/server.hpp"
#include "loanrisk/synthetic.hpp"
#include "score_pipeline.hpp"
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
    // The value of a flag that takes one: the last given, so that a later one overrides a default put before
    // it (`tools/dev serve --port 9090`, LOANRISK_OPTS after the systemd unit's flags); all() reads the flags
    // that collect every value.
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

// A whole-number flag within [min, max] (a fraction such as --threads 2.7 is refused, not truncated).
std::size_t count_flag(const flags& f, const std::string& name, double fallback, double min, double max) {
    double v = number_flag(f, name, fallback);
    if (!(v >= min && v <= max) || v != std::floor(v))
        throw usage_error{"--" + name + " must be a whole number between " + fixed(min, 12) + " and " + fixed(max, 12)};
    return static_cast<std::size_t>(v);
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.insert(0, width - s.size(), ' ');
    return s;
}

void print(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

// `--version`: the version and the instruction sets chosen at run time (with `available`, what else this CPU
// could run the kernel with).
std::string version_lines(bool available) {
    std::string kernel = core::best_kernel();
    if (available) {
        kernel += " (available:";
        for (const auto& k : core::available_kernels()) kernel += " " + k;
        kernel += ")";
    }
    return std::string(version_text) + "\nkernel: " + kernel + "\njson structure: " + io::json_structure_finder() +
           "\ncsv numbers: " + std::string(io::csv_number_parser()) + "\n";
}

// The model a command uses without --model: models/credit_risk_pd.json under the working directory (a
// checkout), else the one installed beside the binary (<prefix>/share/loanrisk/models/, where the package
// puts it); when neither exists, the first, so that the error names the path looked for first.
std::string model_flag(const flags& f) {
    if (f.has("model")) return f.get("model");
    const std::filesystem::path local = "models/credit_risk_pd.json";
    std::error_code ec;
    if (std::filesystem::is_regular_file(local, ec)) return local.string();
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto installed = exe.parent_path().parent_path() / "share/loanrisk/models/credit_risk_pd.json";
        if (std::filesystem::is_regular_file(installed, ec)) return installed.string();
    }
    return local.string();
}

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
                       (default: >= 0 when the training rows' values are, and 0..1 or 0..100 for
                       columns named like percent/pct/rate; each inferred range is printed, and a
                       holdout value outside one stops the run with its line)
  --max-categories N   refuse a categorical column with more distinct training values (default 1000:
                       an identifier or free text makes a weight per value)
  --age-field NAME     the numeric feature whose value places a loan in an age band of the portfolio
                       summary (approval rates, disparate-impact ratio); "" for none (default:
                       person_age where the model has it)
  --quiet              no progress on stderr

A missing value is an empty field; NA, NaN, NULL and the like in a column otherwise of numbers are refused
with their line. The artifact is written under a temporary name beside --out and renamed over it once it is complete
and loads back, so a server reloading the file never reads part of one.
)";

// --out: written under a temporary name beside the file (mkstemp), created before training so that a path
// that cannot be written fails at once, not after the fit, and renamed over it at the end with the old
// file's permissions, owner and group (where the user may set them): a server reloading the file (SIGHUP,
// /admin/reload) never reads part of a model, and a failed or interrupted run leaves the old one. Written
// through the descriptor mkstemp opened, then synced with its directory. A name for an open descriptor
// (/dev/stdout, /dev/fd/1, /proc/self/fd/1: appended to, as the shell opened it) or a path to anything but a
// regular file is written as it is.
volatile std::sig_atomic_t staged_temp_set = 0;
char staged_temp[4096];
constexpr int staged_signals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction staged_previous[std::size(staged_signals)];

void remove_staged_temp(int sig) {
    if (staged_temp_set) ::unlink(staged_temp);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

class staged_output {
public:
    explicit staged_output(const std::string& path) : path_(path) {
        if (cli::names_a_descriptor(path)) return;
        std::error_code ec;
        const std::filesystem::path target = std::filesystem::weakly_canonical(path, ec);
        struct stat st {};
        const bool exists = !ec && ::stat(target.c_str(), &st) == 0;
        if (ec || (exists && !S_ISREG(st.st_mode)) || target.string().size() + 16 >= sizeof staged_temp) return;
        final_ = target.string();
        // The handler's copy of the name is in place before mkstemp creates the file (it writes the name
        // first): a signal at any point removes what exists. Signals the shell had ignored (nohup, a
        // background job's SIGINT) stay ignored.
        const std::string pattern = final_ + ".partial-XXXXXX";
        std::memcpy(staged_temp, pattern.c_str(), pattern.size() + 1);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        staged_temp_set = 1;
        for (std::size_t k = 0; k < std::size(staged_signals); ++k) {
            struct sigaction handler {};
            handler.sa_handler = remove_staged_temp;
            ::sigaction(staged_signals[k], nullptr, &staged_previous[k]);
            if (staged_previous[k].sa_handler != SIG_IGN) ::sigaction(staged_signals[k], &handler, nullptr);
        }
        fd_ = ::mkstemp(staged_temp);
        if (fd_ < 0) {
            const int e = errno;
            release();
            throw std::runtime_error("cannot create a temporary file in " + target.parent_path().string() + " (to replace " +
                                     path + " whole): " + std::strerror(e));
        }
        temp_ = staged_temp;
        mode_t mode = st.st_mode & 07777;
        if (!exists) {
            mode = ::umask(0);
            ::umask(mode);
            mode = 0666 & ~mode;
        } else if (::fchown(fd_, st.st_uid, st.st_gid) != 0) {
            const bool group_kept = ::fchown(fd_, static_cast<uid_t>(-1), st.st_gid) == 0;
            std::cerr << "train: warning: " << path << " will belong to this user" << (group_kept ? "" : " and group")
                      << ", not to its current owner\n";
        }
        ::fchmod(fd_, mode);
    }
    staged_output(const staged_output&) = delete;
    staged_output& operator=(const staged_output&) = delete;
    ~staged_output() {
        if (fd_ >= 0) ::close(fd_);
        if (!temp_.empty()) ::unlink(temp_.c_str());
        release();
    }

    void commit(const std::string& bytes) {
        auto failed = [&] { return std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno)); };
        if (fd_ < 0) {
            // A stream (/dev/stdout reopens what the shell opened: appended to, as `>>` asks, never cut short).
            const bool stream = cli::names_a_descriptor(path_);
            std::ofstream out(path_, std::ios::binary | (stream ? std::ios::app : std::ios::trunc));
            if (!out || !out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !out.flush()) throw failed();
            return;
        }
        for (std::size_t done = 0; done < bytes.size();) {
            const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw failed();
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd_) != 0 || ::close(std::exchange(fd_, -1)) != 0) throw failed();
        if (std::rename(temp_.c_str(), final_.c_str()) != 0) throw failed();
        temp_.clear();
        release();
        const std::string dir = std::filesystem::path(final_).parent_path().string();
        if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); d >= 0) {  // the rename itself, durable
            ::fsync(d);
            ::close(d);
        }
    }

private:
    // The signals' previous dispositions back, and the handler's name dropped.
    void release() {
        if (final_.empty() || !staged_temp_set) return;
        for (std::size_t k = 0; k < std::size(staged_signals); ++k) ::sigaction(staged_signals[k], &staged_previous[k], nullptr);
        staged_temp_set = 0;
    }

    std::string path_, final_, temp_;
    int fd_ = -1;
};

int run_train(const flags& f) {
    if (f.has("help")) return print(train_help), 0;
    if (!f.has("data")) throw usage_error{"--data is required"};
    train::train_options o;
    o.target = f.get("target", o.target);
    o.exposure = f.get("exposure", o.exposure);
    o.kind = f.get("kind", o.kind);
    if (f.has("bins")) o.bins = static_cast<int>(count_flag(f, "bins", 0, 2, 1000));
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
    if (f.has("max-categories")) o.max_categories = count_flag(f, "max-categories", 0, 1, 60000);
    if (f.has("age-field")) o.age_field = f.get("age-field");
    if (!f.has("quiet")) o.log = [](std::string_view line) { std::cerr << "train: " << line << '\n'; };
    std::unique_ptr<staged_output> out;
    if (f.has("out")) out = std::make_unique<staged_output>(f.get("out"));

    const train::dataset_options columns = train::columns_for(o, f.all("categorical"));
    auto data = train::load_dataset(f.get("data"), columns);
    if (!data) throw std::runtime_error(data.err().message());
    for (const auto& name : columns.categorical)
        if (!data->find(name)) throw std::runtime_error("--categorical: no column '" + name + "' in the data");
    auto report = train::train_model(*data, o);
    if (!report) throw std::runtime_error(report.err().message());

    std::string artifact = core::write_model(report->model);
    // What serve, score and evaluate will read: a model that does not load is never written.
    if (auto back = core::parse_model(artifact); !back)
        throw std::runtime_error("the trained model does not load back (" + back.err().message() +
                                 "); nothing was written. Please report this with the data's header and options.");
    if (out) out->commit(artifact);
    else print(artifact);
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
with approval rate, default rate among approved, recall, precision and false-positive rate. In that
table a loan not approved (sent to review or rejected) is a positive and a default is a true one:
recall = defaults not approved / all defaults; precision = defaults / loans not approved; false-positive
rate = good loans not approved / all good loans.

options:
  --model FILE     model artifact
  --data FILE      labelled CSV holding the model's feature columns and its target
  --rows WHICH     holdout (rows i % 5 == 4), training, or all (default: holdout when FILE is the
                   model's training data, byte for byte (its SHA-256), all otherwise)
  --json           print the report as JSON
)";

int run_evaluate(const flags& f) {
    if (f.has("help")) return print(evaluate_help), 0;
    if (!f.has("model") || !f.has("data")) throw usage_error{"--model and --data are required"};
    auto m = core::load_model(f.get("model"));
    if (!m) throw std::runtime_error(m.err().message());
    auto data = train::load_dataset(f.get("data"), train::columns_for(*m));
    if (!data) throw std::runtime_error(data.err().message());
    // Scoring a feature as missing on every row would give other metrics than the model's, quietly.
    if (const auto absent = train::absent_features(*m, *data); !absent.empty()) {
        std::string names;
        for (const auto& name : absent) names += (names.empty() ? "" : ", ") + name;
        throw std::runtime_error(f.get("data") + ": no column for the model's feature(s) " + names);
    }
    auto y = train::labels(*data, m->target);
    if (!y) throw std::runtime_error(y.err().message());

    std::string which = f.get("rows");
    if (which.empty()) {
        which = m->training_json.find(data->sha256) != std::string::npos ? "holdout" : "all";
        if (which == "all")
            std::cerr << "evaluate: " << f.get("data") << " is not the model's training file (another SHA-256): every "
                         "row is scored. If it holds the training rows, saved differently, pass --rows holdout.\n";
    }
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
        train::write_evaluation_fields(w, e, true, 17);
        w.end_object();
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
    out += "\nthresholds (approve when PD < cut-off; positive: not approved. recall = defaults not approved / defaults,\n"
           "precision = defaults / not approved, FPR = good loans not approved / good loans)\n"
           " cut-off  approval  default rate      recall   precision        FPR\n"
           "              rate   of approved\n";
    for (const auto& t : e.thresholds)
        out += pad(fixed(t.cutoff, 2), 8) + pad(fixed(t.approval_rate), 10) + pad(fixed(t.default_rate_approved), 14) +
               pad(fixed(t.recall), 12) + pad(fixed(t.precision), 12) + pad(fixed(t.false_positive_rate), 11) + "\n";
    print(out);
    return 0;
}

// ---- score -------------------------------------------------------------------------------------------

constexpr const char* score_help = R"(usage: loanrisk score [options] [--input FILE] [--output FILE]

Bulk rescoring: reads loans as CSV (with a header line) or NDJSON from a file or stdin, writes one scored
line per input row, in input order, to a file or stdout, and the portfolio summary (the same as the
server's) as JSON to --summary FILE or stderr. Streams in blocks on every core: memory stays bounded
whatever the input size. Usable as a stage of Spark (RDD.pipe), Hadoop Streaming or Dask: stdin to stdout,
--no-header, and mergeable partial summaries. NDJSON is one loan object per line: a JSON document of loans
({"items": [...]} or [...]) is refused with the jq filter that converts it, and so is a first line (like a
CSV header) that names none of the model's input fields.

options:
  --model FILE           model artifact (default: models/credit_risk_pd.json here, else the installed one)
  --input FILE           input file, or - for stdin (default: -)
  --output FILE          output file, or - for stdout (default: -)
  --format csv|ndjson    input format (default: from the file name, else the first character)
  --output-format csv|ndjson   output format (default: as the input)
  --no-header            no header line on CSV output
  --keep-columns         pass each input record through, with the scores appended (an input that has
                         score's columns already is refused; a bad record whose fields do not line up is
                         written with its input columns empty)
  --explain              add score points and the top 3 reason codes
  --on-error fail|skip|report  a bad row stops the run with its line and field (fail, the default),
                         is left out and counted in the summary (skip), or gets an output line with
                         decision ERROR and the reason (report)
  --summary FILE         where to write the summary JSON (default: stderr; - or /dev/stdout: as the last
                         line of the scored output on stdout)
  --summary-format full|partial  partial: a mergeable accumulator, for one stage of a distributed job
  --merge-summaries      merge the partial summaries given as --input (repeatable) into the final one
  --group-by A,B         categorical fields for Expected Loss by group (default: loan_grade,loan_intent)
  --approve-max X --reject-min X --lgd X   policy (defaults 0.30, 0.60, 0.60)
  --threads N            worker threads (default: one per core)
  --block-bytes N        input bytes per block of work (default: 1048576); memory is about
                         (2 x threads + 2) blocks, plus, under skip or report, one record being
                         waited for (at most 64 MiB; fail stops at a record past 1 MiB)
  --quiet                no progress line on a terminal
)";

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        if (comma > start) out.push_back(s.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

cli::stream_format format_flag(const flags& f, const std::string& name) {
    std::string v = f.get(name);
    if (v.empty()) return cli::stream_format::automatic;
    if (v == "csv") return cli::stream_format::csv;
    if (v == "ndjson" || v == "jsonl") return cli::stream_format::ndjson;
    throw usage_error{"--" + name + " must be csv or ndjson"};
}

core::policy policy_flags(const flags& f) {
    core::policy p;
    p.approve_max = number_flag(f, "approve-max", p.approve_max);
    p.reject_min = number_flag(f, "reject-min", p.reject_min);
    p.lgd = number_flag(f, "lgd", p.lgd);
    if (!p.valid()) throw usage_error{"the policy needs 0 <= approve-max <= reject-min <= 1 and 0 <= lgd <= 1"};
    return p;
}

int run_score(const flags& f) {
    if (f.has("help")) return print(score_help), 0;
    cli::score_job job;
    job.model_path = model_flag(f);
    job.rules = policy_flags(f);
    job.policy_given = {f.has("approve-max"), f.has("reject-min"), f.has("lgd")};
    if (f.has("group-by")) job.group_by = split_list(f.get("group-by")), job.group_by_given = true;
    job.summary_path = f.get("summary");
    if (f.has("merge-summaries")) {
        if (f.all("input").empty()) throw usage_error{"--merge-summaries needs the partial summaries as --input FILE"};
        return cli::merge_summaries(job, f.all("input"));
    }
    // Several inputs are for --merge-summaries: one run scores one input (the last would win, the others unread).
    if (f.all("input").size() > 1)
        throw usage_error{"--input is given " + std::to_string(f.all("input").size()) +
                          " times: score reads one input (several are for --merge-summaries)"};
    job.input = f.get("input", "-");
    job.output = f.get("output", "-");
    job.input_format = format_flag(f, "format");
    job.output_format = format_flag(f, "output-format");
    job.header = !f.has("no-header");
    job.keep_columns = f.has("keep-columns");
    job.explain = f.has("explain");
    std::string mode = f.get("on-error", "fail");
    if (mode == "fail") job.errors = cli::on_error::fail;
    else if (mode == "skip") job.errors = cli::on_error::skip;
    else if (mode == "report") job.errors = cli::on_error::report;
    else throw usage_error{"--on-error must be fail, skip or report"};
    if ((job.summary_path == "-" || job.summary_path == "/dev/stdout") && job.output != "-")
        throw usage_error{"--summary - writes the summary after the scored rows on stdout: use it without --output"};
    std::string summary_format = f.get("summary-format", "full");
    if (summary_format != "full" && summary_format != "partial") throw usage_error{"--summary-format must be full or partial"};
    job.partial_summary = summary_format == "partial";
    job.threads = static_cast<unsigned>(count_flag(f, "threads", 0, 0, 1024));
    job.block_bytes = count_flag(f, "block-bytes", static_cast<double>(job.block_bytes), 1024, 1e9);
    job.progress = !f.has("quiet");
    return cli::run_score_job(job);
}

// ---- bench -------------------------------------------------------------------------------------------

constexpr const char* bench_help = R"(usage: loanrisk bench [--model MODEL.json] [--loans N] [--threads T]

In-process throughput on this machine, no code to write: generates N loans from the model's own feature
distributions (its quantile bins and categories), then times each stage: decoding the same loans as a JSON
/batch_predict body, NDJSON and CSV, scoring (kernel + policy + Expected Loss + portfolio summary) with
every instruction set this CPU runs, and encoding the JSON response. Prints loans/s and ns/loan per stage.
Memory: about 1.5 KB per loan; N past what the machine (or its container) has available is refused.

options:
  --model FILE   model artifact (default: models/credit_risk_pd.json here, else the installed one)
  --loans N      portfolio size (default: 1000000)
  --threads T    threads for decoding and the multi-threaded scoring row (default: one per core);
                 encoding uses every core
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

int bench(std::shared_ptr<const core::model> model, std::size_t n, unsigned threads);

// Bytes `loanrisk bench` holds per loan at its peak, while decoding: the three bodies (JSON ~290, NDJSON ~280,
// CSV ~70), the batch and its scores, the decoders' scratch, with room to spare (measured: 1,365 at 1 M loans).
constexpr double bench_bytes_per_loan = 1536;

// The memory this process may still take, in bytes: MemAvailable of /proc/meminfo, or less when a cgroup
// (a container) limits it to less; 0 when neither can be read (no check then).
double available_memory() {
    double available = 0;
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    double kib = 0;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") available = kib * 1024;
    double limit = 0, used = 0;
    const bool limited = (std::ifstream("/sys/fs/cgroup/memory.max") >> limit) &&
                         (std::ifstream("/sys/fs/cgroup/memory.current") >> used);
    if (limited && limit > used && (available == 0 || limit - used < available))
        available = limit - used;  // "max" (no limit) does not read as a number
    return available;
}

int run_bench(const flags& f) {
    if (f.has("help")) return print(bench_help), 0;
    const std::size_t n = count_flag(f, "loans", 1e6, 1, 1e9);
    const auto threads = static_cast<unsigned>(count_flag(f, "threads", std::max(1u, std::thread::hardware_concurrency()), 1, 1024));
    const double needed = static_cast<double>(n) * bench_bytes_per_loan, available = available_memory();
    if (available > 0 && needed > available)
        throw std::runtime_error("--loans " + std::to_string(n) + " needs about " + fixed(needed / 1e9, 3) + " GB of memory; " +
                                 fixed(available / 1e9, 3) + " GB is available");
    auto loaded = core::load_model(model_flag(f));
    if (!loaded) throw std::runtime_error(loaded.err().message() + (f.has("model") ? "" : " (no --model given)"));
    try {
        return bench(std::make_shared<const core::model>(std::move(*loaded)), n, threads);
    } catch (const std::bad_alloc&) {  // more than MemAvailable said, or no /proc/meminfo
        throw std::runtime_error("out of memory for --loans " + std::to_string(n) + " (about " + fixed(needed / 1e9, 3) +
                                 " GB needed)");
    }
}

int bench(std::shared_ptr<const core::model> model, std::size_t n, unsigned threads) {
    auto compiled = core::compile(model);
    if (!compiled) throw std::runtime_error(compiled.err().message());
    const core::compiled_model& m = *compiled;

    std::cerr << "generating " << n << " loans...\n";
    const std::string json = io::synthetic_portfolio(*model, n, io::text_format::json_batch);
    const std::string ndjson = io::synthetic_portfolio(*model, n, io::text_format::ndjson);
    const std::string csv = io::synthetic_portfolio(*model, n, io::text_format::csv);

    std::string out = std::string(version_text) + ", " + std::to_string(n) + " loans, kernel chosen at run time: " +
                      core::best_kernel() + ", JSON structure: " + io::json_structure_finder() +
                      ", CSV numbers: " + std::string(io::csv_number_parser()) + "\n\n";
    out += "stage                          loans/s     ns/loan      MB/s\n";
    auto row = [&](const std::string& stage, double seconds, double bytes) {
        double rate = static_cast<double>(n) / seconds;
        std::string line = stage;
        line.resize(26, ' ');
        line += pad(fixed(rate, 4), 13) + pad(fixed(1e9 / rate, 3), 12) + pad(bytes > 0 ? fixed(bytes / seconds / 1e6, 4) : "-", 10);
        out += line + "\n";
    };
    core::loan_batch batch;
    const std::string all_threads = std::to_string(threads) + " threads";
    // Each decode must give back every loan: a rate over loans it dropped would be no rate at all.
    auto decoded = [&](status s, const char* format) {
        if (!s) throw std::runtime_error(std::string("decoding the ") + format + " body: " + s.err().message());
        if (batch.size != n)
            throw std::runtime_error(std::string("decoding the ") + format + " body gave " + std::to_string(batch.size) +
                                     " loans of " + std::to_string(n));
    };
    // Large bodies are decoded on every core the limits allow: one, then all of them.
    for (unsigned t : {1u, threads}) {
        io::decode_limits limits;
        limits.threads = t;
        limits.max_items = n;  // past the server's default (50 M) too: these are the loans asked for
        const std::string on = t == 1 ? ", 1 thread" : ", " + all_threads;
        row("decode JSON" + on, best_time(3, [&] {
                batch.reset(m);
                batch.reserve(n);
                decoded(io::decode_json_batch(json, m, batch, limits), "JSON");
            }), static_cast<double>(json.size()));
        // The streaming decoders: the whole body fed at once, then finished.
        auto fed_whole = [&](const char* format, const std::string& body, auto make_decoder) {
            row(std::string("decode ") + format + on, best_time(3, [&] {
                    batch.reset(m);
                    batch.reserve(n);
                    auto d = make_decoder();
                    status s = d.feed(body, batch);
                    decoded(s ? d.finish(batch) : s, format);
                }), static_cast<double>(body.size()));
        };
        fed_whole("NDJSON", ndjson, [&] { return io::ndjson_decoder(m, limits); });
        fed_whole("CSV", csv, [&] { return io::csv_decoder(m, limits); });
        if (threads == 1) break;
    }
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
    if (threads > 1) {
        row("score " + core::best_kernel() + ", " + all_threads, best_time(3, [&] {
                acc.reset(m, {});
                core::score_batch(m, batch, all, scored, acc);
            }), 0);
    }
    std::string body;
    auto summary = core::summarize(m, acc, {});
    const double encode_seconds = best_time(3, [&] {
        body.clear();
        io::append_batch_response_json(body, m, batch, scored, summary, all.rules, true, false);
    });
    row("encode JSON, every core", encode_seconds, static_cast<double>(body.size()));  // the size once written
    print(out);
    return 0;
}

// ---- serve -------------------------------------------------------------------------------------------

constexpr const char* serve_help = R"(usage: loanrisk serve [--model MODEL.json] [--port N] [options]

The HTTP scoring server (API in ../shared/SPEC.md section 3; every route in GET /openapi.json):
GET /health /ready /model /metrics /stats /openapi.json /, POST /predict /batch_predict /admin/reload.
HTTP/1.1 keep-alive and pipelining; SIGTERM/SIGINT drain (in-flight requests finish, then exit 0);
SIGHUP reloads the model file.

options:
  --model FILE          model artifact (default: models/credit_risk_pd.json here, else the installed one)
  --host ADDR           address to listen on (default: 0.0.0.0)
  --port N              port (default: 8080; 0 picks a free one, printed on the start-up line)
  --threads N           I/O threads, one listener each (default: one per core)
  --score-threads N     threads decoding and scoring one large batch (default: one per core)
  --approve-max X       PD below X: APPROVE (default 0.30; env LOANRISK_APPROVE_MAX)
  --reject-min X        PD at or above X: REJECT, in between MANUAL_REVIEW (default 0.60; env LOANRISK_REJECT_MIN)
  --lgd X               loss given default for Expected Loss (default 0.60; env LOANRISK_LGD)
  --max-body-bytes N    request body limit, 413 above it (default: 268435456 = 256 MiB)
  --max-response-bytes N  /batch_predict results limit (a response is built whole before it is sent),
                        413 above it (default: 1073741824 = 1 GiB)
  --max-items N         loans per /batch_predict body, 413 above it (default: 50000000)
  --max-header-bytes N  request line + headers limit, 431 above it (default: 16384)
  --max-connections N   concurrent connections; more get 503 and are closed (default: 10000)
  --read-timeout S      seconds to receive a started request's head, per body read and per write (default: 30)
  --min-body-rate B     a body may take --read-timeout plus a second per B bytes received (default: 1024)
  --idle-timeout S      seconds a keep-alive connection may wait for its next request (default: 75)
  --drain-timeout S     seconds in-flight requests get on SIGTERM/SIGINT (default: 15)
  --release-memory-after S  seconds after the last large request (body or results of 1 MiB or more)
                        before memory requests freed goes back to the kernel; until then the next ones
                        reuse it instead of faulting in fresh pages (default: 10; 0 = glibc's own policy;
                        malloc tunables in the environment, GLIBC_TUNABLES or MALLOC_*, are kept)
  --tls-cert FILE       PEM certificate chain: serve HTTPS (with --tls-key)
  --tls-key FILE        PEM private key
  --access-log          one line per request on stderr (off by default)
  --no-reuse-port       one shared listener instead of one per thread (SO_REUSEPORT)
  --version             print the version and the kernel this CPU runs, then exit

environment:
  LOANRISK_ADMIN_TOKEN  enables POST /admin/reload with 'Authorization: Bearer <token>' (disabled when unset)
)";

double env_or_flag(const flags& f, const std::string& name, const char* env, double fallback) {
    if (f.has(name)) return number_flag(f, name, fallback);
    if (const char* v = std::getenv(env); v && *v) {
        double d = 0;
        if (!train::parse_number(v, d)) throw usage_error{std::string(env) + " expects a number, got '" + v + "'"};
        return d;
    }
    return fallback;
}

double seconds_flag(const flags& f, const std::string& name, double fallback, bool zero_allowed = false) {
    double v = number_flag(f, name, fallback);
    if (!((v > 0 || (zero_allowed && v == 0)) && v <= 86400))
        throw usage_error{"--" + name + (zero_allowed ? " must be from 0 to 86400 seconds" : " must be between 0 and 86400 seconds")};
    return v;
}

int run_serve(const flags& f) {
    if (f.has("help")) return print(serve_help), 0;
    if (f.has("version"))
        return print(version_lines(false)), 0;
    server::server_options o;
    o.model_path = model_flag(f);
    o.host = f.get("host", o.host);
    o.port = static_cast<unsigned short>(count_flag(f, "port", o.port, 0, 65535));
    o.threads = static_cast<unsigned>(count_flag(f, "threads", 0, 0, 1024));
    o.score_threads = static_cast<unsigned>(count_flag(f, "score-threads", 0, 0, 1024));
    o.rules.approve_max = env_or_flag(f, "approve-max", "LOANRISK_APPROVE_MAX", o.rules.approve_max);
    o.rules.reject_min = env_or_flag(f, "reject-min", "LOANRISK_REJECT_MIN", o.rules.reject_min);
    o.rules.lgd = env_or_flag(f, "lgd", "LOANRISK_LGD", o.rules.lgd);
    if (!o.rules.valid())
        throw usage_error{"policy must satisfy 0 <= approve-max <= reject-min <= 1 and 0 <= lgd <= 1 (got " +
                          fixed(o.rules.approve_max) + ", " + fixed(o.rules.reject_min) + ", " + fixed(o.rules.lgd) + ")"};
    o.max_body_bytes = count_flag(f, "max-body-bytes", static_cast<double>(o.max_body_bytes), 1, 1e12);
    o.max_response_bytes = count_flag(f, "max-response-bytes", static_cast<double>(o.max_response_bytes), 1, 1e12);
    o.max_items = count_flag(f, "max-items", static_cast<double>(o.max_items), 1, 1e12);
    o.max_header_bytes = count_flag(f, "max-header-bytes", static_cast<double>(o.max_header_bytes), 256, 1 << 24);
    o.max_connections = count_flag(f, "max-connections", static_cast<double>(o.max_connections), 1, 1e7);
    o.read_timeout = seconds_flag(f, "read-timeout", o.read_timeout);
    o.min_body_rate = static_cast<double>(count_flag(f, "min-body-rate", o.min_body_rate, 1, 1e12));
    o.idle_timeout = seconds_flag(f, "idle-timeout", o.idle_timeout);
    o.drain_timeout = seconds_flag(f, "drain-timeout", o.drain_timeout);
    o.release_memory_after = seconds_flag(f, "release-memory-after", o.release_memory_after, true);
    o.tls_cert = f.get("tls-cert");
    o.tls_key = f.get("tls-key");
    if (o.tls_cert.empty() != o.tls_key.empty()) throw usage_error{"--tls-cert and --tls-key go together"};
    if (const char* token = std::getenv("LOANRISK_ADMIN_TOKEN")) o.admin_token = token;
    o.access_log = f.has("access-log");
    o.reuse_port = !f.has("no-reuse-port");
    return server::run(o);
}

constexpr const char* main_help = R"(usage: loanrisk <command> [options]

commands:
  serve      the HTTP scoring server
  score      bulk rescoring of CSV / NDJSON streams, in input order, with the portfolio summary
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
        return print(version_lines(true)), 0;
    }
    try {
        if (command == "train")
            return run_train(parse_flags(argc, argv, 2,
                                         {"data", "out", "target", "exposure", "kind", "bins", "l2", "cross", "categorical",
                                          "exclude", "domain", "max-categories", "age-field"},
                                         {"no-crosses", "quiet"}));
        if (command == "evaluate") return run_evaluate(parse_flags(argc, argv, 2, {"model", "data", "rows"}, {"json"}));
        if (command == "bench") return run_bench(parse_flags(argc, argv, 2, {"model", "loans", "threads"}, {}));
        if (command == "serve")
            return run_serve(parse_flags(argc, argv, 2,
                                         {"model", "host", "port", "threads", "score-threads", "approve-max", "reject-min",
                                          "lgd", "max-body-bytes", "max-response-bytes", "max-items", "max-header-bytes",
                                          "max-connections", "read-timeout", "min-body-rate", "idle-timeout", "drain-timeout",
                                          "release-memory-after", "tls-cert", "tls-key"},
                                         {"access-log", "no-reuse-port", "version"}));
        if (command == "score")
            return run_score(parse_flags(argc, argv, 2,
                                         {"model", "input", "output", "format", "output-format", "on-error", "summary",
                                          "summary-format", "group-by", "approve-max", "reject-min", "lgd", "threads",
                                          "block-bytes"},
                                         {"no-header", "keep-columns", "explain", "merge-summaries", "quiet"}));
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

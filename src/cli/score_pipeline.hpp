// `loanrisk score`: bulk rescoring of a CSV or NDJSON stream in bounded memory. A reader cuts the input
// into blocks of whole records, workers decode + score + encode blocks on every core, and the writer
// emits them in input order and merges the portfolio summary in the same order (so it is deterministic).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "loanrisk/policy.hpp"

namespace loanrisk::cli {

enum class stream_format { automatic, csv, ndjson };
enum class on_error { fail, skip, report };

struct score_job {
    std::string model_path = "models/credit_risk_pd.json";
    std::string input = "-";   // "-" = stdin
    std::string output = "-";  // "-" = stdout
    stream_format input_format = stream_format::automatic;
    stream_format output_format = stream_format::automatic;  // automatic: as the input
    bool header = true;         // CSV output header line
    bool keep_columns = false;  // pass the input record through, scores appended
    bool explain = false;       // score points and the top 3 reason codes
    on_error errors = on_error::fail;
    std::string summary_path;  // "" = stderr
    bool partial_summary = false;  // a mergeable accumulator instead of the final summary
    // --group-by as given, checked against the model (an error names a field that is not one of its
    // categorical inputs); else these defaults, which a model without such inputs ignores.
    std::vector<std::string> group_by = {"loan_grade", "loan_intent"};
    bool group_by_given = false;
    core::policy rules;
    struct given {
        bool approve_max = false, reject_min = false, lgd = false;
    } policy_given;  // which of --approve-max, --reject-min and --lgd were given
    unsigned threads = 0;                // 0: one per core
    std::size_t block_bytes = 1 << 20;  // input bytes per block
    bool progress = false;               // a progress line on stderr
};

// Runs the job; returns the process exit code (0 ok, 1 bad input under on_error::fail). Start-up failures
// (unreadable model or files) throw std::runtime_error with one clear line.
int run_score_job(const score_job& job);

// `loanrisk score --merge-summaries FILE...`: merges partial summaries written with
// --summary-format partial into the final summary (to job.summary_path), exactly as one run over all the
// data would. The partials must have been scored with one policy, which the merged summary carries; each
// policy flag given must say the same.
int merge_summaries(const score_job& job, const std::vector<std::string>& files);

// Whether a path names an open descriptor (/dev/stdout, /dev/fd/N, /proc/self/fd/N...): written from where the
// descriptor is, never truncated (opening /dev/stdout with "w" would empty a file the shell appends to).
bool names_a_descriptor(const std::string& path);

}  // namespace loanrisk::cli

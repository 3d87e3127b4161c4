// The `loanrisk score` pipeline: read -> (decode + score + encode) on every core -> write in input order.
// Memory stays bounded: at most a few blocks per worker are in flight, whatever the input size.
#include "score_pipeline.hpp"

#include <simdjson.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "loanrisk/batch.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/explain.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/portfolio.hpp"
#include "loanrisk/response_writer.hpp"
#include "loanrisk/scorer.hpp"

namespace loanrisk::cli {

namespace {

// One piece of the input holding whole records only.
struct block {
    std::size_t seq = 0;
    std::string text;
    std::size_t lines_before = 0;  // input lines before the block (header included)
    std::size_t rows_before = 0;   // data rows before the block
    std::size_t rows = 0;          // data rows in the block, as the reader counted them
    std::size_t offset = 0;        // byte offset of text[0] in the input
};

struct row_error {
    std::size_t line;
    std::string message;
    std::string partial = {};  // in a merged summary: the partial summary that listed it (its line is that input's)
};

// A summary lists this many of a run's bad rows (their count is complete).
constexpr std::size_t max_listed_errors = 100;

struct block_result {
    std::string out;
    core::portfolio_accumulator acc;
    std::size_t rows = 0, scored = 0;
    std::vector<row_error> errors;  // skipped / reported rows
    std::optional<error> fatal;     // on_error::fail: the first bad row
    std::size_t input_bytes = 0;
};

// Lines the decoders skip: an empty CSV line (as the tokenizer does), a whitespace-only NDJSON line.
bool blank_line(std::string_view s, bool csv) {
    return csv ? s.empty() || s == "\r" : s.find_first_not_of(" \t\r") == std::string_view::npos;
}

// The most a record may hold while the reader waits for its end under --on-error skip or report.
constexpr std::size_t max_pending_record_bytes = std::size_t{64} << 20;

// Whole records of `text`: for each non-blank record its text (line end excluded) and 1-based line within
// the text. CSV records may span lines inside quoted fields. Also returns where the last complete record
// ends.
struct record_view {
    std::string_view text;
    std::size_t line;
};
std::size_t split_records(std::string_view text, bool csv, bool final, std::vector<record_view>* out,
                          std::size_t* rows) {
    const char* const data = text.data();
    const std::size_t n = text.size();
    // Line ends are found with memchr; a line is read byte by byte (csv_quotes) only when the text has
    // quotes and the line has one or starts inside a quoted field.
    const bool has_quotes = csv && std::memchr(data, '"', n) != nullptr;
    if (csv && !has_quotes && !out) {
        // Only the count and the cut (the reader, for every block): whole-text passes the compiler
        // vectorises. A record is a line that is neither empty nor a lone "\r" (an empty CRLF line);
        // `text` starts at a line start.
        const auto* last_lf = static_cast<const char*>(memrchr(data, '\n', n));
        const std::size_t end = final ? n : last_lf ? static_cast<std::size_t>(last_lf - data) + 1 : 0;
        // One pass, counting in bytes over runs of 255 (so the compiler keeps 16 counters per register).
        // A blank line's LF follows an LF, or a CR after an LF; the first two bytes are checked apart.
        std::size_t lines = 0, blank = 0;
        for (std::size_t i = 0; i < std::min<std::size_t>(end, 2); ++i) lines += data[i] == '\n' ? 1 : 0;
        if (end > 0 && data[0] == '\n') ++blank;
        if (end > 1 && data[1] == '\n' && (data[0] == '\n' || data[0] == '\r')) ++blank;
        for (std::size_t i = 2; i < end;) {
            const std::size_t stop = std::min(end, i + 255);
            std::uint8_t run_lines = 0, run_blank = 0;
            for (; i < stop; ++i) {
                const unsigned char a = static_cast<unsigned char>(data[i]), b = static_cast<unsigned char>(data[i - 1]),
                                    c = static_cast<unsigned char>(data[i - 2]);
                const unsigned char lf = a == '\n', after_break = (b == '\n') | ((b == '\r') & (c == '\n'));
                run_lines = static_cast<std::uint8_t>(run_lines + lf);
                run_blank = static_cast<std::uint8_t>(run_blank + (lf & after_break));
            }
            lines += run_lines;
            blank += run_blank;
        }
        std::size_t count = lines - blank;
        if (end > 0 && data[end - 1] != '\n') {  // the final line has no line end
            const std::size_t from = last_lf ? static_cast<std::size_t>(last_lf - data) + 1 : 0;
            if (!blank_line(text.substr(from, end - from), csv)) ++count;
        }
        if (rows) *rows = count;
        return end;
    }
    std::size_t start = 0, line = 1, start_line = 1, last_end = 0, count = 0;
    io::csv_quotes quotes;
    auto take = [&](std::string_view rec) {
        if (blank_line(rec, csv)) return;
        if (out) out->push_back({rec.substr(0, rec.size() - (rec.ends_with('\r') ? 1 : 0)), start_line});
        ++count;
    };
    for (std::size_t from = 0; from < n;) {
        const auto* hit = static_cast<const char*>(std::memchr(data + from, '\n', n - from));
        if (hit == nullptr) break;
        const auto i = static_cast<std::size_t>(hit - data);
        bool ends = true;  // a line with no quote, outside a quoted field, ends its record
        if (has_quotes && (quotes.inside() || std::memchr(data + from, '"', i - from) != nullptr))
            ends = quotes.line(data + from, hit);
        from = i + 1;
        ++line;
        if (!ends) continue;
        take(text.substr(start, i - start));
        start = last_end = i + 1;
        start_line = line;
    }
    if (final && start < n) {
        take(text.substr(start));
        last_end = n;
    }
    if (rows) *rows = count;
    return last_end;
}

std::size_t count_lines(std::string_view s) { return io::count_byte(s, '\n'); }

// The columns a run writes after the input's (or the id), as the CSV header names them; NDJSON keys alike.
std::string added_columns(const score_job& job) {
    std::string columns = "pd_default,decision,expected_loss";
    if (job.explain) (columns += ',') += io::csv_explanation_columns;
    if (job.errors == on_error::report) columns += ",error";
    return columns;
}

// Under --keep-columns: an input column (or NDJSON top-level field) that the run also writes (a scored file
// scored again) would be there twice, and which of the two a reader takes depends on the reader.
void refuse_added_column(std::string_view name, std::size_t line, const score_job& job) {
    const std::string columns = "," + added_columns(job) + ",";
    if (columns.find("," + std::string(name) + ",") != std::string::npos)
        throw std::runtime_error("line " + std::to_string(line) + ": the input has a " + std::string(name) +
                                 " field already (a scored file?): with --keep-columns it would be written twice; "
                                 "drop that column first");
}

// When the text (from its first non-blank byte) is a JSON document of loans rather than NDJSON: what it is,
// and the jq filter that turns it into NDJSON.
std::optional<std::pair<std::string, std::string>> json_document(std::string_view text) {
    auto skip = [&](std::size_t i) { return std::min(text.find_first_not_of(" \t\r\n", i), text.size()); };
    std::size_t i = skip(0);
    if (i < text.size() && text[i] == '[') return std::pair{"a JSON array", ".[]"};
    if (i == text.size() || text[i] != '{') return std::nullopt;
    i = skip(i + 1);
    if (text.substr(i, 7) != "\"items\"") return std::nullopt;
    i = skip(i + 7);
    if (i == text.size() || text[i] != ':') return std::nullopt;
    i = skip(i + 1);
    if (i == text.size() || text[i] != '[') return std::nullopt;
    return std::pair{"a JSON batch document ({\"items\": [...]})", ".items[]"};
}

// NDJSON's first objects (the complete lines of `text`, the input's first read, up to 1,000 of them),
// checked as a CSV header is: objects whose fields are all strangers to the model (renamed or miscased
// fields) would score every loan as all-missing without a word. Refused when none of them names an input
// and one names something else: ids do not count (a sparse loan, {} or an id alone, decides nothing).
// Names are an object's and its "data" object's; under --keep-columns every object read is checked at its
// top level for the fields the run adds. Lines that do not
// parse are left to the decoder, which names their error. `line` is the number of text's first line; `whole`:
// text is the whole input (its last line may have no line end).
void check_first_objects(std::string_view text, std::size_t line, bool whole, const core::compiled_model& m,
                         const score_job& job) {
    simdjson::dom::parser parser;
    std::vector<std::string> names;  // of the objects checked, for the message
    std::size_t first_named = 0;
    bool known = false;
    for (std::size_t at = 0, seen = 0; !known && seen < 1000 && at < text.size(); ++line) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos && !whole) break;
        end = std::min(end, text.size());
        const std::string_view record = text.substr(at, end - at);
        at = end + 1;
        simdjson::dom::object object;
        if (record.find_first_not_of(" \t\r") == std::string_view::npos || parser.parse(record.data(), record.size()).get(object))
            continue;
        for (auto [key, value] : object) {
            if (job.keep_columns) refuse_added_column(key, line, job);
            std::vector<std::string_view> keys;
            simdjson::dom::object data;
            if (key == "data" && !value.get(data)) {
                for (auto field : data) keys.push_back(field.key);
            } else {
                keys.push_back(key);
            }
            for (std::string_view k : keys) {
                if (std::find(std::begin(io::id_fields), std::end(io::id_fields), k) != std::end(io::id_fields)) continue;
                known = known || m.find_input(k) >= 0 || k == m.exposure_field;
                if (!first_named) first_named = line;
                if (names.size() < 20 && std::find(names.begin(), names.end(), k) == names.end()) names.emplace_back(k);
            }
        }
        ++seen;
    }
    if (known || !first_named) return;
    std::string inputs, found;
    for (const auto& in : m.inputs) inputs += (inputs.empty() ? "" : ", ") + in.name;
    for (const auto& name : names) found += (found.empty() ? "" : ", ") + name;
    throw std::runtime_error("line " + std::to_string(first_named) + ": no object of the input's first lines names "
                             "any of the model's input fields (" + inputs + "), only " + found +
                             " (names are case-sensitive): is this data for this model?");
}

// Decodes whole records with a fresh decoder positioned at the block's place in the stream.
struct block_decoder {
    const core::compiled_model& m;
    bool csv;
    const std::string& header;  // CSV header record with its line end

    status decode(std::string_view text, std::size_t lines_before, std::size_t offset, core::loan_batch& out) const {
        io::decode_limits limits;
        limits.threads = 1;  // blocks are already decoded on every core
        if (csv) {
            io::csv_decoder d(m, limits);
            if (auto s = d.feed(header, out); !s) return s;
            d.continue_at(lines_before, offset);
            if (auto s = d.feed(text, out); !s) return s;
            return d.finish(out);
        }
        io::ndjson_decoder d(m, limits);
        d.continue_at(lines_before, offset);
        if (auto s = d.feed(text, out); !s) return s;
        return d.finish(out);
    }
};

class pipeline {
public:
    pipeline(const score_job& job, const core::compiled_model& m, bool csv_in, bool csv_out, std::string header)
        : job_(job), m_(m), csv_in_(csv_in), csv_out_(csv_out), header_(std::move(header)) {
        if (csv_in_) header_fields_ = csv_field_count(header_);
    }

    block_result run(const block& b) const {
        block_result r;
        r.acc.reset(m_, {job_.group_by});
        r.input_bytes = b.text.size();
        // Columns and scores of the worker's previous block, reused: their memory is already mapped.
        struct scratch {
            core::loan_batch batch;
            core::scored_batch scored;
        };
        thread_local scratch t;
        core::loan_batch& batch = t.batch;
        batch.reset(m_, job_.explain);
        // The records' own text is needed only to pass input columns through or to retry bad rows one
        // by one; otherwise record k is loan k.
        std::vector<record_view> records;
        r.rows = b.rows;
        if (r.rows == 0) return r;  // an empty or header-only input, or a block of blank lines
        block_decoder dec{m_, csv_in_, header_};
        auto whole = dec.decode(b.text, b.lines_before, b.offset, batch);
        // Row numbers come from the reader's count: a decoder that saw another number of records (a lone CR
        // line end inside the data, which the reader does not split at) must not shift them silently.
        if (whole && batch.size != b.rows) {
            // Named at the first lone CR, where the decoder will have ended a record (else the block's start).
            std::size_t line = b.lines_before + 1;
            for (std::size_t at = b.text.find('\r'); at != std::string::npos; at = b.text.find('\r', at + 1))
                if (at + 1 == b.text.size() || b.text[at + 1] != '\n') {
                    line += count_lines(std::string_view(b.text).substr(0, at));
                    break;
                }
            whole = error{"the block's lines hold " + std::to_string(b.rows) + " rows but decode to " +
                              std::to_string(batch.size) + " loans (a lone CR line end inside the data?)",
                          "line " + std::to_string(line)};
        }
        if (!whole || job_.keep_columns) split_records(b.text, csv_in_, true, &records, nullptr);
        // Loan i of the batch came from record loan_record[i]; a record with no loan failed to decode.
        std::vector<std::size_t> loan_record;
        std::vector<std::optional<std::string>> record_error(records.size());
        if (whole) {
            loan_record.resize(batch.size);
            for (std::size_t i = 0; i < batch.size; ++i) loan_record[i] = i;
        } else if (job_.errors == on_error::fail) {
            r.fatal = whole.err();
            return r;
        } else {
            // Slow path, only for blocks holding bad rows: one record at a time.
            batch.reset(m_, job_.explain);
            loan_record.clear();
            for (std::size_t k = 0; k < records.size(); ++k) {
                const std::size_t offset = b.offset + static_cast<std::size_t>(records[k].text.data() - b.text.data());
                std::string text(records[k].text);
                text += '\n';
                const std::size_t before = batch.size;
                auto s = dec.decode(text, b.lines_before + records[k].line - 1, offset, batch);
                if (s && batch.size != before + 1) {  // one output line per input line, always
                    s = error{"the line decodes to " + std::to_string(batch.size - before) +
                                  " loans, not 1 (a lone CR line end inside it?)",
                              "line " + std::to_string(b.lines_before + records[k].line)};
                    batch.truncate(before);
                }
                if (s) {
                    loan_record.push_back(k);
                } else {
                    record_error[k] = s.err().message();
                    r.errors.push_back({b.lines_before + records[k].line, s.err().message()});
                }
            }
        }
        r.scored = batch.size;
        core::scored_batch& scored = t.scored;
        core::score_options o;
        o.rules = job_.rules;
        o.threads = 1;  // the pipeline already runs one block per core
        core::score_batch(m_, batch, o, scored, r.acc);
        encode(b, r.rows, records, loan_record, record_error, batch, scored, r.out);
        return r;
    }

    std::string output_header() const {
        if (!csv_out_ || !job_.header) return {};
        std::string h;
        if (job_.keep_columns && csv_in_) {
            h = header_.substr(0, header_.find_last_not_of("\r\n") + 1) + ",";
        } else {
            h = "application_id,";
        }
        return h + added_columns(job_) + "\n";
    }

private:
    // Fields of a CSV record, or 0 when it does not tokenize.
    static std::size_t csv_field_count(std::string_view record) {
        io::csv_reader reader(record, ',', false);
        std::vector<std::string_view> fields;
        auto got = reader.next(fields);
        return got && *got ? fields.size() : 0;
    }

    // Whether a record that failed to decode can still be passed through (--keep-columns): a CSV record with
    // the header's number of fields (a bad value; its columns still line up), an NDJSON line that is one JSON
    // object. Any other is written without its input columns, which would misplace the scores (CSV) or not
    // be JSON at all; its line number is in the error.
    bool passes_through(std::string_view record) const {
        if (csv_in_) return csv_field_count(record) == header_fields_;
        simdjson::dom::parser parser;
        simdjson::dom::object object;
        return !parser.parse(record.data(), record.size()).get(object);
    }

    // `records` holds the rows' text when they are passed through or some failed; else it is empty.
    // The common CSV output (id or row number, then the scores; no extra columns) written through a
    // pointer into room reserved for the whole block: a std::string append checks size and capacity for
    // every piece of every row. Every row has a loan here (skipped rows have no output line).
    void encode_plain_csv(const block& b, const std::vector<std::size_t>& loan_record,
                          const core::loan_batch& batch, const core::scored_batch& s, std::string& out) const {
        const std::size_t at = out.size();
        out.resize(at + loan_record.size() * io::max_csv_result_chars + 2 * batch.id_text.size());
        char* p = out.data() + at;
        for (std::size_t loan = 0; loan < loan_record.size(); ++loan)
            p = io::write_csv_result(p, batch, s, loan, static_cast<std::int64_t>(b.rows_before + loan_record[loan] + 1));
        out.resize(static_cast<std::size_t>(p - out.data()));
    }

    void encode(const block& b, std::size_t rows, const std::vector<record_view>& records,
                const std::vector<std::size_t>& loan_record, const std::vector<std::optional<std::string>>& record_error,
                const core::loan_batch& batch, const core::scored_batch& s, std::string& out) const {
        if (csv_out_ && !job_.keep_columns && !job_.explain && job_.errors != on_error::report) {
            encode_plain_csv(b, loan_record, batch, s, out);
            return;
        }
        out.reserve(rows * (job_.keep_columns ? 160 : 64));
        std::size_t loan = 0;
        for (std::size_t k = 0; k < rows; ++k) {
            const bool has_loan = loan < loan_record.size() && loan_record[loan] == k;
            if (!has_loan && job_.errors != on_error::report) continue;
            const std::size_t row = b.rows_before + k + 1;
            const bool keep = job_.keep_columns && (has_loan || passes_through(records[k].text));
            if (csv_out_) {
                if (keep && csv_in_) {
                    out += records[k].text;
                } else if (job_.keep_columns && csv_in_) {
                    out.append(header_fields_ - 1, ',');  // the record's columns left empty
                } else if (has_loan && batch.id_present[loan]) {
                    io::append_csv_field(out, batch.id(loan));
                } else {
                    io::append_integer(out, static_cast<std::int64_t>(row));
                }
                out += ',';
                if (has_loan) {
                    char scores[io::max_csv_scores_chars];
                    out.append(scores, io::write_csv_scores(scores, s.pd[loan], s.decisions[loan], s.expected_loss[loan]));
                } else {
                    out += ",ERROR,";
                }
                if (job_.explain) {
                    if (has_loan) io::append_csv_explanation(out, core::explain(m_, batch, loan));
                    else out += ",,,,";
                }
                if (job_.errors == on_error::report) {
                    out += ',';
                    if (!has_loan) io::append_csv_field(out, *record_error[k]);
                }
                out += '\n';
            } else {
                std::string_view rec = keep ? records[k].text : std::string_view();
                while (!csv_in_ && !rec.empty() && (rec.back() == ' ' || rec.back() == '\t' || rec.back() == '\r'))
                    rec.remove_suffix(1);  // JSON allows space after the object
                if (keep && !csv_in_ && rec.ends_with('}')) {
                    // Scores join the item's own fields: the object is reopened before its closing brace.
                    rec.remove_suffix(1);
                    out += rec;
                    out += rec.find_first_not_of(" \t{") == std::string_view::npos ? "" : ",";
                } else {
                    out += "{\"application_id\":";
                    if (has_loan && batch.id_present[loan]) io::append_string(out, batch.id(loan));
                    else io::append_integer(out, static_cast<std::int64_t>(row));
                    out += ',';
                }
                if (has_loan) {
                    out += "\"pd_default\":";
                    io::append_pd(out, s.pd[loan]);
                    out += ",\"decision\":\"";
                    out += core::decision_name(s.decisions[loan]);
                    out += "\",\"expected_loss\":";
                    io::append_money(out, s.expected_loss[loan]);
                    if (job_.explain) {
                        out += ',';
                        io::append_score_and_reasons(out, core::explain(m_, batch, loan));
                    }
                } else {
                    out += "\"pd_default\":null,\"decision\":\"ERROR\",\"expected_loss\":null,\"error\":";
                    io::append_string(out, *record_error[k]);
                }
                out += "}\n";
            }
            if (has_loan) ++loan;
        }
    }

    const score_job& job_;
    const core::compiled_model& m_;
    bool csv_in_, csv_out_;
    std::string header_;
    std::size_t header_fields_ = 0;
};

// ---- partial summaries: the accumulator as JSON, and back ---------------------------------------------

void write_accumulator(std::string& out, const core::portfolio_accumulator& a) {
    io::json_writer w;
    auto counts = [&](const auto& v) {
        w.begin_array();
        for (auto c : v) w.value(static_cast<std::size_t>(c));
        w.end_array();
    };
    w.begin_object();
    w.key("count").value(a.count).key("decisions");
    counts(a.decisions);
    w.key("exposure_total").value(a.exposure_total).key("expected_loss_total").value(a.expected_loss_total);
    w.key("expected_loss_count").value(a.expected_loss_count).key("pd_sum").value(a.pd_sum);
    w.key("pd_histogram");
    counts(a.pd_histogram);
    w.key("psi_counts");
    counts(a.psi_counts);
    w.key("band_count");
    counts(a.band_count);
    w.key("band_approved");
    counts(a.band_approved);
    w.key("band_unknown").value(a.band_unknown);
    w.key("groups").begin_array();
    for (const auto& g : a.groups) {
        w.begin_array();
        for (const auto& t : g) w.begin_array().value(t.count).value(t.exposure).value(t.expected_loss).end_array();
        w.end_array();
    }
    w.end_array().end_object();
    out += w.str();
}

// Reads an accumulator written by write_accumulator into `a` (already reset for the same model and
// groups, so the shapes must agree).
status read_accumulator(simdjson::dom::element e, core::portfolio_accumulator& a) {
    auto fail = [](const char* what) { return status(error{what, "accumulator"}); };
    auto read_counts = [&](const char* key, auto& v) -> bool {
        simdjson::dom::array arr;
        if (e[key].get_array().get(arr) || arr.size() != v.size()) return false;
        std::size_t i = 0;
        for (auto x : arr) {
            std::uint64_t c;
            if (x.get_uint64().get(c)) return false;
            v[i++] = static_cast<std::decay_t<decltype(v[0])>>(c);
        }
        return true;
    };
    auto read_size = [&](const char* key, std::size_t& v) {
        std::uint64_t c;
        if (e[key].get_uint64().get(c)) return false;
        v = static_cast<std::size_t>(c);
        return true;
    };
    auto read_double = [&](const char* key, double& v) { return !e[key].get_double().get(v); };
    if (!read_size("count", a.count) || !read_counts("decisions", a.decisions) ||
        !read_double("exposure_total", a.exposure_total) || !read_double("expected_loss_total", a.expected_loss_total) ||
        !read_size("expected_loss_count", a.expected_loss_count) || !read_double("pd_sum", a.pd_sum) ||
        !read_counts("pd_histogram", a.pd_histogram) || !read_counts("psi_counts", a.psi_counts) ||
        !read_counts("band_count", a.band_count) || !read_counts("band_approved", a.band_approved) ||
        !read_size("band_unknown", a.band_unknown))
        return fail("malformed or from a different model");
    simdjson::dom::array groups;
    if (e["groups"].get_array().get(groups) || groups.size() != a.groups.size()) return fail("group_by differs");
    std::size_t g = 0;
    for (auto group : groups) {
        simdjson::dom::array totals;
        if (group.get_array().get(totals) || totals.size() != a.groups[g].size()) return fail("group_by differs");
        std::size_t c = 0;
        for (auto t : totals) {
            std::uint64_t n;
            double x, el;
            if (t.at(0).get_uint64().get(n) || t.at(1).get_double().get(x) || t.at(2).get_double().get(el))
                return fail("malformed group totals");
            a.groups[g][c++] = {static_cast<std::size_t>(n), x, el};
        }
        ++g;
    }
    return ok();
}

struct run_totals {
    std::size_t rows = 0, scored = 0;
    std::vector<row_error> errors;
    std::size_t error_count = 0;
};

// Writes the summary to `to`: the scored output itself ("--summary -" or /dev/stdout appends the summary as its
// last line instead of reopening, and truncating, whatever stdout points at), the summary file opened at the
// start of the run, or stderr; `path` names it in an error.
void write_summary_file(const score_job& job, const core::compiled_model& m, const core::portfolio_accumulator& acc,
                        const run_totals& t, const std::string& path, bool partial, std::FILE* to) {
    std::string out = "{\"model_version\":";
    io::append_string(out, m.source->model_version);
    out += ",\"rows\":";
    io::append_integer(out, static_cast<std::int64_t>(t.rows));
    out += ",\"rows_scored\":";
    io::append_integer(out, static_cast<std::int64_t>(t.scored));
    out += ",\"rows_skipped\":";
    io::append_integer(out, static_cast<std::int64_t>(t.error_count));
    out += ",\"errors\":[";
    for (std::size_t i = 0; i < t.errors.size(); ++i) {
        if (i) out += ',';
        out += "{\"line\":";
        io::append_integer(out, static_cast<std::int64_t>(t.errors[i].line));
        out += ",\"error\":";
        io::append_string(out, t.errors[i].message);
        if (!t.errors[i].partial.empty()) {
            out += ",\"partial\":";
            io::append_string(out, t.errors[i].partial);
        }
        out += '}';
    }
    out += "],\"assumptions\":";
    io::append_assumptions(out, job.rules);
    if (partial) {
        out += ",\"partial\":";
        write_accumulator(out, acc);
    } else {
        out += ",\"summary\":";
        io::append_summary_json(out, core::summarize(m, acc, {job.group_by}));
    }
    out += "}\n";
    if (std::fwrite(out.data(), 1, out.size(), to) != out.size() || std::fflush(to) != 0)
        throw std::runtime_error("cannot write the summary " + (path.empty() ? std::string("to stderr") : path) + ": " +
                                 std::strerror(errno));
}

// Appends up to `bytes` of the input to `pending`, read in place; true at the end of the input. It waits for
// the first bytes, then takes what is there without waiting for more: the records a slow producer has
// written (a pipe stage) are scored and written out without waiting for a whole block. A read error (the
// input is a directory, an I/O error) throws: it must not pass for the end of the input.
bool read_more(std::string& pending, std::size_t bytes, int in, const std::string& name) {
    const std::size_t had = pending.size();
    pending.resize(had + bytes);
    std::size_t got = 0;
    bool end = false;
    while (got < bytes) {
        if (got > 0) {  // more only if it is there already
            pollfd p{in, POLLIN, 0};
            if (::poll(&p, 1, 0) <= 0) break;
        }
        const ssize_t n = ::read(in, pending.data() + had + got, bytes - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // a non-blocking input: wait for it
            pollfd p{in, POLLIN, 0};
            ::poll(&p, 1, -1);
            continue;
        }
        if (n < 0) {
            pending.resize(had + got);
            throw std::runtime_error("cannot read " + (name == "-" ? std::string("stdin") : name) + ": " +
                                     std::strerror(errno));
        }
        if (n == 0) {
            end = true;
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    pending.resize(had + got);
    return end;
}

// Whether --output or --summary names standard output (where the summary follows the scored rows, or stands
// alone).
bool names_stdout(const std::string& path) { return path == "-" || path == "/dev/stdout"; }

// The identity of a regular file (an open one, or by path), to tell when two names are one file.
std::optional<std::pair<dev_t, ino_t>> regular_file(const struct stat& st) {
    if (!S_ISREG(st.st_mode)) return std::nullopt;
    return std::pair{st.st_dev, st.st_ino};
}

std::optional<std::pair<dev_t, ino_t>> regular_file(const std::string& path) {
    struct stat st {};
    if (path.empty() || path == "-" || ::stat(path.c_str(), &st) != 0) return std::nullopt;
    return regular_file(st);
}

// Whether two paths name one regular file: the same inode, or (a file not created yet) the same canonical
// path. Devices (/dev/null twice) are not.
bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    const bool a_exists = ::stat(a.c_str(), &sa) == 0, b_exists = ::stat(b.c_str(), &sb) == 0;
    if (a_exists || b_exists) return a_exists && b_exists && regular_file(sa) && regular_file(sa) == regular_file(sb);
    std::error_code ea, eb;
    const auto ca = std::filesystem::weakly_canonical(a, ea), cb = std::filesystem::weakly_canonical(b, eb);
    return !ea && !eb && ca == cb;
}

// An output or summary file that is the input would be truncated before the input is read, and a summary
// file that is the output would mix into the rows: refused before anything is opened for writing.
void refuse_shared_files(const score_job& job, const struct stat& input, bool summary_on_stdout) {
    const auto in = regular_file(input);
    auto refuse = [](const std::string& flag, const std::string& path, const char* other, const char* lost) {
        throw std::runtime_error(flag + (path.empty() ? "" : " " + path) + " is the " + other +
                                 " file: writing it would destroy " + lost);
    };
    const bool to_file = !names_stdout(job.output), summary_to_file = !job.summary_path.empty() && !summary_on_stdout;
    struct stat out {};
    const bool stdout_file = fstat(STDOUT_FILENO, &out) == 0 && regular_file(out);
    if (to_file && in && regular_file(job.output) == in) refuse("--output", job.output, "input", "the input");
    // `score --input f.csv >> f.csv` would read its own rows back without end.
    if (!to_file && in && stdout_file && regular_file(out) == in) refuse("standard output", "", "input", "the input");
    if (!summary_to_file) return;
    if (in && regular_file(job.summary_path) == in) refuse("--summary", job.summary_path, "input", "the input");
    const bool summary_is_output =
        to_file ? same_file(job.summary_path, job.output)
                : stdout_file && regular_file(out) == regular_file(job.summary_path);
    if (summary_is_output) refuse("--summary", job.summary_path, "output", "the scored rows");
}

// The temporary files of the run in progress (output, summary), for the signal handler (see staged_file):
// the name is written first, then the flag set; the handler reads a name only when its flag is.
enum staged_slot { output_slot, summary_slot };
char interrupted_temp[2][4096];
volatile std::sig_atomic_t interrupted_temp_set[2] = {0, 0};
// What an interruption leaves, said on stderr: set before the handler is installed.
char interrupted_text[160] = "\nloanrisk score: interrupted; the scored output is incomplete\n";

// SIGINT / SIGTERM / SIGHUP during a run: the temporary files are removed and the interruption said, then
// the conventional 128 + signal exit; SIGPIPE (the reader of the output went away, `| head`) the same
// without a word. Only async-signal-safe calls.
extern "C" void on_interrupt(int sig) {
    for (int k = 0; k < 2; ++k)
        if (interrupted_temp_set[k]) ::unlink(interrupted_temp[k]);
    if (sig != SIGPIPE) [[maybe_unused]] auto n = ::write(STDERR_FILENO, interrupted_text, std::strlen(interrupted_text));
    ::_exit(128 + sig);
}

constexpr int interruptions[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

// What an interruption says from now on.
void say_on_interruption(const char* text) { std::snprintf(interrupted_text, sizeof interrupted_text, "%s", text); }

// Signals the shell had ignored (nohup, a background job's SIGINT) stay ignored; SIGPIPE is always caught,
// so that `| head` ends the run quietly even where it was ignored (systemd's IgnoreSIGPIPE).
void handle_interruptions() {
    for (int sig : interruptions) {
        struct sigaction previous {}, handler {};
        handler.sa_handler = on_interrupt;
        if (sig == SIGPIPE || (::sigaction(sig, nullptr, &previous) == 0 && previous.sa_handler != SIG_IGN))
            ::sigaction(sig, &handler, nullptr);
    }
}

// Holds the interruptions back while the run's files are put in place, so that a signal cannot leave the new
// output beside the old summary; one that came meanwhile ends the process when this goes.
class interruptions_held {
public:
    interruptions_held() {
        sigset_t set;
        sigemptyset(&set);
        for (int sig : interruptions) sigaddset(&set, sig);
        ::pthread_sigmask(SIG_BLOCK, &set, &previous_);
    }
    ~interruptions_held() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
    interruptions_held(const interruptions_held&) = delete;
    interruptions_held& operator=(const interruptions_held&) = delete;

private:
    sigset_t previous_;
};

// The --output or --summary file. A regular file (or one not there yet; a symbolic link counts as the file
// it points to) is written under a new temporary name beside it (mkstemp: never a file someone placed there)
// and renamed over it once the run has succeeded, keeping the old file's permissions: a failed or
// interrupted run leaves the file that was there, or none, never an empty, partial or cut-off one. Anything
// else (/dev/null, a pipe, a descriptor's name) is written as it is. Opened before any scoring, so a path that
// cannot be written fails first.
class staged_file {
public:
    staged_file(const std::string& path, staged_slot slot, const char* what) : path_(path), what_(what), slot_(slot) {
        std::error_code ec;
        // Absolute first: a new file named without a directory (out.csv) has its directory checked and staged too.
        const std::filesystem::path target = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
        struct stat st {};
        const bool exists = !ec && ::stat(target.c_str(), &st) == 0;
        if (!ec && !names_a_descriptor(path) && replaceable(target, exists ? &st : nullptr) &&
            target.string().size() + 16 < sizeof interrupted_temp[slot]) {
            final_ = target.string();
            std::string name = final_ + ".partial-XXXXXX";
            const int fd = ::mkstemp(name.data());
            if (fd < 0) throw failed();
            mode_t mode = st.st_mode & 07777;
            if (!exists) {
                mode = ::umask(0);
                ::umask(mode);
                mode = 0666 & ~mode;
            }
            ::fchmod(fd, mode);
            temp_ = name;
            std::memcpy(interrupted_temp[slot], temp_.c_str(), temp_.size() + 1);
            interrupted_temp_set[slot] = 1;
            f_ = ::fdopen(fd, "wb");
            if (!f_) {
                const auto e = failed();
                ::close(fd);
                discard();
                throw e;
            }
        } else {
            f_ = std::fopen(path.c_str(), names_a_descriptor(path) ? "ab" : "wb");
        }
        if (!f_) throw failed();
    }
    staged_file(const staged_file&) = delete;
    staged_file& operator=(const staged_file&) = delete;
    ~staged_file() { discard(); }

    std::FILE* stream() const { return f_; }
    // Whether it is written under a temporary name, put in place by commit().
    bool staged() const { return !temp_.empty(); }
    // Closes the file and puts it in place (durably: the data before the rename).
    void commit() {
        bool done = std::fflush(f_) == 0 && (temp_.empty() || ::fsync(fileno(f_)) == 0);
        done = std::fclose(std::exchange(f_, nullptr)) == 0 && done;
        if (done && !temp_.empty() && std::rename(temp_.c_str(), final_.c_str()) != 0)
            done = (errno == EBUSY || errno == EXDEV) && copy_into_place();  // a file mounted on its own
        if (!done) {
            const auto e = failed();
            discard();
            throw e;
        }
        interrupted_temp_set[slot_] = 0;
        temp_.clear();
    }
    // Drops what was written (a failed run).
    void discard() {
        if (f_) std::fclose(std::exchange(f_, nullptr));
        interrupted_temp_set[slot_] = 0;
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_.clear();
    }

private:
    // Whether the path's file can be replaced by a renamed one without changing what the path means: a new
    // file, or a regular file with one link, owned and writable by this user, not mounted on its own, in a
    // directory this user may create files in. Anything else (a hard link's other names, a file owned by
    // someone else, a write-protected one, a dangling symbolic link) is written in place, as before.
    static bool replaceable(const std::filesystem::path& target, const struct stat* st) {
        struct stat link {}, dir {};
        if (::lstat(target.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) return false;  // dangling: its target is made
        const std::string parent = target.parent_path().string();
        if (::stat(parent.c_str(), &dir) != 0 || ::access(parent.c_str(), W_OK | X_OK) != 0) return false;
        return !st || (S_ISREG(st->st_mode) && st->st_nlink == 1 && st->st_uid == ::geteuid() &&
                       st->st_dev == dir.st_dev && ::access(target.c_str(), W_OK) == 0);
    }

    // The temporary file's bytes copied over the file (when it cannot be renamed over), then removed.
    bool copy_into_place() {
        std::FILE* from = std::fopen(temp_.c_str(), "rb");
        std::FILE* to = from ? std::fopen(final_.c_str(), "wb") : nullptr;
        bool ok = to != nullptr;
        std::vector<char> buf(1 << 20);
        for (std::size_t n; ok && (n = std::fread(buf.data(), 1, buf.size(), from)) > 0;)
            ok = std::fwrite(buf.data(), 1, n, to) == n;
        ok = ok && !std::ferror(from);
        if (from) std::fclose(from);
        if (to) ok = std::fclose(to) == 0 && ok;
        if (ok) ::unlink(temp_.c_str());
        return ok;
    }

    std::runtime_error failed() const {
        return std::runtime_error(std::string("cannot write the ") + what_ + " " + path_ + ": " + std::strerror(errno));
    }

    std::string path_, final_, temp_;
    const char* what_;
    staged_slot slot_;
    std::FILE* f_ = nullptr;
};

core::compiled_model load_compiled(const std::string& path) {
    auto m = core::load_model(path);
    if (!m) throw std::runtime_error(m.err().message());
    auto c = core::compile(std::make_shared<const core::model>(std::move(*m)));
    if (!c) throw std::runtime_error(c.err().message());
    return std::move(*c);
}

std::string seconds_text(double s) {
    std::string out;
    io::append_number(out, std::round(s * 10) / 10);
    return out + "s";
}

// The job with its --group-by list checked against the model (see score_job::group_by).
score_job with_checked_group_by(const score_job& job, const core::compiled_model& m) {
    score_job checked = job;
    if (!job.group_by_given) return checked;
    auto names = core::checked_group_by(m, job.group_by);
    if (!names) throw std::runtime_error("--group-by: " + names.err().what);
    checked.group_by = std::move(*names);
    return checked;
}

// A policy as the summaries' "assumptions" show it.
std::string policy_text(const core::policy& p) {
    std::string s;
    io::append_assumptions(s, p);
    return s;
}

}  // namespace

bool names_a_descriptor(const std::string& path) {
    return path == "/dev/stdout" || path == "/dev/stderr" || path.starts_with("/dev/fd/") ||
           (path.starts_with("/proc/") && path.find("/fd/") != std::string::npos);
}

int run_score_job(const score_job& requested) {
    const core::compiled_model m = load_compiled(requested.model_path);
    const score_job job = with_checked_group_by(requested, m);
    std::FILE* in = job.input == "-" ? stdin : std::fopen(job.input.c_str(), "rb");
    if (!in) throw std::runtime_error("cannot open " + job.input);
    std::size_t total_bytes = 0;
    struct stat st {};
    if (fstat(fileno(in), &st) != 0) throw std::runtime_error("cannot read " + job.input + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw std::runtime_error("cannot read " + job.input + ": it is a directory");
    if (S_ISREG(st.st_mode)) total_bytes = static_cast<std::size_t>(st.st_size);
    if (job.input == "-" && isatty(STDIN_FILENO))
        std::fputs("loanrisk score: reading CSV or NDJSON from the terminal (end with Ctrl-D; --input FILE reads a "
                   "file)\n", stderr);
    const bool summary_on_stdout = names_stdout(job.summary_path);
    refuse_shared_files(job, st, summary_on_stdout);
    handle_interruptions();
    std::optional<staged_file> summary, output;
    if (!job.summary_path.empty() && !summary_on_stdout) summary.emplace(job.summary_path, summary_slot, "summary");
    if (!names_stdout(job.output)) output.emplace(job.output, output_slot, "output");
    std::FILE* out = output ? output->stream() : stdout;
    if (output && output->staged()) say_on_interruption("\nloanrisk score: interrupted; the output file was left as it was\n");
    // Rows reach a pipe or terminal block by block, as they are scored; a file gets them whole at the end.
    const bool flush_each_block = !(output && output->staged());

    // First read: settles the format and, for CSV, the header. A pipe may give a few bytes at a time: the
    // byte-order mark and the first non-blank byte are read in full before anything is decided on them.
    std::string pending;
    bool eof = read_more(pending, job.block_bytes, fileno(in), job.input);
    while (!eof && pending.size() < (std::size_t{1} << 20) &&
           (pending.size() < 3 || pending.find_first_not_of(" \t\r\n\xEF\xBB\xBF") == std::string::npos))
        eof = read_more(pending, job.block_bytes, fileno(in), job.input);
    std::size_t consumed = 0;  // input bytes before pending[0]
    if (pending.starts_with("\xEF\xBB\xBF")) pending.erase(0, 3), consumed = 3;
    bool csv = job.input_format == stream_format::csv;
    if (job.input_format == stream_format::automatic) {
        auto ends = [&](const char* ext) { return job.input.size() > std::strlen(ext) && job.input.ends_with(ext); };
        if (ends(".csv")) csv = true;
        else if (ends(".ndjson") || ends(".jsonl")) csv = false;
        else {
            std::size_t first = pending.find_first_not_of(" \t\r\n");
            csv = first == std::string::npos || pending[first] != '{';
        }
    }
    const bool csv_out = job.output_format == stream_format::automatic ? csv : job.output_format == stream_format::csv;
    if (job.keep_columns && csv != csv_out)
        throw std::runtime_error(std::string("--keep-columns passes each input record through: it needs the output in the "
                                             "input's format (") + (csv ? "csv" : "ndjson") + ")");
    std::string header;
    std::size_t header_lines = 0;
    if (!csv) {
        // The first object's line whole (or the limit of one line, or a few MiB of blank lines), read before the
        // first lines are checked.
        const std::size_t max_line = io::decode_limits{}.max_line_bytes;
        std::size_t first = 0;
        for (;;) {
            first = std::min(pending.find_first_not_of(" \t\r\n"), pending.size());
            if (eof || pending.size() > 4 * max_line ||
                (first < pending.size() && (pending.find('\n', first) != std::string::npos || pending.size() - first > max_line)))
                break;
            eof = read_more(pending, job.block_bytes, fileno(in), job.input);
        }
        const std::size_t first_line = 1 + count_lines(std::string_view(pending).substr(0, first));
        if (auto doc = json_document(pending))
            throw std::runtime_error("line " + std::to_string(first_line) + ": " + doc->first + " is not NDJSON (one "
                                     "loan object per line): convert it first, e.g. jq -c '" + doc->second + "' FILE");
        check_first_objects(pending, 1, eof, m, job);
    }
    if (csv) {
        // Blank lines before the header are skipped, as the server's CSV decoder skips them (read on while
        // all that is pending is blank).
        for (;;) {
            std::size_t at = 0;
            for (;;) {
                const std::size_t blank = pending.compare(at, 1, "\n") == 0 ? 1 : pending.compare(at, 2, "\r\n") == 0 ? 2 : 0;
                if (blank == 0) break;
                at += blank;
                ++header_lines;
            }
            pending.erase(0, at);
            consumed += at;
            if (eof || !(pending.empty() || pending == "\r")) break;
            eof = read_more(pending, job.block_bytes, fileno(in), job.input);
        }
        // The header is the first record; it may in principle hold quoted line breaks. Records are cut at
        // LF (CRLF included): a file whose lines end in a lone CR (classic Mac) would read as one header
        // and zero loans, so it is refused, as is a first line longer than a record may be.
        constexpr std::size_t max_header_bytes = 1 << 20;
        std::size_t end = 0;
        io::csv_quotes quotes;
        for (;;) {
            bool cr_at_end = false;  // a CR that is the last byte read so far: what follows decides
            for (; end < pending.size(); ++end) {
                const char c = pending[end];
                if (quotes.step(c)) break;                 // the line feed that ends the header
                if (quotes.inside() || c != '\r') continue;  // a CR only matters outside quoted fields
                if (end + 1 == pending.size()) {
                    cr_at_end = !eof;
                    if (cr_at_end) break;
                } else if (pending[end + 1] != '\n') {
                    throw std::runtime_error("line " + std::to_string(header_lines + 1) + ": the CSV's lines end in a lone CR (classic Mac); convert them "
                                             "to LF first, e.g. tr '\\r' '\\n'");
                }
            }
            if (!cr_at_end && (end < pending.size() || eof)) break;
            if (pending.size() > max_header_bytes)
                throw std::runtime_error("line " + std::to_string(header_lines + 1) + ": no line end in the first " + std::to_string(max_header_bytes) +
                                         " bytes: is this a CSV file?");
            eof = read_more(pending, job.block_bytes, fileno(in), job.input);
        }
        end = std::min(end + 1, pending.size());
        header = pending.substr(0, end);
        if (!header.ends_with('\n')) header += '\n';
        const std::size_t first_line = header_lines + 1;
        header_lines += count_lines(pending.substr(0, end));
        pending.erase(0, end);
        consumed += end;
        // A header the decoder refuses (a column twice, no model field) would fail every row: it is an error
        // of the whole input in every --on-error mode, reported once. An empty input has no header to check.
        io::csv_decoder check(m, {});
        check.continue_at(first_line - 1, consumed - end);
        core::loan_batch none;
        none.reset(m);
        const bool has_header = header.find_first_not_of("\r\n") != std::string::npos;
        if (!has_header) {
        } else if (auto s = check.feed(header, none); !s) {
            throw std::runtime_error(s.err().message());
        } else if (job.keep_columns) {
            io::csv_reader names(header);
            std::vector<std::string_view> fields;
            if (auto got = names.next(fields); got && *got)
                for (std::string_view name : fields) refuse_added_column(io::trim_blanks(name), first_line, job);
        }
        // Allowed (a missing feature is imputed as the model says), but a renamed column would otherwise
        // lower the scores' quality without a word.
        if (const auto absent = check.inputs_without_column(); has_header && !absent.empty()) {
            std::string names;
            for (const auto& a : absent) names += (names.empty() ? "" : ", ") + a;
            std::fprintf(stderr, "loanrisk score: warning: the header has no column for %s: every row scores %s as "
                                 "missing\n", names.c_str(), absent.size() == 1 ? "it" : "them");
        }
    }

    pipeline work(job, m, csv, csv_out, header);
    const unsigned threads = job.threads ? job.threads : std::max(1u, std::thread::hardware_concurrency());
    const std::size_t max_in_flight = 2 * threads + 2;

    std::mutex mu;
    std::condition_variable cv;
    std::deque<block> queue;
    std::map<std::size_t, block_result> done;
    std::size_t in_flight = 0, next_seq = 0;
    bool reading_done = false, stop = false;

    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
        workers.emplace_back([&] {
            for (;;) {
                block b;
                {
                    std::unique_lock lock(mu);
                    cv.wait(lock, [&] { return !queue.empty() || reading_done || stop; });
                    if (queue.empty()) return;
                    b = std::move(queue.front());
                    queue.pop_front();
                }
                block_result r = work.run(b);
                {
                    std::lock_guard lock(mu);
                    done.emplace(b.seq, std::move(r));
                }
                cv.notify_all();
            }
        });

    std::optional<std::string> read_failure;  // set by the reader before it ends the input
    std::thread reader([&] {
        std::size_t lines = header_lines, rows = 0;
        for (;;) try {
            const bool last = eof;
            std::size_t block_rows = 0;
            const std::size_t cut = split_records(pending, csv, last, nullptr, &block_rows);
            if (cut > 0 || last) {
                block b;
                // The block takes the read buffer itself; only the unfinished record after the cut is copied.
                b.text = std::move(pending);
                pending.assign(b.text, cut);
                b.text.resize(cut);
                b.lines_before = lines;
                b.rows_before = rows;
                b.rows = block_rows;
                b.offset = consumed;
                lines += count_lines(b.text);
                rows += block_rows;
                consumed += cut;
                std::unique_lock lock(mu);
                cv.wait(lock, [&] { return in_flight < max_in_flight || stop; });
                if (stop) break;
                b.seq = next_seq++;
                ++in_flight;
                queue.push_back(std::move(b));
                cv.notify_all();
            }
            if (last) break;
            // No record ends in what is pending. Under --on-error fail a record past the decoders' limit
            // fails the run here; skip and report wait for its end (the decoder then refuses that record
            // alone), up to max_pending_record_bytes, so that one that never ends (a line end missing, a
            // quote never closed) cannot grow the buffer without bound.
            const std::size_t limit =
                job.errors == on_error::fail ? io::decode_limits{}.max_line_bytes : max_pending_record_bytes;
            if (cut == 0 && pending.size() > limit)
                throw std::runtime_error("line " + std::to_string(lines + 1) + ": a record longer than " +
                                         std::to_string(limit) + " bytes" +
                                         (job.errors == on_error::fail ? " (the record limit)"
                                                                       : ", without ending (a line end missing, or a "
                                                                         "quote never closed?)"));
            // Waiting for a long record's end: read as much again as is pending, so that the records are
            // searched O(log n) times over, not once per block.
            eof = read_more(pending, cut == 0 ? std::max(job.block_bytes, pending.size()) : job.block_bytes,
                            fileno(in), job.input);
        } catch (const std::exception& e) {
            try {
                read_failure = e.what();
            } catch (...) {  // no memory for the message
                read_failure.emplace();
            }
            break;
        }
        std::lock_guard lock(mu);
        reading_done = true;
        cv.notify_all();
    });

    // The writer: blocks in input order, summary merged in the same order.
    std::string head = work.output_header();
    std::fwrite(head.data(), 1, head.size(), out);
    core::portfolio_accumulator acc;
    acc.reset(m, {job.group_by});
    run_totals totals;
    std::optional<error> fatal;
    std::size_t bytes_done = 0;
    const auto started = std::chrono::steady_clock::now();
    auto last_progress = started;
    // On a terminal only, and not when the scored rows go to the same one.
    const bool progress = job.progress && isatty(STDERR_FILENO) && !(out == stdout && isatty(STDOUT_FILENO));
    for (std::size_t seq = 0;; ++seq) {
        block_result r;
        {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return done.count(seq) || (reading_done && seq >= next_seq); });
            if (!done.count(seq)) break;
            r = std::move(done.at(seq));
            done.erase(seq);
            --in_flight;
        }
        cv.notify_all();
        if (r.fatal) {
            fatal = r.fatal;
            std::lock_guard lock(mu);
            stop = true;
            cv.notify_all();
            break;
        }
        if (std::fwrite(r.out.data(), 1, r.out.size(), out) != r.out.size() || std::ferror(out) ||
            (flush_each_block && std::fflush(out) != 0)) {
            // A full disk or a closed pipe: stop, never report success with output missing.
            fatal = error{std::string("cannot write the output: ") + std::strerror(errno), job.output};
            std::lock_guard lock(mu);
            stop = true;
            cv.notify_all();
            break;
        }
        acc.merge(r.acc);
        totals.rows += r.rows;
        totals.scored += r.scored;
        totals.error_count += r.errors.size();
        for (auto& e : r.errors)
            if (totals.errors.size() < max_listed_errors) totals.errors.push_back(std::move(e));
        bytes_done += r.input_bytes;
        if (progress) {
            auto now = std::chrono::steady_clock::now();
            if (now - last_progress > std::chrono::milliseconds(500)) {
                last_progress = now;
                double elapsed = std::chrono::duration<double>(now - started).count();
                std::string line = "\r\033[K" + std::to_string(totals.rows) + " rows  " +
                                   std::to_string(static_cast<long long>(static_cast<double>(totals.rows) / elapsed)) +
                                   " rows/s  " + seconds_text(elapsed);
                if (total_bytes > 0 && bytes_done > 0)
                    line += "  ETA " + seconds_text(elapsed * (static_cast<double>(total_bytes) / static_cast<double>(bytes_done) - 1));
                std::fputs(line.c_str(), stderr);
            }
        }
    }
    if (fatal) {
        // The reader may be blocked reading a stream that never ends: report and leave without joining.
        std::fflush(out);
        if (output) output->discard();
        if (summary) summary->discard();
        if (progress) std::fputs("\n", stderr);
        const bool bad_row = !fatal->code.empty();  // a decoder's error, not an I/O failure
        std::fprintf(stderr, "loanrisk score: %s%s\n", fatal->message().c_str(),
                     bad_row ? " (use --on-error skip or report to continue past bad rows)" : "");
        std::fflush(stderr);
        std::_Exit(1);
    }
    reader.join();
    {
        std::lock_guard lock(mu);
        reading_done = true;
    }
    cv.notify_all();
    for (auto& w : workers) w.join();
    if (progress) std::fputs("\n", stderr);
    if (in != stdin) std::fclose(in);
    if (read_failure) throw std::runtime_error(*read_failure);
    write_summary_file(job, m, acc, totals, job.summary_path, job.partial_summary,
                       summary_on_stdout ? out : summary ? summary->stream() : stderr);
    // The scored rows are all in place before the summary is: a run whose output fails leaves the summary
    // that was there.
    if (std::fflush(out) != 0 || std::ferror(out))
        throw std::runtime_error("cannot write the output " + job.output + ": " + std::strerror(errno));
    interruptions_held held;
    if (output) output->commit();
    say_on_interruption("\nloanrisk score: interrupted once the output was in place\n");
    if (summary) summary->commit();
    say_on_interruption("\nloanrisk score: interrupted after the run was complete\n");
    return 0;
}

int merge_summaries(const score_job& requested, const std::vector<std::string>& files) {
    const core::compiled_model m = load_compiled(requested.model_path);
    score_job job = with_checked_group_by(requested, m);
    core::portfolio_accumulator total;
    total.reset(m, {job.group_by});
    run_totals totals;
    std::optional<core::policy> policy;  // the first partial's
    simdjson::dom::parser parser;
    for (const auto& path : files) {
        simdjson::dom::element doc;
        if (auto e = parser.load(path).get(doc)) throw std::runtime_error(path + ": " + simdjson::error_message(e));
        std::string_view version;
        if (doc["model_version"].get_string().get(version) || version != m.source->model_version)
            throw std::runtime_error(path + ": written by another model than " + m.source->model_version);
        simdjson::dom::element partial;
        if (doc["partial"].get(partial)) throw std::runtime_error(path + ": not a partial summary (--summary-format partial)");
        // Counts by decision and Expected Losses depend on the policy: partials of two policies do not add up.
        core::policy used;
        if (doc["assumptions"]["APPROVE_MAX"].get_double().get(used.approve_max) ||
            doc["assumptions"]["REJECT_MIN"].get_double().get(used.reject_min) ||
            doc["assumptions"]["LGD"].get_double().get(used.lgd))
            throw std::runtime_error(path + ": no assumptions (APPROVE_MAX, REJECT_MIN, LGD): not a partial summary");
        if (!policy) policy = used;
        else if (policy_text(used) != policy_text(*policy))
            throw std::runtime_error(path + ": scored with the policy " + policy_text(used) + ", " + files.front() +
                                     " with " + policy_text(*policy) + ": partials of different policies do not merge");
        core::portfolio_accumulator part = total.empty_copy();
        if (auto s = read_accumulator(partial, part); !s) throw std::runtime_error(path + ": " + s.err().message());
        total.merge(part);
        std::uint64_t n;
        if (!doc["rows"].get_uint64().get(n)) totals.rows += n;
        if (!doc["rows_scored"].get_uint64().get(n)) totals.scored += n;
        if (!doc["rows_skipped"].get_uint64().get(n)) totals.error_count += n;
        simdjson::dom::array errors;
        if (!doc["errors"].get(errors))
            for (simdjson::dom::element e : errors) {
                std::uint64_t line = 0;
                std::string_view message;
                if (totals.errors.size() < max_listed_errors && !e["line"].get_uint64().get(line) &&
                    !e["error"].get_string().get(message))
                    totals.errors.push_back({static_cast<std::size_t>(line), std::string(message), path});
            }
    }
    const auto& given = job.policy_given;
    if ((given.approve_max && job.rules.approve_max != policy->approve_max) ||
        (given.reject_min && job.rules.reject_min != policy->reject_min) || (given.lgd && job.rules.lgd != policy->lgd))
        throw std::runtime_error("the partials were scored with the policy " + policy_text(*policy) +
                                 ", which --approve-max, --reject-min or --lgd contradict");
    job.rules = *policy;
    std::optional<staged_file> out;
    if (!job.summary_path.empty() && !names_stdout(job.summary_path)) out.emplace(job.summary_path, summary_slot, "summary");
    write_summary_file(job, m, total, totals, job.summary_path, false,
                       out ? out->stream() : job.summary_path.empty() ? stderr : stdout);
    if (out) out->commit();
    return 0;
}

}  // namespace loanrisk::cli

// Decoders: request bodies (JSON, NDJSON, CSV) -> LoanBatch. They never throw on bad input: the first
// bad item stops decoding and comes back as an error value naming the item and field, e.g.
// {code "invalid_field", where "items[17].data.person_age", what "expected a number"} or
// {code "malformed_json", what "...", offset 123}. Unknown fields are ignored; missing features are
// left to the model's missing handling; the id comes from the first non-empty of the id fields.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/batch.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/result.hpp"

namespace loanrisk::io {

class special_scan;  // csv.hpp

// The API contract's id fallback list, in priority order.
inline constexpr std::string_view id_fields[] = {"application_id", "ID",          "id",          "loan_id",
                                                 "client_id",      "customer_id", "reference_id"};

struct decode_limits {
    std::size_t max_items = 50'000'000;     // items per request body
    std::size_t max_line_bytes = 1 << 20;   // one NDJSON line / CSV record
    // Large bodies are decoded on several cores:
    std::size_t threads = 0;                    // at most this many (0: every core; callers that already
                                                // decode blocks in parallel pass 1)
    std::size_t json_piece_bytes = 256 << 10;   // a JSON batch of two pieces or more, cut into pieces this big
    std::size_t ndjson_lines_bytes = 16 << 10;  // NDJSON lines arriving together, in pieces of up to the above
    std::size_t csv_part_bytes = 64 << 10;      // CSV records, at least this many bytes per core
};

// Bytes the JSON parser may read past a body's end. A caller whose buffer holds at least this many
// readable bytes after the body (a std::string reserved for it) passes its capacity, the bytes readable
// from body.data(), and the body is parsed in place; otherwise (capacity 0) the decoder copies it.
inline constexpr std::size_t json_padding = 64;

// /predict body: {"application_id": "A-1", "data": {...features}} or a flat object of features (with
// an id field among them). Appends exactly one loan to `out` on success.
status decode_json_single(std::string_view body, const core::compiled_model& m, core::loan_batch& out,
                          std::size_t capacity = 0);

// /batch_predict JSON body: {"items": [item, ...]} where each item is flat or {"application_id", "data"}.
// Paths: items[17].person_age (flat) or items[17].data.person_age. Appends every item to `out`.
status decode_json_batch(std::string_view body, const core::compiled_model& m, core::loan_batch& out,
                         const decode_limits& limits = {}, std::size_t capacity = 0);

// NDJSON (one item per line, either item shape), fed in arbitrary chunks: complete lines are decoded
// into `out` as they arrive; a partial last line waits for the next chunk or finish(). Empty lines are
// skipped. Error paths: "line 17.person_age" (1-based line of the body).
class ndjson_decoder {
public:
    ndjson_decoder(const core::compiled_model& m, decode_limits limits = {});
    ~ndjson_decoder();
    ndjson_decoder(ndjson_decoder&&) noexcept;
    // After an error, feed() and finish() return that error again.
    status feed(std::string_view chunk, core::loan_batch& out);
    status finish(core::loan_batch& out);  // decodes a last line without a trailing newline
    std::size_t items() const { return items_; }
    // Before the first feed(): the text that follows starts after `lines_before` lines, at byte
    // `body_offset` of a larger body (a block of a stream decoded on its own), so errors name the
    // stream's lines and offsets.
    void continue_at(std::size_t lines_before, std::size_t body_offset) {
        line_ = lines_before;
        offset_ = body_offset;
    }

private:
    struct state;  // the JSON parser and item decoder, kept out of this header (simdjson is large)
    status drain(core::loan_batch& out, bool final);
    status decode_line(std::size_t begin, std::size_t end, core::loan_batch& out);

    const core::compiled_model& model_;
    decode_limits limits_;
    std::string carry_;                  // the unfinished last line
    std::size_t line_ = 0, items_ = 0;   // lines consumed; loans decoded
    std::size_t offset_ = 0;             // body offset of carry_[0]
    std::size_t scanned_ = 0;            // bytes of carry_ known to hold no line end
    bool pieces_ = true;                 // complete lines may be decoded in pieces (none has failed there)
    std::unique_ptr<state> state_;
};

// The instruction set the CSV decoder parses a column's numbers with, chosen at run time: "avx512" or
// "scalar".
std::string_view csv_number_parser();
// The simdjson implementation that finds a JSON body's structure (stage 1), chosen at run time: "icelake",
// "haswell", "westmere" or "fallback". On-Demand's parsing after it is compiled for the build's baseline.
std::string json_structure_finder();

// CSV with a header line naming the fields (RFC 4180, LF or CRLF, quoted fields, empty = missing), fed
// in arbitrary chunks. Numeric features must parse as numbers; categorical fields are text. Error paths:
// "line 17, column person_age".
class csv_decoder {
public:
    csv_decoder(const core::compiled_model& m, decode_limits limits = {});
    // After an error, feed() and finish() return that error again.
    status feed(std::string_view chunk, core::loan_batch& out);
    status finish(core::loan_batch& out);
    std::size_t items() const { return items_; }
    // Once the header is in: the model inputs it has no column for (every row scores them as missing).
    std::vector<std::string> inputs_without_column() const;
    // After the header has been fed: the records that follow start after `lines_before` lines, at byte
    // `body_offset` of a larger body (a block of a stream decoded on its own).
    void continue_at(std::size_t lines_before, std::size_t body_offset) {
        line_ = lines_before;
        offset_ = body_offset;
        bom_seen_ = 3;
    }

private:
    // What a column feeds, settled by the header.
    struct column_role {
        int input = -1;  // model input, or ignored_column / exposure_column / id_column
    };

    // quote_free: the caller found no quote in `text`.
    status decode_records(std::string_view text, std::size_t base, core::loan_batch& out, bool quote_free = false);
    status decode_in_parts(std::string_view text, std::size_t base, core::loan_batch& out, bool quote_free);
    status decode_plain(std::string_view text, std::size_t base, core::loan_batch& out);
    status decode_general(std::string_view text, std::size_t base, core::loan_batch& out);
    std::size_t cut_plain(std::string_view text, std::size_t p, std::size_t want, special_scan& scan);
    std::size_t fill_plain(const char* origin, const char* limit, std::size_t loan, core::loan_batch& out) const;
    status header(const std::vector<std::string_view>& names, std::size_t line);
    status record(const std::vector<std::string_view>& fields, std::size_t line, std::size_t offset,
                  core::loan_batch& out);
    status fail(error e);

    const core::compiled_model& model_;
    decode_limits limits_;
    std::string carry_;                 // the unfinished last record
    std::size_t line_ = 0, items_ = 0;  // lines consumed; loans decoded
    std::size_t offset_ = 0;            // body offset of carry_[0]
    csv_quotes quotes_;                 // the quote state where carry_ ends
    std::size_t bom_seen_ = 0;          // bytes of a byte-order mark opening the body so far (3: none to look for)
    bool have_header_ = false;
    std::vector<column_role> columns_;         // per CSV column
    std::vector<std::size_t> id_columns_;     // columns holding id fields, in id_fields priority order
    std::vector<std::string_view> fields_;    // the record being decoded (reused)
    // decode_plain's records, cut into fields and kept column by column (sized on first use).
    struct plain_block {
        std::size_t rows = 0;
        std::size_t rows_max = 0;               // rows a cut may hold (0: not sized yet)
        std::size_t origin = 0;                 // text offset the cut started at
        std::vector<std::uint32_t> begin, end;  // [column * rows_max + row]: a field's bytes, from origin
        std::vector<std::size_t> start, next;   // [row]: text offsets of the record and of what follows its line end
        std::vector<std::size_t> lines;         // [row]: line breaks from origin to the row; [rows]: to the cut's end
    };
    plain_block block_;
    std::optional<error> failed_;
};

}  // namespace loanrisk::io

// Internal to io: one JSON item (flat, or {"application_id", "data": {...}}) -> one LoanBatch row. The JSON
// batch, /predict and NDJSON decoders all go through item_decoder, so they validate and report alike.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <optional>

#include "loanrisk/batch.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/result.hpp"

namespace loanrisk::io::detail {

namespace od = simdjson::ondemand;

inline bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline std::string_view trim_json_space(std::string_view s) {
    while (!s.empty() && json_space(s.back())) s.remove_suffix(1);
    return s;
}

// Where an item sits in its body, for error paths: "items[17]", "[17]" (a top-level array), "line 17"
// (NDJSON) or nothing (/predict).
struct item_place {
    enum class kind : std::uint8_t { single, element, line };
    kind where = kind::single;
    std::string_view array_name;  // element: "items", or "" for a top-level array
    std::size_t n = 0;

    std::string prefix() const;
    std::string path(std::string_view field, bool in_data) const;
};

// The parsed text an item lives in: offsets in errors are relative to the whole body, so a line of an
// NDJSON body carries the body offset of its first byte.
struct json_source {
    od::document* doc = nullptr;  // null until the text has been indexed
    const char* begin = nullptr;
    std::size_t size = 0;
    std::size_t base = 0;

    std::size_t offset_of(const char* p) const { return base + static_cast<std::size_t>(p - begin); }
    // Body offset of the parser's position (where it stopped, after an error), or of the text's end.
    std::size_t here() const;
};

// A JSON syntax error as the wire reports it: code "malformed_json", a readable reason and the offset.
error malformed_json(simdjson::error_code e, const json_source& src, std::string where);
// Fails (malformed_json) when the parser has not consumed the whole text: content after the value.
status expect_end(const json_source& src, std::string where);
// Walks a value the decoder has no use for (an unknown field, a second "data"), so that malformed JSON
// inside it is still an error: On-Demand skips unread values without validating them. Nesting deeper
// than max_skipped_depth is an error too (DEPTH_ERROR), which bounds the walk's recursion.
inline constexpr std::size_t max_skipped_depth = 64;
simdjson::error_code validate_skipped(od::value v, std::size_t depth = 0);
// The field an object's iteration is at (its error checked first), by reference. Not `get(f)` into a copy:
// that reads the field's value iterator as 16 bytes just written as two smaller stores, which the store
// buffer cannot forward, a stall on every field (decode_json/1: 43 -> 34 ms on Zen 4).
inline od::field& field_at(simdjson::simdjson_result<od::field>& member) {
    od::field&& f = std::move(member).value_unsafe();
    return f;
}
// The key of `f` without a copy when it holds no escapes.
simdjson::error_code key_of(od::field& f, std::string_view& key);
// Sets model input `in` (= m.inputs[input]) of `loan` from `v` when it is what the input expects: a number
// within the domain, or a string (a category). False otherwise; a value of another type is left unread (a
// failed On-Demand getter does not move past it), so the caller may still read it another way.
// `binned_later`, when given, takes the number of a binned input instead of its code column, for the
// caller to bin a block of them at once with core::store_bin_codes.
bool set_expected_value(const core::input_field& in, std::size_t input, od::value& v, core::loan_batch& out,
                        std::size_t loan, double* binned_later = nullptr);

// Maps the keys an item may hold (model inputs, the exposure field, the id fields, "data") to what they
// mean. Documents usually repeat one key order, so the key that followed the previous one last time is
// tried first and the full scan is the fallback; the table therefore learns and is not shared between
// threads.
class key_table {
public:
    struct entry {
        std::string_view name;  // views into the compiled model or string literals
        int input = -1;         // index into compiled_model::inputs
        int id_rank = -1;       // position in io::id_fields
        bool exposure = false;  // the exposure field when it is not a model input
        bool data = false;      // "data": the features of a {"application_id", "data"} item
        bool raw_comparable = false;  // find_expected may compare the name with a key's raw bytes
    };

    explicit key_table(const core::compiled_model& m);

    int start_state(bool in_data) const { return static_cast<int>(entries_.size()) + (in_data ? 1 : 0); }
    // Entry index of `key`, or -1 for a key the model does not use. `state` is the last matched entry
    // on the same object (start_state() before the first) and is updated.
    int find(std::string_view key, int& state);
    // The entry expected after `state` when `raw` (a key's bytes after its opening quote, in a document
    // followed by simdjson's padding) names it without escapes, updating `state`; else not_told, and the
    // caller unescapes the key for find(). Saves finding the key's end on the usual path.
    static constexpr int not_told = -2;
    int find_expected(const char* raw, int& state) const;
    const entry& operator[](int i) const { return entries_[static_cast<std::size_t>(i)]; }

private:
    std::vector<entry> entries_;
    std::vector<int> next_;  // per entry and per start state: the entry that followed it last time
};

class item_decoder {
public:
    explicit item_decoder(const core::compiled_model& m) : model_(m), keys_(m) {}
    const core::compiled_model& model() const { return model_; }

    // Decodes `item` into one new loan of `out`. A value that is not an object is invalid_request; on
    // any error `out` is left as it was.
    status decode(od::value item, const json_source& src, const item_place& place, core::loan_batch& out);
    // The same for a document whose root is the item (/predict, one NDJSON line).
    status decode(od::document& doc, const json_source& src, const item_place& place, core::loan_batch& out);

private:
    struct item_state;
    status decode_object(od::object obj, const json_source& src, const item_place& place,
                         core::loan_batch& out);
    status decode_fields(od::object obj, bool in_data, item_state& st, const json_source& src,
                         const item_place& place, core::loan_batch& out);
    status decode_field(const key_table::entry& e, std::string_view key, od::value& v, bool in_data,
                        item_state& st, const json_source& src, const item_place& place, core::loan_batch& out);

    const core::compiled_model& model_;
    key_table keys_;
};

// A large /batch_predict body of the usual shape decoded on every core (json_pieces.cpp). nullopt when the
// body is small, of another shape, or not decoded there because of an error: the caller then decodes it
// serially, which reports errors exactly.
std::optional<status> decode_in_pieces(std::string_view body, const core::compiled_model& m, core::loan_batch& out,
                                       const decode_limits& limits);

// NDJSON: `lines` (whole lines, the last ending with its line feed), one item per line, decoded into `out`
// on every core (json_pieces.cpp). False, with `out` as it was, on any line plain JSON decoding does not take
// (a blank line, a byte-order mark, a bad value, malformed JSON, a line over max_line_bytes, more than
// max_items): the caller then decodes the lines one by one, which reports errors exactly.
bool decode_lines_in_pieces(std::string_view lines, const core::compiled_model& m, core::loan_batch& out,
                            const decode_limits& limits);

}  // namespace loanrisk::io::detail

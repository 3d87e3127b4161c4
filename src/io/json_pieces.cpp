// Large /batch_predict JSON bodies on every core. A body of the usual shape, `[item, ...]` or
// `{"items": [item, ...]}`, is cut between items into pieces of about json_piece_bytes (decode_limits); each
// thread takes a contiguous run of pieces, copies each one into its own buffer as `[item, ...]`, and indexes
// and decodes it there while it is in cache. Threads decode into their own batches, joined in order.
//
// A cut is found by its bytes (`}`, `,`, `{` with only whitespace between), which could also sit inside a
// string or a nested array; but then a piece next to it does not parse as one array with nothing after it.
// Each piece starts with the lexer outside any string, as the items array does, so pieces that all parse
// make up the items array: the cuts were between items.
//
// Items are decoded by plain_items, which takes only what it can decode without building an error; on
// anything else (a bad value, malformed JSON, a false cut, too many items, a rare item layout) the caller
// decodes the whole body again serially, which reports errors exactly and handles every layout.
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "json_item.hpp"
#include "loanrisk/parallel.hpp"

namespace loanrisk::io::detail {
namespace {


// Where the items lie, as body offsets: `begin` just after the array's `[`, `end` at its `]`.
struct items_span {
    std::size_t begin = 0, end = 0;
};

// The span when the body is exactly `[...]` or `{"items": [...]}` (whitespace allowed around the tokens).
std::optional<items_span> plain_items_span(std::string_view body) {
    std::size_t i = 0, j = body.size();
    auto take = [&](std::string_view token) {
        while (i < j && json_space(body[i])) ++i;
        if (body.substr(i, token.size()) != token) return false;
        i += token.size();
        return true;
    };
    auto take_back = [&](char c) {
        while (j > i && json_space(body[j - 1])) --j;
        if (j == i || body[j - 1] != c) return false;
        --j;
        return true;
    };
    if (take("{")) {
        if (!take("\"items\"") || !take(":") || !take("[") || !take_back('}') || !take_back(']')) return std::nullopt;
    } else if (!take("[") || !take_back(']')) {
        return std::nullopt;
    }
    return items_span{i, j};
}

// The first cut at or after `from` and before `end`: the offset of a comma between `}` and `{`, or `end`.
std::size_t next_cut(std::string_view body, std::size_t from, std::size_t end) {
    for (std::size_t i = from; i < end; ++i) {
        const void* hit = std::memchr(body.data() + i, '}', end - i);
        if (hit == nullptr) break;
        i = static_cast<std::size_t>(static_cast<const char*>(hit) - body.data());
        std::size_t k = i + 1;
        while (k < end && json_space(body[k])) ++k;
        if (k == end || body[k] != ',') continue;
        const std::size_t comma = k++;
        while (k < end && json_space(body[k])) ++k;
        if (k < end && body[k] == '{') return comma;
    }
    return end;
}

using piece = std::pair<std::size_t, std::size_t>;  // body offsets [begin, end)

// The first piece starts at span.begin, each next one just after a cut, and the last ends at span.end.
std::vector<piece> cut_pieces(std::string_view body, const items_span& span, std::size_t piece_bytes) {
    std::vector<piece> pieces;
    std::size_t at = span.begin;
    while (at < span.end) {
        const std::size_t cut = next_cut(body, std::min(at + piece_bytes, span.end), span.end);
        pieces.emplace_back(at, cut);
        at = cut + 1;
    }
    return pieces;
}

constexpr int no_id = std::numeric_limits<int>::max();

// Decodes the items of one array into `out` when each is an object whose values are what the model
// expects: numbers within an input's domain, strings for categories, null for missing; ids as strings or
// numbers; unknown fields of any valid JSON. Flat items and {"application_id", "data": {...}} items, as
// the item decoder reads them. False on anything else, with `out` in an unspecified state.
class plain_items {
public:
    plain_items(const core::compiled_model& m, std::size_t max_items)
        : m_(m), keys_(m), max_items_(max_items),
          numbers_(m.inputs.size() * block, std::numeric_limits<double>::quiet_NaN()) {
        for (std::size_t k = 0; k < m.inputs.size(); ++k)
            if (m.inputs[k].numeric && !m.inputs[k].standardized) binned_inputs_.push_back(k);
    }

    // `starts`, when given: where each item must begin, one per item (NDJSON lines).
    bool decode(od::array items, core::loan_batch& out, const std::vector<const char*>* starts = nullptr) {
        const std::size_t first = out.size;
        std::size_t n = first;  // loans decoded; out.size runs ahead by up to a block of defaults
        block_first_ = first;   // nothing to bin yet: the first item grows `out` and opens a block
        for (auto element : items) {
            od::value v;
            od::object obj;
            if (decoded_ == max_items_ || std::move(element).get(v)) return false;
            if (starts && (n - first == starts->size() || v.raw_json_token().data() != (*starts)[n - first])) return false;
            if (v.get_object().get(obj)) return false;
            if (n == out.size) {
                encode_block(out, n);
                out.grow(m_, block);
                block_first_ = n;
            }
            item it;
            if (!fields(obj, false, it, out, n)) return false;
            const int level = it.id_rank[0] != no_id ? 0 : it.id_rank[1] != no_id ? 1 : -1;
            if (level >= 0) out.id_text.append(it.id[level]);
            out.id_end[n] = out.id_text.size();
            out.id_present[n] = level >= 0;
            ++n;
            ++decoded_;
        }
        encode_block(out, n);
        out.truncate(n);
        core::finish_loans(m_, out, first, n);
        return !starts || n - first == starts->size();
    }

private:
    static constexpr std::size_t block = 256;

    // The codes of the binned inputs for the block's loans [block_first_, end), then the block's numbers
    // cleared (NaN: missing) for the next.
    void encode_block(core::loan_batch& out, std::size_t end) {
        for (std::size_t k : binned_inputs_) {
            const core::input_field& in = m_.inputs[k];
            double* x = numbers_.data() + k * block;
            core::store_bin_codes(in, x, end - block_first_, out.codes[in.column].data() + block_first_);
            std::fill(x, x + block, std::numeric_limits<double>::quiet_NaN());
        }
    }

    struct item {
        bool data_seen = false;
        bool top_features = false;
        std::string_view id[2];  // [0] top level, [1] inside data
        int id_rank[2] = {no_id, no_id};
    };

    bool fields(od::object obj, bool in_data, item& it, core::loan_batch& out, std::size_t loan) {
        int state = keys_.start_state(in_data);
        for (auto member : obj) {
            if (member.error()) return false;
            od::field& f = field_at(member);
            int k = keys_.find_expected(f.key().raw(), state);
            if (k == key_table::not_told) {
                std::string_view key;
                if (key_of(f, key)) return false;
                k = keys_.find(key, state);
            }
            od::value& v = f.value();
            if (k < 0) {
                if (validate_skipped(v)) return false;
                continue;
            }
            const key_table::entry& e = keys_[k];
            if (e.data && !in_data) {
                // The features of a {"application_id", "data"} item; any other "data" goes to the item decoder.
                od::object data;
                if (it.data_seen || it.top_features || e.input >= 0 || v.get_object().get(data)) return false;
                it.data_seen = true;
                if (!fields(data, true, it, out, loan)) return false;
                continue;
            }
            if (e.input < 0 && !e.exposure && e.id_rank < 0) {  // "data" inside data: not a feature
                if (validate_skipped(v)) return false;
                continue;
            }
            if (e.id_rank >= 0) {
                if (e.input >= 0 || e.exposure || !id(v, in_data, e.id_rank, it)) return false;
                continue;
            }
            // A feature at the top level of an item that has (or will have) "data" is not a feature.
            if (!in_data && it.data_seen) return false;
            it.top_features |= !in_data;
            if (!value(e, v, out, loan)) return false;
        }
        return true;
    }

    bool id(od::value& v, bool in_data, int rank, item& it) {
        const int level = in_data ? 1 : 0;
        std::string_view text;
        if (v.get_string().get(text) == simdjson::SUCCESS) {
        } else if (double x; v.get_double().get(x) == simdjson::SUCCESS) {
            text = trim_json_space(v.raw_json_token());  // the number as written
        } else {
            bool null = false;
            return v.is_null().get(null) == simdjson::SUCCESS && null;
        }
        if (!text.empty() && rank < it.id_rank[level]) {
            it.id[level] = text;
            it.id_rank[level] = rank;
        }
        return true;
    }

    bool value(const key_table::entry& e, od::value& v, core::loan_batch& out, std::size_t loan) {
        if (e.input < 0) {  // the exposure field outside the model
            double x = 0;
            if (v.get_double().get(x) == simdjson::SUCCESS) {
                core::set_exposure(out, loan, x);
                return true;
            }
            return validate_skipped(v) == simdjson::SUCCESS;
        }
        const auto input = static_cast<std::size_t>(e.input);
        if (set_expected_value(m_.inputs[input], input, v, out, loan, &numbers_[input * block + (loan - block_first_)]))
            return true;
        bool null = false;
        return v.is_null().get(null) == simdjson::SUCCESS && null;
    }

    const core::compiled_model& m_;
    key_table keys_;
    std::size_t max_items_;
    std::size_t decoded_ = 0;  // over every array decoded
    // The numbers of the binned inputs for the block's loans, by input (block apiece; NaN: missing), binned
    // when the block is full or the array ends: parsing and binning then run as loops of their own, and
    // bin_code's chain of dependent loads stays out of the parse.
    std::vector<double> numbers_;
    std::vector<std::size_t> binned_inputs_;
    std::size_t block_first_ = 0;  // the block's first loan
};

// A piece as simdjson reads it: `[` + the piece + `]` in a padded buffer. NDJSON lines become the items of
// one array: each line feed becomes a comma (the last the closing bracket), and `starts` gets where each
// line's first non-blank byte lies, where its item must begin: then no value can span two lines nor a line
// hold two (a value that ran past its line's comma would leave the next line's item starting later).
std::size_t piece_text(std::string_view body, piece p, bool lines, std::size_t max_line, std::vector<char>& text,
                       std::vector<const char*>& starts) {
    const auto [begin, end] = p;
    const std::size_t size = end - begin + 2;
    if (text.size() < size + simdjson::SIMDJSON_PADDING) text.resize(size + simdjson::SIMDJSON_PADDING);
    text[0] = '[';
    std::memcpy(text.data() + 1, body.data() + begin, end - begin);
    text[size - 1] = ']';
    if (!lines) return size;
    starts.clear();
    char* const first = text.data() + 1;
    char* const last = text.data() + size - 1;  // the closing bracket, where the last line feed was
    for (char* line = first; line < last;) {
        char* feed = static_cast<char*>(std::memchr(line, '\n', static_cast<std::size_t>(last - line)));
        if (feed == nullptr) feed = last;
        if (static_cast<std::size_t>(feed - line) > max_line) return 0;
        const char* item = line;
        while (item < feed && json_space(*item)) ++item;
        starts.push_back(item);
        if (feed < last) *feed = ',';
        line = feed + 1;
    }
    return size;
}

// Decodes pieces [first, last) into `out`; false on anything plain_items does not take.
bool decode_pieces(std::string_view body, const std::vector<piece>& pieces, std::size_t first, std::size_t last,
                   const core::compiled_model& m, const decode_limits& limits, bool lines, core::loan_batch& out) {
    od::parser parser;
    plain_items decoder(m, limits.max_items);
    std::vector<char> text;
    std::vector<const char*> starts;
    for (std::size_t p = first; p < last; ++p) {
        const std::size_t size = piece_text(body, pieces[p], lines, limits.max_line_bytes, text, starts);
        od::document doc;
        od::array items;
        if (size == 0 || parser.iterate(text.data(), size, text.size()).get(doc) || doc.get_array().get(items))
            return false;
        if (!decoder.decode(items, out, lines ? &starts : nullptr)) return false;
        const char* rest = nullptr;
        if (doc.current_location().get(rest) == simdjson::SUCCESS) return false;  // content after the array
    }
    return true;
}

// Pieces decoded on up to limits.threads cores; false, with `out` as it was, when any piece fails.
bool decode_all(std::string_view body, const std::vector<piece>& pieces, const core::compiled_model& m,
                core::loan_batch& out, const decode_limits& limits, bool lines) {
    if (pieces.empty()) return false;  // an empty array: nothing to share out
    const std::size_t threads = limits.threads ? std::min(limits.threads, pieces.size()) : core::parts_for(pieces.size(), 1);
    const std::size_t before = out.size;
    // The first run of pieces is decoded into `out` itself, the others into batches appended after it.
    std::vector<core::loan_batch> parts(threads - 1);
    std::vector<char> done(threads, 0);
    try {
        core::run_parts(threads, [&](std::size_t t) {
            if (t) parts[t - 1].reset(m, out.keep_raw);
            done[t] = decode_pieces(body, pieces, pieces.size() * t / threads, pieces.size() * (t + 1) / threads, m,
                                    limits, lines, t ? parts[t - 1] : out);
        });
    } catch (...) {  // out of memory: `out` as it was, and the caller's error
        out.truncate(before);
        throw;
    }
    std::size_t total = out.size - before;
    for (const auto& part : parts) total += part.size;
    if (std::find(done.begin(), done.end(), 0) != done.end() || total > limits.max_items) {
        out.truncate(before);
        return false;
    }
    for (const auto& part : parts) out.append(part);
    return true;
}

}  // namespace

std::optional<status> decode_in_pieces(std::string_view body, const core::compiled_model& m, core::loan_batch& out,
                                       const decode_limits& limits) {
    const std::size_t piece_bytes = std::max<std::size_t>(limits.json_piece_bytes, 1);
    if (body.size() < 2 * piece_bytes) return std::nullopt;
    const auto span = plain_items_span(body);
    if (!span) return std::nullopt;
    if (!decode_all(body, cut_pieces(body, *span, piece_bytes), m, out, limits, false)) return std::nullopt;
    return status(ok());
}

bool decode_lines_in_pieces(std::string_view lines, const core::compiled_model& m, core::loan_batch& out,
                            const decode_limits& limits) {
    if (lines.empty() || lines.back() != '\n') return false;
    // Pieces of json_piece_bytes, or fewer bytes so that every core gets one.
    const std::size_t cores = limits.threads ? limits.threads : core::parts_for(lines.size(), 1);
    const std::size_t piece_bytes =
        std::clamp<std::size_t>(lines.size() / std::max<std::size_t>(cores, 1), 1, std::max<std::size_t>(limits.json_piece_bytes, 1));
    std::vector<piece> pieces;
    for (std::size_t at = 0; at < lines.size();) {
        const std::size_t from = std::min(at + piece_bytes, lines.size()) - 1;
        const auto end = static_cast<std::size_t>(static_cast<const char*>(std::memchr(lines.data() + from, '\n', lines.size() - from)) - lines.data());
        pieces.emplace_back(at, end);  // the piece's last line feed becomes its closing bracket
        at = end + 1;
    }
    return decode_all(lines, pieces, m, out, limits, true);
}

}  // namespace loanrisk::io::detail

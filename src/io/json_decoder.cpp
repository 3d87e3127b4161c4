// JSON request bodies -> LoanBatch with simdjson On-Demand: /predict (one item) and /batch_predict
// ({"items": [...]} or a bare array), plus the per-item decoding NDJSON shares (json_item.hpp).
#include <simdjson.h>

#include <bit>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <vector>
#include <string>
#include <utility>

#include "json_item.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/json_writer.hpp"

namespace loanrisk::io {
namespace detail {
namespace {

constexpr int no_id = std::numeric_limits<int>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number grammar. simdjson refuses both malformed numbers and ones a double cannot hold
// (1e999) with the same error; only the first kind is malformed JSON, the second is a bad value.
bool is_json_number(std::string_view s) {
    std::size_t i = 0, n = s.size();
    if (i < n && s[i] == '-') ++i;
    if (i == n) return false;
    if (s[i] == '0') ++i;
    else if (is_digit(s[i])) while (i < n && is_digit(s[i])) ++i;
    else return false;
    if (i < n && s[i] == '.') {
        if (++i == n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i])) ++i;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        if (i == n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i])) ++i;
    }
    return i == n;
}

// Where the brackets of a text stop making one document, and why; none when they do (only on the error
// path: simdjson does not say where for these).
struct structure_fault {
    std::size_t offset = 0;
    const char* what = nullptr;  // null: the brackets make one document
};

structure_fault find_structure_fault(std::string_view s) {
    std::vector<char> open;  // the closers expected, innermost last
    bool in_string = false, rooted = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        if (json_space(c)) continue;
        if (rooted && open.empty()) return {i, "unexpected content after the JSON value"};
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            open.push_back(c == '{' ? '}' : ']');
            rooted = true;
        } else if (c == '}' || c == ']') {
            if (open.empty() || open.back() != c) return {i, "a closing brace or bracket that closes nothing open here"};
            open.pop_back();
        }
    }
    if (!open.empty()) return {s.size(), "the document ends before its objects and arrays are closed"};
    return {};
}

// simdjson's first stage reports these for the whole text, without a position; one scalar pass finds
// it (only on the error path).
std::size_t stage1_error_offset(simdjson::error_code e, std::string_view s) {
    if (e == simdjson::UTF8_ERROR) return first_invalid_utf8(s);
    if (e != simdjson::UNCLOSED_STRING && e != simdjson::UNESCAPED_CHARS) return 0;
    bool in_string = false;
    std::size_t opened = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (!in_string) {
            if (c == '"') in_string = true, opened = i;
        } else if (c == '\\') {
            ++i;
        } else if (c == '"') {
            in_string = false;
        } else if (static_cast<unsigned char>(c) < 0x20 && e == simdjson::UNESCAPED_CHARS) {
            return i;
        }
    }
    return in_string ? opened : 0;
}

const char* reason(simdjson::error_code e) {
    switch (e) {
    case simdjson::EMPTY: return "empty body: no JSON value found";
    case simdjson::TAPE_ERROR: return "improper structure: a missing or extra comma, colon, brace, bracket or key";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
        return "unbalanced braces or brackets: the document ends inside an object or array, or has content after it";
    case simdjson::UNCLOSED_STRING: return "a string is opened but never closed";
    case simdjson::UNESCAPED_CHARS: return "a control character inside a string must be escaped";
    case simdjson::UTF8_ERROR: return "the text is not valid UTF-8";
    case simdjson::STRING_ERROR: return "invalid escape sequence in a string";
    case simdjson::NUMBER_ERROR: return "invalid number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "invalid literal (expected true, false or null)";
    case simdjson::DEPTH_ERROR: return "nested too deeply";
    case simdjson::CAPACITY: return "document too large for the JSON parser";
    case simdjson::MEMALLOC: return "out of memory while parsing";
    default: return simdjson::error_message(e);
    }
}

error invalid(std::string what, std::string where, std::size_t offset, const char* code) {
    return error{std::move(what), std::move(where), offset, code};
}

}  // namespace

bool set_expected_value(const core::input_field& in, std::size_t input, od::value& v, core::loan_batch& out,
                        std::size_t loan, double* binned_later) {
    if (in.numeric) {
        double x = 0;
        if (v.get_double().get(x) != simdjson::SUCCESS || !core::number_fits(in, x)) return false;
        if (binned_later && !in.standardized) {
            *binned_later = x;
            core::store_number_aside(in, input, out, loan, x);
        } else {
            core::store_number(in, input, out, loan, x);
        }
        return true;
    }
    std::string_view text;
    if (v.get_string().get(text) != simdjson::SUCCESS) return false;
    out.codes[in.column][loan] = core::category_code(in, text);
    return true;
}

// Keys are almost never escaped, and then the raw bytes are the key.
simdjson::error_code key_of(od::field& f, std::string_view& key) {
    const char* s = f.key().raw();
    const char* p = s;
    // Stage 1 has checked that every string closes, so the scan stops inside the buffer, and the document
    // is followed by simdjson's padding: reading 8 bytes at a time cannot leave the buffer.
    if constexpr (std::endian::native == std::endian::little) {
        for (;; p += 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            if (const std::uint64_t hits = zero_bytes(w ^ broadcast('"')) | zero_bytes(w ^ broadcast('\\'))) {
                p += std::countr_zero(hits) / 8;
                break;
            }
        }
    } else {
        while (*p != '"' && *p != '\\') ++p;
    }
    if (*p == '"') {
        key = std::string_view(s, static_cast<std::size_t>(p - s));
        return simdjson::SUCCESS;
    }
    return f.unescaped_key().get(key);
}

simdjson::error_code validate_skipped(od::value v, std::size_t depth) {
    if (depth >= max_skipped_depth) return simdjson::DEPTH_ERROR;
    od::json_type t{};
    if (auto e = v.type().get(t)) return e;
    switch (t) {
    case od::json_type::array: {
        od::array a;
        if (auto e = v.get_array().get(a)) return e;
        for (auto element : a) {
            od::value x;
            if (auto e = element.get(x)) return e;
            if (auto e = validate_skipped(x, depth + 1)) return e;
        }
        return simdjson::SUCCESS;
    }
    case od::json_type::object: {
        od::object o;
        if (auto e = v.get_object().get(o)) return e;
        for (auto member : o) {
            if (auto e = member.error()) return e;
            od::field& f = field_at(member);
            std::string_view key;
            if (auto e = key_of(f, key)) return e;
            if (auto e = validate_skipped(f.value(), depth + 1)) return e;
        }
        return simdjson::SUCCESS;
    }
    case od::json_type::number: {
        const std::string_view raw = v.raw_json_token();
        double x = 0;
        if (v.get_double().get(x) == simdjson::SUCCESS || is_json_number(trim_json_space(raw)))
            return simdjson::SUCCESS;
        return simdjson::NUMBER_ERROR;
    }
    case od::json_type::string: {
        std::string_view text;
        return v.get_string().get(text);
    }
    case od::json_type::boolean: {
        bool b = false;
        return v.get_bool().get(b);
    }
    case od::json_type::null: {
        bool null = false;
        if (auto e = v.is_null().get(null)) return e;
        return null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
    }
    return simdjson::INCORRECT_TYPE;
}

std::string item_place::prefix() const {
    switch (where) {
    case kind::element: return std::string(array_name) + "[" + std::to_string(n) + "]";
    case kind::line: return "line " + std::to_string(n);
    case kind::single: break;
    }
    return {};
}

std::string item_place::path(std::string_view field, bool in_data) const {
    std::string p = prefix();
    if (!p.empty()) p += '.';
    if (in_data) p += "data.";
    p += field;
    return p;
}

std::size_t json_source::here() const {
    const char* p = nullptr;
    if (doc != nullptr && !doc->current_location().get(p)) return offset_of(p);
    return base + (doc != nullptr ? size : 0);
}

error malformed_json(simdjson::error_code e, const json_source& src, std::string where) {
    // Where the brackets go wrong, unless the parser stopped at an earlier fault (a missing comma before a
    // stray bracket is the first error; a parser that stopped at the very start has told nothing).
    if (e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT || e == simdjson::TAPE_ERROR)
        if (const structure_fault f = find_structure_fault({src.begin, src.size}); f.what) {
            const std::size_t stopped = src.doc == nullptr ? src.base : src.here();
            if (stopped == src.base || src.base + f.offset <= stopped)
                return invalid(f.what, std::move(where), src.base + f.offset, "malformed_json");
        }
    if (src.doc == nullptr)
        return invalid(reason(e), std::move(where), src.base + stage1_error_offset(e, {src.begin, src.size}),
                       "malformed_json");
    const std::size_t offset = src.here();
    const bool at_end = offset == src.base + src.size;
    if (at_end && (e == simdjson::TAPE_ERROR || e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT))
        return invalid("the document ends before its objects and arrays are closed", std::move(where), offset,
                       "malformed_json");
    return invalid(reason(e), std::move(where), offset, "malformed_json");
}

namespace {

// A value that is not valid JSON, reported at its first byte.
error malformed_json(simdjson::error_code e, std::size_t offset, std::string where) {
    return invalid(reason(e), std::move(where), offset, "malformed_json");
}

}  // namespace

status expect_end(const json_source& src, std::string where) {
    const char* p = nullptr;
    // current_location() fails exactly when the parser has consumed the whole text.
    if (src.doc->current_location().get(p)) return ok();
    return invalid("unexpected content after the JSON value", std::move(where), src.offset_of(p), "malformed_json");
}

key_table::key_table(const core::compiled_model& m) {
    for (std::size_t i = 0; i < m.inputs.size(); ++i) entries_.push_back({m.inputs[i].name, static_cast<int>(i)});
    auto add = [this](std::string_view name) -> entry& {
        for (auto& e : entries_)
            if (e.name == name) return e;
        entries_.push_back({name});
        return entries_.back();
    };
    for (std::size_t r = 0; r < std::size(id_fields); ++r) add(id_fields[r]).id_rank = static_cast<int>(r);
    if (m.exposure_input < 0 && !m.exposure_field.empty()) add(m.exposure_field).exposure = true;
    add("data").data = true;
    // Raw bytes equal to a name with a quote or backslash would spell another key; a name reaching into the
    // padding could be compared with bytes past it.
    for (auto& e : entries_)
        e.raw_comparable = e.name.size() < simdjson::SIMDJSON_PADDING &&
                           e.name.find_first_of("\"\\") == std::string_view::npos;
    // Until documents teach otherwise, expect the model's own input order.
    const int inputs = static_cast<int>(m.inputs.size());
    next_.assign(entries_.size() + 2, -1);
    for (int k = 0; k + 1 < inputs; ++k) next_[static_cast<std::size_t>(k)] = k + 1;
    next_[static_cast<std::size_t>(start_state(false))] = inputs > 0 ? 0 : -1;
    next_[static_cast<std::size_t>(start_state(true))] = inputs > 0 ? 0 : -1;
}

namespace {

// a == b, a word at a time from both ends (keys are a few words long, and memcmp is a call).
bool same_text(std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    if (n < 8) return std::memcmp(a.data(), b.data(), n) == 0;
    auto word = [](const char* p) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
    };
    for (std::size_t i = 0; i + 8 < n; i += 8)
        if (word(a.data() + i) != word(b.data() + i)) return false;
    return word(a.data() + n - 8) == word(b.data() + n - 8);
}

}  // namespace

int key_table::find(std::string_view key, int& state) {
    int& guess = next_[static_cast<std::size_t>(state)];
    if (guess >= 0 && same_text(entries_[static_cast<std::size_t>(guess)].name, key)) return state = guess;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (same_text(entries_[i].name, key)) {
            guess = static_cast<int>(i);
            return state = guess;
        }
    }
    return -1;
}

int key_table::find_expected(const char* raw, int& state) const {
    const int guess = next_[static_cast<std::size_t>(state)];
    if (guess < 0) return not_told;
    const entry& e = entries_[static_cast<std::size_t>(guess)];
    // The key's closing quote lies inside the document, so reading the name's length (under the padding)
    // from its first byte stays within the document and its padding.
    if (!e.raw_comparable || !same_text(e.name, std::string_view(raw, e.name.size())) || raw[e.name.size()] != '"')
        return not_told;
    return state = guess;
}

// What one item has collected so far. A flat item's features sit at the top level, but a
// {"application_id", "data"} item's top-level keys other than the id are not features, and which shape
// an item has is known only once "data" is reached; so a bad top-level value is held back as
// `deferred` until the end of the item, and top-level features seen before "data" are undone there.
struct item_decoder::item_state {
    std::size_t loan = 0;
    bool data_seen = false;
    bool top_features = false;
    bool has_deferred = false;
    error deferred;
    std::string_view id[2];  // [0] top level, [1] inside data
    int id_rank[2] = {no_id, no_id};
};

status item_decoder::decode(od::value item, const json_source& src, const item_place& place,
                            core::loan_batch& out) {
    od::json_type t{};
    if (auto e = item.type().get(t)) return malformed_json(e, src, place.prefix());
    const char* at = item.raw_json_token().data();
    if (t != od::json_type::object)
        return invalid("expected an object (one loan's fields)", place.prefix(), src.offset_of(at), "invalid_request");
    od::object obj;
    if (auto e = item.get_object().get(obj)) return malformed_json(e, src, place.prefix());
    return decode_object(obj, src, place, out);
}

status item_decoder::decode(od::document& doc, const json_source& src, const item_place& place,
                            core::loan_batch& out) {
    od::json_type t{};
    if (auto e = doc.type().get(t)) return malformed_json(e, src, place.prefix());
    if (t != od::json_type::object)
        return invalid("expected a JSON object (one loan's fields)", place.prefix(), src.here(), "invalid_request");
    od::object obj;
    if (auto e = doc.get_object().get(obj)) return malformed_json(e, src, place.prefix());
    return decode_object(obj, src, place, out);
}

status item_decoder::decode_object(od::object obj, const json_source& src, const item_place& place,
                                   core::loan_batch& out) {
    item_state st;
    st.loan = out.push_default(model_);
    if (auto s = decode_fields(obj, false, st, src, place, out); !s) {
        out.pop_back();
        return s;
    }
    if (st.has_deferred && !st.data_seen) {
        out.pop_back();
        return std::move(st.deferred);
    }
    // A top-level id wins over one inside data; within a level the id_fields order decides.
    const int level = st.id_rank[0] != no_id ? 0 : st.id_rank[1] != no_id ? 1 : -1;
    if (level >= 0) core::set_id(out, st.loan, st.id[level]);
    core::finish_loan(model_, out, st.loan);
    return ok();
}

status item_decoder::decode_fields(od::object obj, bool in_data, item_state& st, const json_source& src,
                                   const item_place& place, core::loan_batch& out) {
    int state = keys_.start_state(in_data);
    for (auto member : obj) {
        if (auto e = member.error()) return malformed_json(e, src, place.prefix());
        od::field& f = field_at(member);
        // The key the item's layout so far predicts, by its raw bytes; any other key is unescaped and looked up.
        int k = keys_.find_expected(f.key().raw(), state);
        std::string_view key;
        if (k != key_table::not_told) {
            key = keys_[k].name;
        } else {
            if (auto e = key_of(f, key)) return malformed_json(e, src, place.prefix());
            k = keys_.find(key, state);
        }
        od::value& v = f.value();
        if (k < 0) {
            if (auto e = validate_skipped(v)) return malformed_json(e, src, place.prefix());
            continue;
        }
        const key_table::entry& entry = keys_[k];
        if (entry.data && !in_data) {
            od::json_type t{};
            if (auto e = v.type().get(t)) return malformed_json(e, src, place.prefix());
            if (t == od::json_type::object) {
                if (st.data_seen) {  // the first "data" object holds the features
                    if (auto e = validate_skipped(v)) return malformed_json(e, src, place.prefix());
                    continue;
                }
                st.data_seen = true;
                if (st.top_features) {
                    out.pop_back();  // same index again, every column back to its default
                    out.push_default(model_);
                }
                od::object data;
                if (auto e = v.get_object().get(data)) return malformed_json(e, src, place.prefix());
                if (auto s = decode_fields(data, true, st, src, place, out); !s) return s;
                continue;
            }
            if (entry.input < 0) {
                if (auto e = validate_skipped(v)) return malformed_json(e, src, place.prefix());
                continue;
            }
        }
        if (auto s = decode_field(entry, key, v, in_data, st, src, place, out); !s) return s;
    }
    return ok();
}

status item_decoder::decode_field(const key_table::entry& entry, std::string_view key, od::value& v, bool in_data,
                                  item_state& st, const json_source& src, const item_place& place,
                                  core::loan_batch& out) {
    const int level = in_data ? 1 : 0;
    const bool want_id = entry.id_rank >= 0 && entry.id_rank < st.id_rank[level];
    const bool want_value = (in_data || !st.data_seen) && (entry.input >= 0 || entry.exposure);
    if (!want_id && !want_value) {
        if (auto e = validate_skipped(v)) return malformed_json(e, src, place.prefix());
        return ok();
    }
    // The usual value, read straight into the batch: a number within the input's domain, or a category's
    // string. Anything else (null, another type, a value out of the domain, an id) is left unread (a
    // failed get_* does not move On-Demand past the value) for the general path below.
    if (want_value && !want_id && entry.input >= 0 &&
        set_expected_value(model_.inputs[static_cast<std::size_t>(entry.input)], static_cast<std::size_t>(entry.input),
                           v, out, st.loan)) {
        st.top_features |= !in_data;
        return ok();
    }

    // Read the value once, whatever the entry wants from it (a key may be both an input and an id).
    od::json_type t{};
    if (auto e = v.type().get(t)) return malformed_json(e, src, place.prefix());
    const std::string_view raw = v.raw_json_token();
    const std::size_t at = src.offset_of(raw.data());  // errors in the value point at its first byte
    double x = 0;
    bool finite = false;
    std::string_view text;
    switch (t) {
    case od::json_type::number:
        if (v.get_double().get(x) == simdjson::SUCCESS) finite = true;
        else if (!is_json_number(trim_json_space(raw)))
            return malformed_json(simdjson::NUMBER_ERROR, at, place.prefix());
        break;
    case od::json_type::string:
        if (auto e = v.get_string().get(text)) return malformed_json(e, at, place.prefix());
        break;
    case od::json_type::null: {
        bool null = false;
        if (v.is_null().get(null) || !null) return malformed_json(simdjson::N_ATOM_ERROR, at, place.prefix());
        break;
    }
    case od::json_type::boolean: {
        bool b = false;
        if (auto e = v.get_bool().get(b)) return malformed_json(e, at, place.prefix());
        break;
    }
    default:  // arrays and objects: no use to the model, but still valid JSON or an error
        if (auto e = validate_skipped(v)) return malformed_json(e, src, place.prefix());
        break;
    }

    if (want_id) {
        std::string_view id;
        if (t == od::json_type::string) id = text;
        else if (t == od::json_type::number) id = trim_json_space(raw);  // the number as written
        if (!id.empty()) {
            st.id[level] = id;
            st.id_rank[level] = entry.id_rank;
        }
    }
    if (!want_value || t == od::json_type::null) return ok();
    if (entry.input < 0) {  // the exposure field outside the model: anything but a number leaves EL null
        if (finite) {
            core::set_exposure(out, st.loan, x);
            st.top_features |= !in_data;
        }
        return ok();
    }

    // A bad value fails the item, except at a flat item's top level: see item_state.
    auto reject = [&](error e) -> status {
        e.where = place.path(key, in_data);
        e.offset = at;
        e.code = "invalid_field";
        if (in_data) return e;
        if (!st.has_deferred) {
            st.deferred = std::move(e);
            st.has_deferred = true;
        }
        return ok();
    };
    if (model_.inputs[static_cast<std::size_t>(entry.input)].numeric) {
        if (t != od::json_type::number) return reject(error{"expected a number", ""});
        if (!finite) return reject(error{"expected a finite number", ""});
        if (auto s = core::set_number(model_, out, st.loan, entry.input, x); !s) return reject(s.err());
    } else {
        if (t != od::json_type::string) return reject(error{"expected a string", ""});
        if (auto s = core::set_category(model_, out, st.loan, entry.input, text); !s) return reject(s.err());
    }
    st.top_features |= !in_data;
    return ok();
}

}  // namespace detail

namespace {

namespace od = detail::od;

// Parsers keep their buffers between documents; one per thread serves /predict without allocating,
// but a huge batch gets its own so its buffers are freed with it.
constexpr std::size_t reusable_parser_bytes = 1 << 20;

od::parser& thread_parser() {
    thread_local od::parser p;
    return p;
}

status decode_items_serially(od::array items, std::string_view name, detail::item_decoder& decoder,
                             const detail::json_source& src, const decode_limits& limits, core::loan_batch& out) {
    detail::item_place place{detail::item_place::kind::element, name, 0};
    for (auto element : items) {
        od::value item;
        if (auto e = std::move(element).get(item)) return detail::malformed_json(e, src, place.prefix());
        if (place.n == limits.max_items)
            return error{"more than " + std::to_string(limits.max_items) + " items in one request", place.prefix(),
                         src.offset_of(item.raw_json_token().data()), "too_many_items"};
        if (auto s = decoder.decode(item, src, place, out); !s) return s;
        ++place.n;
    }
    return ok();
}

}  // namespace

namespace {

// /predict decodes one small item per request: the item decoder (its key table) is kept per thread and
// rebuilt only when the model changes. Holding the model keeps its address from being reused by another.
detail::item_decoder& thread_decoder(const core::compiled_model& m) {
    thread_local std::shared_ptr<const core::model> source;
    thread_local const core::compiled_model* compiled = nullptr;
    thread_local std::optional<detail::item_decoder> decoder;
    if (!decoder || source != m.source || compiled != &m) {
        decoder.emplace(m);
        source = m.source;
        compiled = &m;
    }
    return *decoder;
}

}  // namespace

namespace {

static_assert(json_padding >= simdjson::SIMDJSON_PADDING, "simdjson reads up to SIMDJSON_PADDING bytes past a body's end");

// The body as simdjson reads it: in place when the caller's buffer has the padding simdjson may read past
// the end, else a padded copy.
struct padded_body {
    std::optional<simdjson::padded_string> copy;
    simdjson::padded_string_view text;

    padded_body(const padded_body&) = delete;  // a copy's view would point into the original
    padded_body& operator=(const padded_body&) = delete;
    padded_body(std::string_view body, std::size_t capacity) {
        if (capacity >= body.size() + simdjson::SIMDJSON_PADDING) {
            text = simdjson::padded_string_view(body.data(), body.size(), capacity);
        } else {
            copy.emplace(body);
            text = *copy;
        }
    }
    const char* data() const { return text.data(); }
    std::size_t size() const { return text.size(); }
};

}  // namespace

status decode_json_single(std::string_view body, const core::compiled_model& m, core::loan_batch& out,
                          std::size_t capacity) {
    od::parser local;
    od::parser& parser = body.size() <= reusable_parser_bytes ? thread_parser() : local;
    const padded_body text(body, capacity);
    detail::json_source src{nullptr, text.data(), text.size(), 0};
    od::document doc;
    if (auto e = parser.iterate(text.text).get(doc)) return detail::malformed_json(e, src, "");
    src.doc = &doc;
    if (auto s = thread_decoder(m).decode(doc, src, detail::item_place{}, out); !s) return s;
    if (auto s = detail::expect_end(src, ""); !s) {
        out.pop_back();
        return s;
    }
    return ok();
}

namespace {

status decode_batch_serially(std::string_view body, std::size_t capacity, const core::compiled_model& m,
                              core::loan_batch& out, const decode_limits& limits) {
    od::parser local;
    od::parser& parser = body.size() <= reusable_parser_bytes ? thread_parser() : local;
    const padded_body text(body, capacity);
    detail::json_source src{nullptr, text.data(), text.size(), 0};
    od::document doc;
    if (auto e = parser.iterate(text.text).get(doc)) return detail::malformed_json(e, src, "");
    src.doc = &doc;
    detail::item_decoder decoder(m);

    od::json_type t{};
    if (auto e = doc.type().get(t)) return detail::malformed_json(e, src, "");
    if (t == od::json_type::array) {
        od::array items;
        if (auto e = doc.get_array().get(items)) return detail::malformed_json(e, src, "");
        if (auto s = decode_items_serially(items, "", decoder, src, limits, out); !s) return s;
        return detail::expect_end(src, "");
    }
    if (t != od::json_type::object)
        return error{"expected {\"items\": [...]} or an array of items", "", 0, "invalid_request"};

    od::object root;
    if (auto e = doc.get_object().get(root)) return detail::malformed_json(e, src, "");
    bool found = false;
    for (auto member : root) {
        if (auto e = member.error()) return detail::malformed_json(e, src, "");
        od::field& f = detail::field_at(member);
        std::string_view key;
        if (auto e = detail::key_of(f, key)) return detail::malformed_json(e, src, "");
        od::value& v = f.value();
        if (key != "items" || found) {  // other members are ignored, a repeated "items" too
            if (auto e = detail::validate_skipped(v)) return detail::malformed_json(e, src, "");
            continue;
        }
        found = true;
        od::json_type vt{};
        if (auto e = v.type().get(vt)) return detail::malformed_json(e, src, "");
        if (vt != od::json_type::array)
            return error{"\"items\" must be an array of items", "items", src.offset_of(v.raw_json_token().data()),
                         "invalid_request"};
        od::array items;
        if (auto e = v.get_array().get(items)) return detail::malformed_json(e, src, "");
        if (auto s = decode_items_serially(items, "items", decoder, src, limits, out); !s) return s;
    }
    if (!found) return error{"expected {\"items\": [...]}: the body has no \"items\" member", "", 0, "invalid_request"};
    return detail::expect_end(src, "");
}

}  // namespace

status decode_json_batch(std::string_view body, const core::compiled_model& m, core::loan_batch& out,
                         const decode_limits& limits, std::size_t capacity) {
    if (auto s = detail::decode_in_pieces(body, m, out, limits)) return *s;
    return decode_batch_serially(body, capacity, m, out, limits);
}

std::string json_structure_finder() { return simdjson::get_active_implementation()->name(); }

}  // namespace loanrisk::io

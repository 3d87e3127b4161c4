// NDJSON bodies -> LoanBatch as they stream in: this file only cuts lines; each line is one item, decoded
// by the item decoder the JSON batch uses (json_item.hpp), with one simdjson parser reused for all lines.
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "json_item.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"

namespace loanrisk::io {

struct ndjson_decoder::state {
    explicit state(const core::compiled_model& m) : items(m) {}
    detail::od::parser parser;
    detail::item_decoder items;
    std::optional<error> failed;
};

ndjson_decoder::ndjson_decoder(const core::compiled_model& m, decode_limits limits)
    : model_(m), limits_(limits), state_(std::make_unique<state>(m)) {}

ndjson_decoder::~ndjson_decoder() = default;
ndjson_decoder::ndjson_decoder(ndjson_decoder&&) noexcept = default;

namespace {

error line_too_long(std::size_t line, std::size_t offset, std::size_t limit) {
    return error{"line longer than " + std::to_string(limit) + " bytes", "line " + std::to_string(line), offset,
                 "line_too_long"};
}

bool blank(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
    return true;
}

}  // namespace

status ndjson_decoder::feed(std::string_view chunk, core::loan_batch& out) {
    if (state_->failed) return *state_->failed;
    carry_.append(chunk);
    status s = drain(out, false);
    if (!s) state_->failed = s.err();
    return s;
}

status ndjson_decoder::finish(core::loan_batch& out) {
    if (state_->failed) return *state_->failed;
    status s = drain(out, true);
    if (!s) state_->failed = s.err();
    return s;
}

status ndjson_decoder::drain(core::loan_batch& out, bool final) {
    const std::size_t size = carry_.size();
    std::size_t begin = 0;
    status s = ok();
    // Many complete lines at once are decoded in pieces on every core, when every one of them is plain;
    // otherwise (and for a few lines) one line at a time below, which reports errors exactly. A stream whose
    // lines once had to go one by one (an unusual layout in every chunk would cost both) stays that way.
    if (const std::size_t last = std::string_view(carry_.data(), size).rfind('\n');
        pieces_ && last != std::string_view::npos && last + 1 >= limits_.ndjson_lines_bytes) {
        decode_limits rest = limits_;
        rest.max_items = limits_.max_items - items_;
        const std::size_t before = out.size;
        pieces_ = detail::decode_lines_in_pieces(std::string_view(carry_.data(), last + 1), model_, out, rest);
        if (pieces_) {
            begin = last + 1;
            line_ += count_byte(std::string_view(carry_.data(), begin), '\n');
            items_ += out.size - before;
        }
    }
    // simdjson may read up to simdjson::SIMDJSON_PADDING bytes past a document: with this tail every line can be
    // parsed where it lies, the bytes after it (later lines, then the padding) serving as its padding.
    carry_.append(simdjson::SIMDJSON_PADDING, ' ');
    for (std::size_t from = std::max(scanned_, begin); from < size;) {
        const void* nl = std::memchr(carry_.data() + from, '\n', size - from);
        if (nl == nullptr) break;
        const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - carry_.data());
        s = decode_line(begin, end, out);
        if (!s) break;
        begin = from = end + 1;
    }
    if (s && final && begin < size) {
        s = decode_line(begin, size, out);
        begin = size;
    }
    carry_.resize(size);
    if (!s) return s;
    carry_.erase(0, begin);
    offset_ += begin;
    scanned_ = carry_.size();
    // Bounded memory: a line is held until its end arrives, so its length is capped here.
    if (carry_.size() > limits_.max_line_bytes) return line_too_long(line_ + 1, offset_, limits_.max_line_bytes);
    return ok();
}

status ndjson_decoder::decode_line(std::size_t begin, std::size_t end, core::loan_batch& out) {
    ++line_;
    const char* p = carry_.data() + begin;
    std::size_t n = end - begin;
    if (n > limits_.max_line_bytes) return line_too_long(line_, offset_ + begin, limits_.max_line_bytes);
    if (n > 0 && p[n - 1] == '\r') --n;
    if (line_ == 1 && n >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3, n -= 3;  // UTF-8 byte-order mark
    if (blank(p, n)) return ok();

    const auto at = static_cast<std::size_t>(p - carry_.data());
    const detail::item_place place{detail::item_place::kind::line, "", line_};
    if (items_ == limits_.max_items)
        return error{"more than " + std::to_string(limits_.max_items) + " items in one request", place.prefix(),
                     offset_ + at, "too_many_items"};
    detail::json_source src{nullptr, p, n, offset_ + at};
    detail::od::document doc;
    if (auto e = state_->parser.iterate(p, n, carry_.size() - at).get(doc))
        return detail::malformed_json(e, src, place.prefix());
    src.doc = &doc;
    if (auto s = state_->items.decode(doc, src, place, out); !s) return s;
    if (auto s = detail::expect_end(src, place.prefix()); !s) {
        out.pop_back();
        return s;
    }
    ++items_;
    return ok();
}

}  // namespace loanrisk::io

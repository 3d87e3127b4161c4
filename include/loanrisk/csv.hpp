// RFC 4180 CSV tokenizer over an in-memory buffer: the first stage of CSV decoding (training data,
// `loanrisk score`, text/csv request bodies). Never throws on bad input. And the one field writer every
// CSV output uses.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/result.hpp"

namespace loanrisk::io {

// Pull parser. Handles quoted fields ("a,b"), doubled quotes inside quotes (""), line breaks inside
// quotes, LF and CRLF record ends, a missing final newline, and a UTF-8 byte-order mark at the start.
// An empty line is skipped (not a record). Fields are views into the input, or into the reader's own
// storage when a quoted field contained "" (valid until the next call to next()).
class csv_reader {
public:
    // `body_start`: the text is the start of its file or body, where a UTF-8 byte-order mark is stepped
    // over (false for a later piece of a stream, where those bytes are data).
    explicit csv_reader(std::string_view text, char delimiter = ',', bool body_start = true);

    // Reads the next record into `fields` (cleared first). Returns true when a record was read, false
    // at the end of the input, or an error naming the line (e.g. an unterminated quote, or text after a
    // closing quote such as `"ab"c`).
    result<bool> next(std::vector<std::string_view>& fields);

    // 1-based line number on which the last record returned by next() started.
    std::size_t line() const { return record_line_; }
    // Byte offset at which the last record returned by next() started.
    std::size_t offset() const { return record_offset_; }

private:
    std::string_view text_;
    char delimiter_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
    std::size_t record_line_ = 0;
    std::size_t record_offset_ = 0;
    std::vector<std::string> unescaped_;  // storage for quoted fields that held ""
};

namespace detail {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "find_field_end reads words in memory order and needs a plain byte order");

inline constexpr std::uint64_t broadcast(char c) {
    return 0x0101010101010101ULL * static_cast<unsigned char>(c);
}

// High bit set in exactly the bytes of `x` that are zero. The cheaper `(x - 0x01..) & ~x` flags false
// positives above a true zero (the borrow ripples), which would pick the wrong byte on big-endian.
inline constexpr std::uint64_t zero_bytes(std::uint64_t x) {
    constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
    return ~(((x & low7) + low7) | x | low7);
}

}  // namespace detail

// Index of the first byte at or after `i` that ends an unquoted field (delimiter, LF, CR) or is a
// stray quote, or s.size(). An unquoted field can end at any of four bytes and memchr looks for one,
// so this checks eight bytes per step instead: most of a typical file is unquoted fields.
inline std::size_t find_field_end(std::string_view s, std::size_t i, char delimiter) {
    const char* p = s.data();
    const std::size_t n = s.size();
    using detail::broadcast, detail::zero_bytes;
    const std::uint64_t d = broadcast(delimiter), lf = broadcast('\n'), cr = broadcast('\r'), q = broadcast('"');
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        const std::uint64_t hits = zero_bytes(w ^ d) | zero_bytes(w ^ lf) | zero_bytes(w ^ cr) | zero_bytes(w ^ q);
        if (hits != 0) {
            const int bit = std::endian::native == std::endian::little ? std::countr_zero(hits) : std::countl_zero(hits);
            return i + static_cast<std::size_t>(bit / 8);
        }
    }
    for (; i < n; ++i) {
        const char c = p[i];
        if (c == delimiter || c == '\n' || c == '\r' || c == '"') return i;
    }
    return n;
}

// Appends `v` as one CSV field: as is, or quoted (with "" for ") when it holds a comma, quote or line break.
inline void append_csv_field(std::string& out, std::string_view v) {
    // (find_first_of with a set would call memchr over the set once per character.)
    if (std::none_of(v.begin(), v.end(), [](char c) { return c == ',' || c == '"' || c == '\r' || c == '\n'; })) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

}  // namespace loanrisk::io

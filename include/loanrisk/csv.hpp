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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Where CSV records end, read as the tokenizer reads RFC 4180: a quote opens a quoted field only at the start
// of a field, and a doubled quote inside one is a quote. Anywhere else a quote is data, which the decoder
// refuses for that record alone: counting every quote instead let one stray quote (O"NEIL) join the rest of
// the input into one record, lost with it (or refused as too long, depending on where the body was cut).
struct csv_quotes {
    bool quoted = false;         // inside a quoted field
    bool quote_pending = false;  // a quote inside one: its end, or the first of a doubled quote
    bool field_start = true;

    bool inside() const { return quoted || quote_pending; }
    static bool starts_field_after(char c) { return c == ',' || c == '\n' || c == '\r'; }
    // Steps over one byte; true for a line feed that ends the record.
    bool step(char c) {
        if (quote_pending) {
            quote_pending = false;
            if (c == '"') return false;  // a doubled quote: still inside
            quoted = false;              // that quote closed the field; c comes after it
        } else if (quoted) {
            quote_pending = c == '"';
            return false;
        }
        if (c == '"' && field_start) {
            quoted = true;
            field_start = false;
            return false;
        }
        field_start = starts_field_after(c);
        return c == '\n';
    }
    // Steps over [begin, end). Only quotes change the state, so the bytes between them are skipped with
    // memchr; outside a quoted field a quote opens one when the byte before it ends a field.
    void span(const char* begin, const char* end) {
        for (const char* p = begin; p < end;) {
            if (!quote_pending) {
                const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
                if (!quoted && q != p) field_start = starts_field_after(q ? q[-1] : end[-1]);
                if (q == nullptr) return;
                p = q;
            }
            step(*p++);
        }
    }
    // Steps over the line [begin, end) and its line feed; true when that ends the record.
    bool line(const char* begin, const char* end) {
        span(begin, end);
        return step('\n');
    }
};

// `s` without the spaces and tabs around it: how CSV header names and numbers are read, and HTTP header
// values and their list items (RFC 9110's optional whitespace).
inline std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

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

// A byte an unquoted field ends at (the delimiter, LF, CR) or a quote.
inline constexpr bool special_byte(char c, char delimiter) {
    return c == delimiter || c == '\n' || c == '\r' || c == '"';
}

}  // namespace detail

// How many bytes of `s` are `c`: 16 bytes per compare with SSE2, else eight per step. std::count's loop
// widens every byte to 64 bits (1.8 GB/s here against 20 GB/s and more: 16 ms of every 29 MB NDJSON body).
inline std::size_t count_byte(std::string_view s, char c) {
    const char* p = s.data();
    std::size_t n = s.size(), count = 0;
#if defined(__SSE2__) && defined(__x86_64__)
    const __m128i x = _mm_set1_epi8(c);
    while (n >= 16) {
        // Up to 255 compares counted in the bytes of `hits` (a hit subtracts -1), then summed.
        __m128i hits = _mm_setzero_si128();
        for (int k = 0; k < 255 && n >= 16; ++k, p += 16, n -= 16)
            hits = _mm_sub_epi8(hits, _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), x));
        const __m128i sums = _mm_sad_epu8(hits, _mm_setzero_si128());
        count += static_cast<std::size_t>(_mm_cvtsi128_si64(sums)) +
                 static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
    }
#else
    const std::uint64_t pattern = detail::broadcast(c);
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        count += static_cast<std::size_t>(std::popcount(detail::zero_bytes(w ^ pattern)));
    }
#endif
    for (; n > 0; ++p, --n) count += *p == c;
    return count;
}

// Line breaks as csv_reader counts them: LF, CRLF and a lone CR each once.
inline std::size_t count_line_breaks(std::string_view s) {
    std::size_t count = count_byte(s, '\n');
    // A CR counts only when no LF follows it (the LF already counted the CRLF); most data has no CR.
    for (std::size_t i = s.find('\r'); i != std::string_view::npos; i = s.find('\r', i + 1))
        if (i + 1 == s.size() || s[i + 1] != '\n') ++count;
    return count;
}

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
    for (; i < n; ++i)
        if (detail::special_byte(p[i], delimiter)) return i;
    return n;
}

// The text's bytes classified 64 at a time: masks of the delimiters, of the line feeds and of the other bytes
// that end or open a field (quotes, CRs), bit k for byte base + k, of the window of 64 bytes from `base` (a
// multiple of 64 from the text's start); bits past the text's end are clear. A reader that takes a common
// record whole reads them apart; special_scan reads them together.
class window_masks {
public:
    struct masks {
        std::uint64_t delimiters = 0, line_feeds = 0, others = 0;
        std::uint64_t specials() const { return delimiters | line_feeds | others; }
    };

    window_masks(std::string_view s, char delimiter) : d_(s.data()), n_(s.size()), delimiter_(delimiter) {}

    std::size_t size() const { return n_; }

    const masks& window(std::size_t base) {
        if (base != base_) load(base);
        return m_;
    }

private:
    // With SSE2 (every x86-64) 16 bytes per compare, else (and for the text's last bytes) a byte loop.
    void load(std::size_t base) {
        base_ = base;
        m_ = {};
        const char* p = d_ + base;
#if defined(__SSE2__)
        if (n_ - base >= 64) {
            const __m128i d = _mm_set1_epi8(delimiter_), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                          q = _mm_set1_epi8('"');
            for (int k = 0; k < 4; ++k) {
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
                auto bits = [&](__m128i hit) {
                    return std::uint64_t{static_cast<std::uint16_t>(_mm_movemask_epi8(hit))} << (16 * k);
                };
                m_.delimiters |= bits(_mm_cmpeq_epi8(v, d));
                m_.line_feeds |= bits(_mm_cmpeq_epi8(v, lf));
                m_.others |= bits(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, cr)));
            }
            return;
        }
#endif
        for (std::size_t k = 0; k < 64 && base + k < n_; ++k) {
            const std::uint64_t bit = std::uint64_t{1} << k;
            if (p[k] == delimiter_) m_.delimiters |= bit;
            else if (p[k] == '\n') m_.line_feeds |= bit;
            else if (p[k] == '"' || p[k] == '\r') m_.others |= bit;
        }
    }

    const char* d_;
    std::size_t n_;
    char delimiter_;
    std::size_t base_ = static_cast<std::size_t>(-1);  // none loaded yet
    masks m_;
};

// find_field_end for a reader that walks a text from field to field: the text is classified 64 bytes
// at a time into bit masks, once, and each field end is then a bit count away (find_field_end loads
// and tests a word from every field's start, which costs more than the field's few bytes).
class special_scan {
public:
    special_scan(std::string_view s, char delimiter) : windows_(s, delimiter) {}

    // Index of the first delimiter, LF, CR or quote at or after `i`, or the text's size.
    std::size_t next(std::size_t i) {
        const std::size_t n = windows_.size();
        for (std::size_t base = i & ~std::size_t{63}; base < n; base += 64) {
            const std::uint64_t m = windows_.window(base).specials() & (~std::uint64_t{0} << (base < i ? i - base : 0));
            if (m != 0) return base + static_cast<std::size_t>(std::countr_zero(m));
        }
        return n;
    }

    // The masks themselves, of the window from `base` (a multiple of 64).
    const window_masks::masks& window(std::size_t base) { return windows_.window(base); }

private:
    window_masks windows_;
};

// Whether `v` must be quoted as a CSV field: it holds a comma, quote or line break.
inline bool csv_needs_quotes(std::string_view v) {
    // (find_first_of with a set would call memchr over the set once per character.)
    return std::any_of(v.begin(), v.end(), [](char c) { return c == ',' || c == '"' || c == '\r' || c == '\n'; });
}

// append_csv_field at `p`, which has room for 2 * v.size() + 2 bytes; returns the end.
inline char* write_csv_field(char* p, std::string_view v) {
    if (!csv_needs_quotes(v)) {
        if (!v.empty()) std::memcpy(p, v.data(), v.size());
        return p + v.size();
    }
    *p++ = '"';
    for (char c : v) {
        if (c == '"') *p++ = '"';
        *p++ = c;
    }
    *p++ = '"';
    return p;
}

// Appends `v` as one CSV field: as is, or quoted (with "" for ") when it holds a comma, quote or line break.
inline void append_csv_field(std::string& out, std::string_view v) {
    if (!csv_needs_quotes(v)) {
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

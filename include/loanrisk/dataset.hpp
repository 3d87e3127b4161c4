// A labelled data set for training and evaluation, read from CSV into typed columns. Column types are
// declared (by the caller, or by a model) or inferred; a stray non-number in a numeric column is an error
// with its line, not a silent category.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/csv.hpp"
#include "loanrisk/result.hpp"

namespace loanrisk::train {

struct column {
    std::string name;
    bool numeric = false;
    std::vector<double> numbers;    // numeric columns: NaN where the field was empty
    std::vector<std::string> text;  // categorical columns: "" where the field was empty
};

struct dataset {
    std::vector<column> columns;
    std::vector<std::size_t> lines;  // source line of each row, for messages
    std::string sha256;              // of the CSV bytes

    std::size_t rows() const { return lines.size(); }
    const column* find(std::string_view name) const;
};

struct dataset_options {
    std::vector<std::string> numeric;      // columns that must be there and numeric
    std::vector<std::string> categorical;  // columns kept as text even when every value is a number
    // When set, only the columns it takes are typed and checked; the others stay text, unchecked (columns
    // nobody uses: excluded, or not in the model being evaluated).
    std::function<bool(std::string_view)> used;
};

namespace detail {

// Plain decimals ("35000", "-0.59", "16.02"), which is nearly every number in a CSV file, without
// from_chars: with at most 15 digits the digits form an integer a double holds exactly, and with at most
// 22 after the point the power of ten is exact too, so one IEEE division rounds once, correctly: the same
// double from_chars returns (Clinger's fast path). False for anything else, left to from_chars.
inline bool parse_plain_decimal(std::string_view text, double& out) {
    static constexpr double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char* p = text.data();
    const char* const end = p + text.size();
    const bool negative = p != end && *p == '-';
    if (negative) ++p;
    std::uint64_t digits = 0;
    int count = 0;
    const char* const whole = p;
    for (; p != end && static_cast<unsigned>(*p - '0') < 10; ++p, ++count)
        digits = digits * 10 + static_cast<unsigned>(*p - '0');
    if (p == whole) return false;
    int fraction = 0;
    if (p != end && *p == '.') {
        const char* const first = ++p;
        for (; p != end && static_cast<unsigned>(*p - '0') < 10; ++p, ++count)
            digits = digits * 10 + static_cast<unsigned>(*p - '0');
        fraction = static_cast<int>(p - first);
        if (fraction == 0) return false;
    }
    if (p != end || count > 15 || fraction > 22) return false;
    // (A division takes ~13 cycles and the value is needed at once: whole numbers skip it.)
    const double x = fraction == 0 ? static_cast<double>(digits) : static_cast<double>(digits) / powers_of_ten[fraction];
    out = negative ? -x : x;
    return true;
}

// parse_plain_decimal, for 1 to 8 bytes of unsigned digits with at most one '.' inside them, read as one
// little-endian word (8 bytes from `p` must be readable): the digits are checked, the point taken out and
// the digits combined by multiplication in registers, with no loop whose end depends on the text. The
// same double, or false where parse_plain_decimal would be false (or for a sign: it takes those).
inline bool parse_short_decimal(const char* p, std::size_t n, double& out) {
    static constexpr double powers_of_ten[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t keep = n == 8 ? ~0ULL : (1ULL << (8 * n)) - 1;  // the text's bytes
    const std::uint64_t dots = io::detail::zero_bytes(w ^ io::detail::broadcast('.')) & keep;  // 0x80 per '.'
    std::size_t digits = n, fraction = 0;
    if (dots) {
        if (dots & (dots - 1)) return false;  // two points
        const auto at = static_cast<std::size_t>(std::countr_zero(dots)) / 8;
        if (at == 0 || at == n - 1) return false;  // ".5", "5.": from_chars' business, as in parse_plain_decimal
        const std::uint64_t below = (1ULL << (8 * at)) - 1;
        w = (w & below) | ((w >> 8) & ~below);  // the point taken out
        digits = n - 1;
        fraction = n - 1 - at;
    }
    const std::uint64_t mask = digits == 8 ? ~0ULL : (1ULL << (8 * digits)) - 1;  // the digits' bytes
    // Every used byte 0x30-0x39: high nibble 3, and still 3 after adding 6.
    const std::uint64_t high = mask & (0xf0 * ones), threes = mask & (0x30 * ones);
    if ((w & high) != threes || ((w + 0x06 * ones) & high) != threes) return false;
    // Digit values, right-aligned as an 8-digit number with leading zeros (the first digit is the lowest byte).
    std::uint64_t v = ((w & mask) - threes) << (8 * (8 - digits));
    constexpr std::uint64_t pairs = 0x000000FF000000FFULL;
    v = (v * 10) + (v >> 8);  // each byte pair as a 2-digit number
    v = (((v & pairs) * (100 + (1000000ULL << 32))) + (((v >> 16) & pairs) * (1 + (10000ULL << 32)))) >> 32;
    out = fraction == 0 ? static_cast<double>(v) : static_cast<double>(v) / powers_of_ten[fraction];
    return true;
}

// The rest of parse_number, for text parse_plain_decimal refused: surrounding spaces and a '+' trimmed,
// then a plain decimal (when trimming changed the text) or from_chars.
bool parse_number_trimmed(std::string_view text, double& out);

}  // namespace detail

// Parses a number as written in CSV (surrounding spaces allowed, a leading '+' allowed). False when the
// text is not a finite number.
inline bool parse_number(std::string_view text, double& out) {
    return detail::parse_plain_decimal(text, out) || detail::parse_number_trimmed(text, out);
}

// parse_number for a text inside a buffer that is readable up to `limit`: short texts with 8 readable
// bytes take detail::parse_short_decimal (a CSV decoder's numbers, nearly all of them).
inline bool parse_number_within(std::string_view text, const char* limit, double& out) {
    if constexpr (std::endian::native == std::endian::little)
        if (text.size() - 1 < 8 && limit - text.data() >= 8 &&
            detail::parse_short_decimal(text.data(), text.size(), out))
            return true;
    return parse_number(text, out);
}

result<dataset> parse_dataset(std::string_view csv, const dataset_options& options = {});
result<dataset> load_dataset(const std::string& path, const dataset_options& options = {});

}  // namespace loanrisk::train

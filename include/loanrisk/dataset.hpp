// A labelled data set for training and evaluation, read from CSV into typed columns. Column types are
// declared (by the caller, or by a model) or inferred; a stray non-number in a numeric column is an error
// with its line, not a silent category.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
    std::vector<std::string> numeric;      // columns that must be numeric
    std::vector<std::string> categorical;  // columns kept as text even when every value is a number
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

// The rest of parse_number, for text parse_plain_decimal refused: surrounding spaces and a '+' trimmed,
// then a plain decimal (when trimming changed the text) or from_chars.
bool parse_number_trimmed(std::string_view text, double& out);

}  // namespace detail

// Parses a number as written in CSV (surrounding spaces allowed, a leading '+' allowed). False when the
// text is not a finite number.
inline bool parse_number(std::string_view text, double& out) {
    return detail::parse_plain_decimal(text, out) || detail::parse_number_trimmed(text, out);
}

result<dataset> parse_dataset(std::string_view csv, const dataset_options& options = {});
result<dataset> load_dataset(const std::string& path, const dataset_options& options = {});

}  // namespace loanrisk::train

// A small JSON writer into a std::string: shortest round-trip numbers (std::to_chars), escaped strings,
// optional two-space indentation. Used for model artifacts, reports and (later) responses.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loanrisk::io {

// Room the write_* functions below need at `p`: their longest output.
inline constexpr std::size_t max_number_chars = 32;
// Writes the shortest representation that reads back to the same double (non-finite -> null) at `p`;
// returns the end.
char* write_number(char* p, double value);
// The same rounded to at most `digits` significant digits (shortest form within that).
char* write_number(char* p, double value, int digits);
// The shortest representation that reads back to the same float, exactly as std::to_chars writes it
// (non-finite -> null); returns the end.
char* write_float(char* p, float value);
char* write_integer(char* p, std::int64_t value);

namespace detail {

inline constexpr std::uint64_t powers_of_ten[] = {
    1,           10,           100,           1000,           10000,           100000,           1000000,
    10000000,    100000000,    1000000000,    10000000000,    100000000000,    1000000000000,    10000000000000,
    100000000000000, 1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
    10000000000000000000ULL};

// The eight decimal digits of v < 10^8, as ASCII in memory order (little-endian), in one word: v split into
// halves of four digits, pairs and digits by multiplications that divide every lane at once (x * 10486 >> 20
// is x / 100 for x < 10^4, x * 103 >> 10 is x / 10 for x < 100).
inline std::uint64_t eight_digits(std::uint64_t v) {
    v = (v / 10000) | ((v % 10000) << 32);
    const std::uint64_t hundreds = ((v * 10486) >> 20) & 0x0000007F0000007FULL;
    v = hundreds | ((v - hundreds * 100) << 16);
    const std::uint64_t tens = ((v * 103) >> 10) & 0x000F000F000F000FULL;
    v = tens | ((v - tens * 10) << 8);
    return v + 0x3030303030303030ULL;
}

}  // namespace detail

// The number of decimal digits of v (1 for 0).
inline int decimal_digits(std::uint64_t v) {
    v |= 1;  // as many digits, and 0 has one
    const int t = (static_cast<int>(std::bit_width(v)) * 1233) >> 12;  // t or t + 1
    return t + (v >= detail::powers_of_ten[t] ? 1 : 0);
}

// v < 10^16 as `width` (1 to 16) digits with leading zeros (v < 10^width) at `p`, which has room for 16 bytes
// (up to 16 are written); returns p + width. Inline: a response writes two numbers per result with it.
inline char* write_padded_digits(char* p, std::uint64_t v, int width) {
    if constexpr (std::endian::native != std::endian::little) {  // eight_digits' words are little-endian
        for (int k = width - 1; k >= 0; --k, v /= 10) p[k] = static_cast<char>('0' + v % 10);
        return p + width;
    }
    // The last `width` of its 16 digits: the words shifted past the leading ones (the first digit in the
    // lowest byte), each stored whole.
    const std::uint64_t low = detail::eight_digits(v % 100000000);
    if (width <= 8) {
        const std::uint64_t word = low >> (8 * (8 - width));
        std::memcpy(p, &word, 8);
    } else {
        const std::uint64_t high = detail::eight_digits(v / 100000000 % 100000000) >> (8 * (16 - width));
        std::memcpy(p, &high, 8);
        std::memcpy(p + width - 8, &low, 8);
    }
    return p + width;
}
// Appends the shortest representation that reads back to the same double; non-finite -> null.
void append_number(std::string& out, double value);
// Appends `value` with at most `digits` significant digits (shortest form within that), non-finite -> null.
void append_number(std::string& out, double value, int digits);
void append_integer(std::string& out, std::int64_t value);
// The length (1 to 4) of the valid UTF-8 sequence that starts s[at], or 0 when the bytes there are not one
// (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, or cut short).
std::size_t utf8_sequence(std::string_view s, std::size_t at);
// The offset of the first byte of `s` that is not part of valid UTF-8, or s.size().
std::size_t first_invalid_utf8(std::string_view s);
// Appends a quoted, escaped JSON string. Bytes that are not valid UTF-8 (text from a CSV file in another
// encoding) are written as U+FFFD, one per byte, so the output is always valid JSON.
void append_string(std::string& out, std::string_view value);
// The same at `p`, which has room for max_string_chars(value.size()); returns the end.
inline constexpr std::size_t max_string_chars(std::size_t bytes) { return 2 + 6 * bytes; }  // all "\u00XX"
char* write_string(char* p, std::string_view value);

class json_writer {
public:
    explicit json_writer(bool pretty = false) : pretty_(pretty) {}

    json_writer& begin_object();
    json_writer& end_object();
    json_writer& begin_array();
    json_writer& end_array();
    json_writer& key(std::string_view k);
    json_writer& value(std::string_view v);
    json_writer& value(const char* v) { return value(std::string_view(v)); }
    json_writer& value(double v);
    json_writer& value(double v, int digits);
    json_writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
    json_writer& value(std::int64_t v);
    json_writer& value(std::size_t v) { return value(static_cast<std::int64_t>(v)); }
    json_writer& value(bool v);
    json_writer& null();
    // Inserts already-serialized JSON as a value.
    json_writer& raw(std::string_view json);
    // A whole array of numbers on one line, even when pretty.
    json_writer& numbers(const std::vector<double>& v, int digits = 17);

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    void before_value();
    void newline();
    json_writer& end_container(char close);

    std::string out_;
    bool pretty_;
    struct level { bool array; bool empty; };
    std::vector<level> stack_;
    bool after_key_ = false;
};

}  // namespace loanrisk::io

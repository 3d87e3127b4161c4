// A small JSON writer into a std::string: shortest round-trip numbers (std::to_chars), escaped strings,
// optional two-space indentation. Used for model artifacts, reports and (later) responses.
#pragma once

#include <cstddef>
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
// The number of decimal digits of v (1 for 0).
int decimal_digits(std::uint64_t v);
// v < 10^16 as `width` (1 to 16) digits with leading zeros (v < 10^width) at `p`, which has room for 16 bytes
// (all are written); returns p + width.
char* write_padded_digits(char* p, std::uint64_t v, int width);
// Appends the shortest representation that reads back to the same double; non-finite -> null.
void append_number(std::string& out, double value);
// Appends `value` with at most `digits` significant digits (shortest form within that), non-finite -> null.
void append_number(std::string& out, double value, int digits);
void append_integer(std::string& out, std::int64_t value);
// Appends a quoted, escaped JSON string.
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

// JSON output without streams or printf: numbers through std::to_chars, so they round-trip exactly
// and the same model always serializes to the same bytes.
#include "loanrisk/json_writer.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

namespace loanrisk::io {

char* write_number(char* p, double value) {
    if (!std::isfinite(value)) {
        std::memcpy(p, "null", 4);
        return p + 4;
    }
    if (value == 0) value = 0;  // no "-0"
    return std::to_chars(p, p + max_number_chars, value).ptr;
}

char* write_integer(char* p, std::int64_t value) { return std::to_chars(p, p + max_number_chars, value).ptr; }

void append_number(std::string& out, double value) {
    char buf[max_number_chars];
    out.append(buf, write_number(buf, value));
}

void append_number(std::string& out, double value, int digits) {
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    // Round to `digits` significant digits, then print the shortest form of the rounded value.
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific, digits - 1);
    double rounded = 0;
    std::from_chars(buf, r.ptr, rounded);
    append_number(out, rounded);
}

void append_integer(std::string& out, std::int64_t value) {
    char buf[max_number_chars];
    out.append(buf, write_integer(buf, value));
}

void append_string(std::string& out, std::string_view value) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    // Runs of characters that need no escape (nearly all of any id or name) are appended whole.
    auto plain = [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\'; };
    for (std::size_t i = 0; i < value.size();) {
        std::size_t run = i;
        while (run < value.size() && plain(value[run])) ++run;
        out.append(value.data() + i, run - i);
        if (run == value.size()) break;
        i = run + 1;
        const char c = value[run];
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";  // the other control characters
            out += hex[(c >> 4) & 0xf];
            out += hex[c & 0xf];
        }
    }
    out += '"';
}

void json_writer::newline() {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(2 * stack_.size(), ' ');
}

void json_writer::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (stack_.empty()) return;
    if (!stack_.back().empty) out_ += ',';
    stack_.back().empty = false;
    newline();
}

json_writer& json_writer::begin_object() {
    before_value();
    out_ += '{';
    stack_.push_back({false, true});
    return *this;
}

json_writer& json_writer::end_container(char close) {
    bool empty = stack_.back().empty;
    stack_.pop_back();
    if (!empty) newline();
    out_ += close;
    return *this;
}

json_writer& json_writer::end_object() { return end_container('}'); }

json_writer& json_writer::begin_array() {
    before_value();
    out_ += '[';
    stack_.push_back({true, true});
    return *this;
}

json_writer& json_writer::end_array() { return end_container(']'); }

json_writer& json_writer::key(std::string_view k) {
    before_value();
    append_string(out_, k);
    out_ += pretty_ ? ": " : ":";
    after_key_ = true;
    return *this;
}

json_writer& json_writer::value(std::string_view v) {
    before_value();
    append_string(out_, v);
    return *this;
}

json_writer& json_writer::value(double v) {
    before_value();
    append_number(out_, v);
    return *this;
}

json_writer& json_writer::value(double v, int digits) {
    before_value();
    append_number(out_, v, digits);
    return *this;
}

json_writer& json_writer::value(std::int64_t v) {
    before_value();
    append_integer(out_, v);
    return *this;
}

json_writer& json_writer::value(bool v) {
    before_value();
    out_ += v ? "true" : "false";
    return *this;
}

json_writer& json_writer::null() {
    before_value();
    out_ += "null";
    return *this;
}

json_writer& json_writer::raw(std::string_view json) {
    before_value();
    out_ += json;
    return *this;
}

json_writer& json_writer::numbers(const std::vector<double>& v, int digits) {
    before_value();
    out_ += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out_ += pretty_ ? ", " : ",";
        if (digits >= 17)
            append_number(out_, v[i]);
        else
            append_number(out_, v[i], digits);
    }
    out_ += ']';
    return *this;
}

}  // namespace loanrisk::io

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

namespace {

// `value` rounded to `digits` significant digits, as the double nearest that decimal, when a few
// floating-point operations settle it; false leaves it to the exact conversions. The value is scaled so
// that its digits sit left of the point (one rounding: powers of ten up to 1e22 are exact doubles), and
// the rounding is taken only when the scaled value's fraction is clearly away from one half. The nearest
// double to the rounded decimal r * 10^-k is then r / 10^k itself: a division of exact operands rounds
// correctly. (This runs three times per /predict: reason code contributions.)
bool round_to_digits(double value, int digits, double& out) {
    static constexpr double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    constexpr int max_power = 22;
    const double a = std::fabs(value);
    if (digits < 1 || digits > 15 || !(a >= 1e-15 && a <= 1e15)) return false;
    const double lo = p10[digits - 1], hi = p10[digits];
    int k = digits - 1 - static_cast<int>(std::floor(std::log10(a)));  // log10 may be one off: fixed below
    auto scale = [&](int power) { return power >= 0 ? a * p10[power] : a / p10[-power]; };
    if (k < -max_power + 1 || k > max_power - 1) return false;
    double scaled = scale(k);
    if (scaled < lo) scaled = scale(++k);
    else if (scaled >= hi) scaled = scale(--k);
    if (!(scaled >= lo + 1 && scaled < hi - 1)) return false;  // beside a power of ten: the exact path decides
    const double whole = std::floor(scaled), fraction = scaled - whole;
    if (std::fabs(fraction - 0.5) <= scaled * 0x1p-50) return false;  // too near a tie for one rounding's error
    const double r = fraction > 0.5 ? whole + 1 : whole;
    const double rounded = k >= 0 ? r / p10[k] : r * p10[-k];
    out = value < 0 ? -rounded : rounded;
    return true;
}

}  // namespace

void append_number(std::string& out, double value, int digits) {
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    if (double rounded = 0; round_to_digits(value, digits, rounded)) {
        append_number(out, rounded);
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

char* write_string(char* p, std::string_view value) {
    static constexpr char hex[] = "0123456789abcdef";
    *p++ = '"';
    // Runs of characters that need no escape (nearly all of any id or name) are copied whole.
    auto plain = [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\'; };
    for (std::size_t i = 0; i < value.size();) {
        std::size_t run = i;
        while (run < value.size() && plain(value[run])) ++run;
        std::memcpy(p, value.data() + i, run - i);
        p += run - i;
        if (run == value.size()) break;
        i = run + 1;
        const char c = value[run];
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        default:  // the other control characters
            std::memcpy(p, "u00", 3);
            p[3] = hex[(c >> 4) & 0xf];
            p[4] = hex[c & 0xf];
            p += 5;
        }
    }
    *p++ = '"';
    return p;
}

void append_string(std::string& out, std::string_view value) {
    if (value.size() <= 64) {
        char buf[max_string_chars(64)];
        out.append(buf, write_string(buf, value));
        return;
    }
    const std::size_t at = out.size();
    out.resize(at + max_string_chars(value.size()));
    out.resize(static_cast<std::size_t>(write_string(out.data() + at, value) - out.data()));
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

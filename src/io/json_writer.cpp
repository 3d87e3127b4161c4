// JSON output without streams or printf: numbers through std::to_chars, so they round-trip exactly
// and the same model always serializes to the same bytes.
#include "loanrisk/json_writer.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <utility>

#include "loanrisk/csv.hpp"  // detail::broadcast, detail::zero_bytes

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

constexpr double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// |value| rounded to `digits` significant digits, as the decimal r * 10^-k (r an integer of `digits`
// digits), when a few floating-point operations settle it; false leaves it to the exact conversions. The
// value is scaled so that its digits sit left of the point (one rounding: powers of ten up to 1e22 are exact
// doubles), and the rounding is taken only when the scaled value's fraction is clearly away from one half.
bool round_to_digits(double value, int digits, std::uint64_t& r, int& k) {
    constexpr int max_power = 22;
    const double a = std::fabs(value);
    if (digits < 1 || digits > 15 || !(a >= 1e-15 && a <= 1e15)) return false;
    const double lo = p10[digits - 1], hi = p10[digits];
    // floor(log10(a)) from the binary exponent (no log10 call): that or one more, fixed below.
    const int binary_exponent = static_cast<int>((std::bit_cast<std::uint64_t>(a) >> 52) & 0x7ff) - 1023;
    k = digits - 1 - static_cast<int>(std::floor(binary_exponent * 0.30102999566398119521));
    auto scale = [&](int power) { return power >= 0 ? a * p10[power] : a / p10[-power]; };
    if (k < -max_power + 1 || k > max_power - 1) return false;
    double scaled = scale(k);
    if (scaled < lo) scaled = scale(++k);
    else if (scaled >= hi) scaled = scale(--k);
    if (!(scaled >= lo + 1 && scaled < hi - 1)) return false;  // beside a power of ten: the exact path decides
    const double whole = std::floor(scaled), fraction = scaled - whole;
    if (std::fabs(fraction - 0.5) <= scaled * 0x1p-50) return false;  // too near a tie for one rounding's error
    r = static_cast<std::uint64_t>(fraction > 0.5 ? whole + 1 : whole);
    return true;
}

// The decimal (-)r * 10^-k (r >= 1, at most 15 digits) as to_chars writes the double nearest it (or the
// float, given its shortest digits: write_float), when that is fixed notation with no zeros before the
// point's digits end; nullptr otherwise. The nearest double's shortest form is the decimal's own digits (no
// other decimal of 15 digits or fewer lies within its rounding interval), and to_chars takes fixed notation
// when it is no longer than scientific. `p` has room for max_number_chars.
char* write_decimal(char* p, bool negative, std::uint64_t r, int k) {
    for (; r % 10 == 0; r /= 10) --k;
    const int d = decimal_digits(r);
    const int whole = d - k;  // digits before the point
    // Fixed "0.000ddd" is 2 - whole + d characters, scientific "d.ddde-0X" d + (d > 1) + 4.
    if (whole > d || (whole <= 0 && -whole > (d > 1 ? 3 : 2))) return nullptr;
    if (negative) *p++ = '-';
    if (whole <= 0) {  // "0.", up to three zeros, the digits
        std::memcpy(p, "0.000", 5);
        return write_padded_digits(p + 2 - whole, r, d);
    }
    if (whole == d) return write_padded_digits(p, r, d);
    p = write_padded_digits(p, r / detail::powers_of_ten[k], whole);
    *p++ = '.';
    return write_padded_digits(p, r % detail::powers_of_ten[k], k);
}

// The shortest decimal q * 10^-k that reads back to `value`, a float in [2^-20, 1), and of those the nearest
// to it (ties to even q), as std::to_chars chooses it: the rounding interval of value = m * 2^e (between
// the midpoints to its neighbours, which read back to it when m is even) is scaled by 10^k for enough k to
// hold 9 significant digits (always enough for a float), in exact integer arithmetic; then the largest
// power of ten with a multiple inside it sets the digits kept. False outside that range.
bool shortest_fraction(float value, std::uint64_t& q, int& k) {
    static constexpr std::uint64_t pow5[] = {1,        5,         25,         125,         625,         3125,
                                             15625,    78125,     390625,     1953125,     9765625,     48828125,
                                             244140625, 1220703125, 6103515625, 30517578125};
    const auto bits = std::bit_cast<std::uint32_t>(value);
    const int e2 = static_cast<int>(bits >> 23) - 127;  // value in [2^e2, 2^(e2 + 1)); the sign bit makes it huge
    if (e2 < -20 || e2 > -1) return false;
    const std::uint32_t fraction = bits & 0x7fffff;
    const std::uint64_t m4 = 4 * static_cast<std::uint64_t>(fraction | 0x800000);  // value = m4 / 2^(25 - e2)
    // The neighbour below is half as far when the mantissa is a power of two.
    const std::uint64_t low4 = m4 - (fraction == 0 ? 1 : 2), high4 = m4 + 2;
    const bool inclusive = (m4 & 4) == 0;  // m even: a midpoint reads back to value (ties to even)
    // floor(log10(2) * e2) <= floor(log10(value)), so 8 - that many decimals hold at least 9 significant digits.
    const int k9 = 8 - ((e2 * 78913) >> 18);
    // x4 / 2^(25 - e2) * 10^k = x4 * 5^k / 2^(25 - e2 - k): under 2^26 * 5^15 < 2^61, exact in 64 bits.
    auto scaled = [&](std::uint64_t x4, int decimals, std::uint64_t& rest) {
        const int shift = 25 - e2 - decimals;
        const std::uint64_t x = x4 * pow5[decimals];
        rest = x & ((std::uint64_t{1} << shift) - 1);
        return std::pair{x >> shift, std::uint64_t{1} << (shift - 1)};  // the integer part, and one half
    };
    std::uint64_t low_rest = 0, high_rest = 0;
    const std::uint64_t low = scaled(low4, k9, low_rest).first, high = scaled(high4, k9, high_rest).first;
    // The integers inside the interval scaled by 10^k9: [lo, hi], lo >= 1.
    const std::uint64_t lo = low + (low_rest != 0 || !inclusive ? 1 : 0);
    const std::uint64_t hi = high - (high_rest == 0 && !inclusive ? 1 : 0);
    if (lo > hi) return false;
    // A multiple of 10^j lies in [lo, hi] when hi / 10^j > (lo - 1) / 10^j; dividing both by ten step by step
    // keeps every division a constant one.
    std::uint64_t above = hi, below = lo - 1;
    // Most floats keep 9 or 8 digits, either at random: the first step is taken without a branch.
    const bool one = above / 10 > below / 10;
    above = one ? above / 10 : above;
    below = one ? below / 10 : below;
    int j = one ? 1 : 0;
    for (; one && j + 1 < k9 && above / 10 > below / 10; ++j) above /= 10, below /= 10;
    k = k9 - j;
    // The nearest of those multiples to value.
    std::uint64_t rest = 0;
    const auto [whole, half] = scaled(m4, k, rest);
    q = whole + static_cast<std::uint64_t>((rest > half) | ((rest == half) & ((whole & 1) != 0)));  // no branch
    q = std::clamp(q, below + 1, above);
    return true;
}


}  // namespace

char* write_float(char* p, float value) {
    std::uint64_t q = 0;
    int k = 0;
    if (shortest_fraction(value, q, k))
        if (char* end = write_decimal(p, false, q, k)) return end;
    if (!std::isfinite(value)) {
        std::memcpy(p, "null", 4);
        return p + 4;
    }
    return std::to_chars(p, p + max_number_chars, value).ptr;
}

char* write_number(char* p, double value, int digits) {
    if (!std::isfinite(value)) return write_number(p, value);
    // The decimal's digits written directly when they settle it (three times per /predict: the reason
    // codes' contributions); else the double nearest it, r / 10^k (a division of exact operands rounds
    // correctly), in its shortest form.
    std::uint64_t r = 0;
    int k = 0;
    if (round_to_digits(value, digits, r, k)) {
        if (char* end = write_decimal(p, value < 0, r, k)) return end;
        const double rounded = k >= 0 ? static_cast<double>(r) / p10[k] : static_cast<double>(r) * p10[-k];
        return write_number(p, value < 0 ? -rounded : rounded);
    }
    // Round to `digits` significant digits, then print the shortest form of the rounded value.
    char buf[40];
    const auto written = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific, digits - 1);
    double rounded = 0;
    std::from_chars(buf, written.ptr, rounded);
    return write_number(p, rounded);
}

void append_number(std::string& out, double value, int digits) {
    char buf[max_number_chars];
    out.append(buf, write_number(buf, value, digits));
}

void append_integer(std::string& out, std::int64_t value) {
    char buf[max_number_chars];
    out.append(buf, write_integer(buf, value));
}

std::size_t utf8_sequence(std::string_view s, std::size_t at) {
    auto byte = [&](std::size_t k) { return at + k < s.size() ? static_cast<unsigned char>(s[at + k]) : 0u; };
    auto in = [](unsigned b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
    const unsigned c = byte(0);
    if (at >= s.size()) return 0;
    if (c < 0x80) return 1;
    if (in(c, 0xc2, 0xdf)) return in(byte(1), 0x80, 0xbf) ? 2 : 0;
    if (in(c, 0xe0, 0xef)) {
        // E0 needs A0-BF after it (no overlong form), ED 80-9F (no surrogate)
        const unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) ? 3 : 0;
    }
    if (in(c, 0xf0, 0xf4)) {
        // F0 needs 90-BF after it (no overlong form), F4 80-8F (nothing past U+10FFFF)
        const unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) && in(byte(3), 0x80, 0xbf) ? 4 : 0;
    }
    return 0;
}

std::size_t first_invalid_utf8(std::string_view s) {
    for (std::size_t at = 0; at < s.size();) {
        if (static_cast<unsigned char>(s[at]) < 0x80) {
            ++at;
        } else {
            const std::size_t n = utf8_sequence(s, at);
            if (n == 0) return at;
            at += n;
        }
    }
    return s.size();
}

char* write_string(char* p, std::string_view value) {
    static constexpr char hex[] = "0123456789abcdef";
    *p++ = '"';
    // Runs of ASCII characters that need no escape (nearly all of any id or name) are copied whole.
    auto plain = [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
    };
    // Whether any of 8 bytes is a quote, a backslash, a control character (below 0x20: its top three bits
    // clear) or not ASCII (its top bit set).
    auto special = [](std::uint64_t w) {
        using detail::broadcast, detail::zero_bytes;
        return zero_bytes(w & broadcast('\xe0')) | zero_bytes(w ^ broadcast('"')) | zero_bytes(w ^ broadcast('\\')) |
               (w & broadcast('\x80'));
    };
    for (std::size_t i = 0; i < value.size();) {
        std::size_t run = i;
        for (std::uint64_t w; run + 8 <= value.size(); run += 8) {
            std::memcpy(&w, value.data() + run, 8);
            if (special(w)) break;
        }
        while (run < value.size() && plain(value[run])) ++run;
        std::memcpy(p, value.data() + i, run - i);
        p += run - i;
        if (run == value.size()) break;
        if (static_cast<unsigned char>(value[run]) >= 0x80) {
            // A valid UTF-8 sequence as it is (no longer than the room of its bytes), else U+FFFD for the
            // byte (six characters: the room of one byte).
            if (const std::size_t n = utf8_sequence(value, run)) {
                std::memcpy(p, value.data() + run, n);
                p += n;
                i = run + n;
            } else {
                std::memcpy(p, "\\ufffd", 6);
                p += 6;
                i = run + 1;
            }
            continue;
        }
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

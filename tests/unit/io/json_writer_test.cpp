// Pins the JSON writer: shortest round-trip numbers, rounding to significant digits, escaping, layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string_view>
#include <vector>

#include "loanrisk/json_writer.hpp"

using namespace loanrisk::io;

namespace {
std::string num(double x) {
    std::string s;
    append_number(s, x);
    return s;
}
std::string num(double x, int digits) {
    std::string s;
    append_number(s, x, digits);
    return s;
}
}  // namespace

TEST(json_writer, numbers_use_the_shortest_round_trip_form) {
    EXPECT_EQ(num(0.1), "0.1");
    EXPECT_EQ(num(42), "42");
    EXPECT_EQ(num(-0.0), "0");
    EXPECT_EQ(num(1.0 / 3), "0.3333333333333333");
    EXPECT_EQ(num(6e6), "6e+06");
}

TEST(json_writer, non_finite_numbers_become_null) {
    EXPECT_EQ(num(NAN), "null");
    EXPECT_EQ(num(INFINITY), "null");
    EXPECT_EQ(num(-INFINITY, 4), "null");
}

TEST(json_writer, numbers_round_to_significant_digits) {
    EXPECT_EQ(num(0.123456789, 4), "0.1235");
    EXPECT_EQ(num(1.0 / 3, 10), "0.3333333333");
    EXPECT_EQ(num(2.5, 10), "2.5");
}

// Rounding to significant digits takes a floating-point shortcut when the rounding is clear-cut: every
// value must still print exactly as the exact conversions print it (to_chars scientific with digits - 1,
// from_chars, shortest form): random magnitudes, short decimals, exact ties, values beside powers of
// ten, integers, and every digit count.
TEST(json_writer, rounding_to_digits_matches_the_exact_conversions) {
    auto reference = [](double x, int digits) {
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific, digits - 1);
        double rounded = 0;
        std::from_chars(buf, r.ptr, rounded);
        return num(rounded);
    };
    std::mt19937_64 rng(21);
    std::vector<double> values = {0.5, 1.5, 2.5, 0.125, 123456.5, 1234565, 2.5e-7, 999999.5, 9999995, 0.3, 0.1,
                                  1e5, 1e6, 1e-15, 1e15, 1e16, 1e-16, 5e-324, 1.7976931348623157e308, -0.0, 0.0,
                                  // where to_chars turns from fixed to scientific notation
                                  0.001, 0.0012, 0.00012, 0.000123, 0.0001234567, 0.00001234, 120000, 1200000,
                                  123456, 1234567, 120, -0.00012, -0.0012345, 2.28917, -1.100271234};
    for (int p = -20; p <= 20; ++p) {
        const double ten = std::pow(10.0, p);
        values.push_back(ten);
        values.push_back(std::nextafter(ten, 0.0));
        values.push_back(std::nextafter(ten, 1e300));
        values.push_back(ten * 0.5000005);
    }
    for (int i = 0; i < 50000; ++i) {
        const double magnitude = std::pow(10.0, static_cast<double>(rng() % 41) - 20);
        values.push_back(std::uniform_real_distribution<double>(-1, 1)(rng) * magnitude);
        // Short decimals, where ties and near-ties live: k / 10^j with a 5 in the digit after the cut.
        values.push_back(static_cast<double>(rng() % 100000000) / std::pow(10.0, static_cast<double>(rng() % 12)));
        values.push_back(static_cast<double>(rng() % 2000000) * 5 + 5);
    }
    for (double x : values)
        for (int digits = 1; digits <= 17; ++digits) ASSERT_EQ(num(x, digits), reference(x, digits)) << x << " to " << digits;
}

// write_float finds the digits of floats in [2^-20, 1) (nearly every PD a response writes) itself, and must
// write exactly what std::to_chars writes. Checked here: every 61st float of [2^-21, 1.5), every float within
// 4,096 of each power of two (where the neighbour below is nearer) and of each power of ten (where the digit
// count and the notation change), and values outside it. (All 180 million floats of [2^-21, 1.5) were
// compared once when it was written, with no difference.)
TEST(json_writer, floats_are_written_exactly_as_to_chars_writes_them) {
    auto check = [](float x) {
        char ours[max_number_chars], theirs[64];
        const std::string_view a(ours, static_cast<std::size_t>(write_float(ours, x) - ours));
        const std::string_view b(theirs, static_cast<std::size_t>(std::to_chars(theirs, theirs + sizeof theirs, x).ptr - theirs));
        return a == b ? ::testing::AssertionSuccess() : ::testing::AssertionFailure() << a << " for " << b;
    };
    const auto first = std::bit_cast<std::uint32_t>(0x1p-21f), last = std::bit_cast<std::uint32_t>(1.5f);
    for (std::uint32_t u = first; u < last; u += 61) ASSERT_TRUE(check(std::bit_cast<float>(u)));
    std::vector<float> around;
    for (int e = -22; e <= 1; ++e) around.push_back(std::ldexp(1.0f, e));
    for (int e = -8; e <= 1; ++e) around.push_back(static_cast<float>(std::pow(10.0, e)));
    for (float x : around) {
        const auto u = std::bit_cast<std::uint32_t>(x);
        for (std::uint32_t v = u - 4096; v <= u + 4096; ++v) ASSERT_TRUE(check(std::bit_cast<float>(v)));
    }
    for (float x : {0.0f, -0.0f, 1e-45f, 1e-38f, 3e-7f, 1.0f, 2.5f, 123456.7f, 3e38f, -0.3f, -1e-7f}) EXPECT_TRUE(check(x));
    char text[max_number_chars];
    EXPECT_EQ(std::string_view(text, write_float(text, std::numeric_limits<float>::infinity())), "null");
    EXPECT_EQ(std::string_view(text, write_float(text, std::nanf(""))), "null");
}

TEST(json_writer, digits_are_counted_and_written_with_leading_zeros) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200000; ++i) {
        const int width = 1 + static_cast<int>(rng() % 16);
        std::uint64_t limit = 1;
        for (int d = 0; d < width; ++d) limit *= 10;
        const std::uint64_t v = i < 20 ? limit - 1 - static_cast<std::uint64_t>(i % 2) : rng() % limit;
        char expected[40], text[40];
        std::snprintf(expected, sizeof expected, "%0*llu", width, static_cast<unsigned long long>(v));
        ASSERT_EQ(std::string_view(text, write_padded_digits(text, v, width)), expected);
        ASSERT_EQ(decimal_digits(v), static_cast<int>(std::to_string(v).size())) << v;
    }
    for (std::uint64_t p = 1, d = 1; d <= 19; p *= 10, ++d) {
        EXPECT_EQ(decimal_digits(p), static_cast<int>(d));
        EXPECT_EQ(decimal_digits(p - 1), std::max(1, static_cast<int>(d) - 1));
    }
    EXPECT_EQ(decimal_digits(std::numeric_limits<std::uint64_t>::max()), 20);
}

TEST(json_writer, strings_are_escaped) {
    std::string s;
    append_string(s, "a\"b\\c\n\x01");
    EXPECT_EQ(s, R"("a\"b\\c\n\u0001")");
}

// Plain runs are copied whole between escapes: nothing lost or doubled at either end of a run, UTF-8 and
// DEL pass through, and an escape may open or close the string.
TEST(json_writer, plain_runs_between_escapes_are_kept_whole) {
    std::string s;
    append_string(s, "\tL-0001 caf\xC3\xA9\x7f \"x\"\x1f");
    EXPECT_EQ(s, "\"\\tL-0001 caf\xC3\xA9\x7f \\\"x\\\"\\u001f\"");
    s.clear();
    append_string(s, "");
    EXPECT_EQ(s, "\"\"");
}

// Plain runs are scanned 8 bytes at a time: a character to escape at any position of a word, in any
// string length, is still found (against a byte-at-a-time escaper); 0x7f is plain, and 0x80 or 0xff
// repeated is not UTF-8: U+FFFD for each byte.
TEST(json_writer, escapes_are_found_at_every_position_of_a_word) {
    auto naive = [](std::string_view v) {
        std::string out = "\"";
        for (char c : v) {
            if (c == '"') out += "\\\"";
            else if (c == '\\') out += "\\\\";
            else if (c == '\n') out += "\\n";
            else if (c == '\r') out += "\\r";
            else if (c == '\t') out += "\\t";
            else if (c == '\b') out += "\\b";
            else if (c == '\f') out += "\\f";
            else if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else if (static_cast<unsigned char>(c) >= 0x80) out += "\\ufffd";
            else out += c;
        }
        return out + "\"";
    };
    const std::string specials = std::string("\"\\\x1f\n", 4) + std::string(1, '\0');
    const std::string fillers = "a~\x7f\x80\xff\x21\x5b\x5d";  // plain, some one off a special byte
    for (std::size_t n = 1; n <= 40; ++n)
        for (char filler : fillers)
            for (char special : specials)
                for (std::size_t at = 0; at < n; ++at) {
                    std::string v(n, filler);
                    v[at] = special;
                    std::string s;
                    append_string(s, v);
                    ASSERT_EQ(s, naive(v)) << "length " << n << " at " << at;
                }
}

// Text in another encoding (a CSV id in Latin-1) must not make the output invalid JSON: valid UTF-8 of
// every length passes through, and each byte that does not begin a valid sequence becomes U+FFFD.
TEST(json_writer, bytes_that_are_not_utf8_become_replacement_characters) {
    auto quoted = [](std::string_view v) {
        std::string s;
        append_string(s, v);
        return s;
    };
    EXPECT_EQ(quoted("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
              "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"");
    EXPECT_EQ(quoted("M\xFCller"), "\"M\\ufffdller\"");                    // Latin-1
    EXPECT_EQ(quoted("\xC0\xAF"), "\"\\ufffd\\ufffd\"");                     // overlong '/'
    EXPECT_EQ(quoted("\xE0\x80\xAF"), "\"\\ufffd\\ufffd\\ufffd\"");          // overlong, three bytes
    EXPECT_EQ(quoted("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");          // a surrogate
    EXPECT_EQ(quoted("\xF4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // past U+10FFFF
    EXPECT_EQ(quoted("ab\xE2\x82"), "\"ab\\ufffd\\ufffd\"");                // cut short at the end
    EXPECT_EQ(quoted("\xE2\x82x"), "\"\\ufffd\\ufffdx\"");                  // cut short by ASCII
    EXPECT_EQ(utf8_sequence("\xF0\x9F\x98\x80", 0), 4u);
    EXPECT_EQ(utf8_sequence("\xF0\x9F\x98\x80", 1), 0u);  // a continuation byte alone
    // Every string of up to two arbitrary bytes: the output fits the room and holds only valid UTF-8.
    for (unsigned a = 0; a < 256; ++a)
        for (unsigned b = 0; b < 256; ++b) {
            const char v[2] = {static_cast<char>(a), static_cast<char>(b)};
            std::vector<char> room(max_string_chars(2));
            const char* end = write_string(room.data(), std::string_view(v, 2));
            ASSERT_LE(static_cast<std::size_t>(end - room.data()), room.size());
            const std::string_view out(room.data(), static_cast<std::size_t>(end - room.data()));
            for (std::size_t at = 0; at < out.size();) {
                const std::size_t n = utf8_sequence(out, at);
                ASSERT_GT(n, 0u) << a << " " << b;
                at += n;
            }
        }
}

TEST(json_writer, compact_layout) {
    json_writer w;
    w.begin_object().key("a").value(1).key("b").begin_array().value("x").null().value(true).end_array();
    w.key("c").begin_object().end_object().end_object();
    EXPECT_EQ(w.str(), R"({"a":1,"b":["x",null,true],"c":{}})");
}

TEST(json_writer, pretty_layout_keeps_number_arrays_on_one_line) {
    json_writer w(true);
    w.begin_object().key("a").numbers({1, 2.5}).key("b").raw("{\"x\":1}").end_object();
    EXPECT_EQ(w.str(), "{\n  \"a\": [1, 2.5],\n  \"b\": {\"x\":1}\n}");
}

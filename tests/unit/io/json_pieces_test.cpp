// Pins the large-body path of decode_json_batch (src/io/json_pieces.cpp): the bodies it decodes itself,
// equal to the item-by-item decode, and the ones it must leave to the serial decoder, which reports errors
// exactly and reads every item layout.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "decoder_fixture.hpp"
#include "json_item.hpp"
#include "loanrisk/decode.hpp"

using loanrisk::core::compiled_model;
using loanrisk::core::loan_batch;
using loanrisk::io::decode_json_batch;
using loanrisk::io::detail::decode_in_pieces;
using loanrisk::io::detail::decode_lines_in_pieces;
using loanrisk::testing::dump;
using loanrisk::testing::empty_batch;
using loanrisk::testing::outcome;
using loanrisk::testing::small_compiled;

namespace {

using item_text = std::function<std::string(std::size_t)>;

constexpr std::size_t items = 20000;  // about 1.5 MB: several pieces on every core

std::string body_of(const item_text& item, std::size_t n = items) {
    std::string body = "{\"items\": [";
    for (std::size_t i = 0; i < n; ++i) body += (i ? ",\n" : "") + item(i);
    return body + "]}";
}

// The reference: the same items as NDJSON lines, which are decoded one item at a time.
std::string item_by_item(const compiled_model& m, const item_text& item, bool keep_raw = false,
                         std::vector<std::vector<double>>* raw = nullptr) {
    std::string lines;
    for (std::size_t i = 0; i < items; ++i) lines += item(i) + "\n";
    loan_batch b;
    b.reset(m, keep_raw);
    loanrisk::io::ndjson_decoder d(m);
    auto s = d.feed(lines, b);
    if (s) s = d.finish(b);
    if (raw) *raw = b.raw;
    return s ? dump(b) : outcome(s);
}

// What decode_in_pieces made of the body: "left" when it left it to the serial decoder.
std::string in_pieces(const compiled_model& m, const std::string& body, bool keep_raw = false,
                      std::vector<std::vector<double>>* raw = nullptr, loanrisk::io::decode_limits limits = {}) {
    loan_batch b;
    b.reset(m, keep_raw);
    auto s = decode_in_pieces(body, m, b, limits);
    if (!s) return b.size == 0 ? "left" : "left, with loans behind";
    if (raw) *raw = b.raw;
    return *s ? dump(b) : outcome(*s);
}

// Both item shapes, ids of every kind and place, missing and null values, unknown fields of every JSON
// type, escaped keys and values, unknown categories.
std::string varied_item(std::size_t i) {
    const std::string amount = "\"amount\": " + std::to_string(50 + (i * 37) % 900) + (i % 4 ? ".5" : "");
    const std::string rate = i % 7 ? ", \"rate\": " + std::to_string(i % 30) + "e-1" : std::string(", \"rate\": null");
    const std::string grade = i % 5 == 0 ? ", \"gr\\u0061de\": \"B\"" : i % 5 == 1 ? ", \"grade\": \"Q\"" : ", \"grade\": \"A\"";
    const std::string home = i % 3 == 0 ? ", \"home\": \"R\\u0045NT\"" : i % 3 == 1 ? ", \"home\": null" : "";
    const std::string unknown = i % 11 == 0 ? ", \"extra\": {\"a\": [1, \"x\", null, true, false, {\"b\": -2.5e3}]}"
                                            : i % 11 == 1 ? ", \"note\": \"{[\\\"]}\"" : "";
    // where "rate" is the expected key, keys that start like it (before a null rate, too)
    const std::string near = i % 13 == 2 ? ", \"rateX\": 1, \"rat\": 2" : "";
    const std::string features = amount + near + rate + grade + home + unknown;
    switch (i % 8) {
    case 0: return "{\"application_id\": \"A-" + std::to_string(i) + "\", \"data\": {" + features + "}}";
    case 1: return "{\"data\": {" + features + ", \"id\": 7}, \"loan_id\": " + std::to_string(i) + ".50}";
    case 2: return "{\"id\": \"\", \"ID\": \"second-" + std::to_string(i) + "\", " + features + "}";
    case 3: return "{" + features + ", \"application_id\": null}";
    case 4: return "{\"data\": {" + features + "}}";
    case 5: return "{\"application_id\": \"\\u00e9-" + std::to_string(i) + "\", " + features + "}";
    case 6: return "{}";
    default: return "{" + features + ", \"amount\": 300}";  // a repeated key: the last value counts
    }
}

}  // namespace

TEST(json_pieces, decodes_both_item_shapes_like_the_item_decoder) {
    const compiled_model& m = small_compiled();
    const std::string body = body_of(varied_item);
    const std::string want = item_by_item(m, varied_item);
    ASSERT_NE(want.substr(0, 3), "inv");
    EXPECT_TRUE(in_pieces(m, body) == want);  // not EXPECT_EQ: a failure would print 20,000 loans twice
    // a top-level array, with whitespace around it
    const std::string array = "\r\n [" + body.substr(11, body.size() - 13) + "] \n";
    EXPECT_TRUE(in_pieces(m, array) == want);
}

TEST(json_pieces, keeps_raw_values_and_an_exposure_outside_the_model_like_the_item_decoder) {
    const compiled_model m = loanrisk::testing::compiled(loanrisk::testing::small_model, "loan_amnt");
    auto item = [](std::size_t i) {
        const std::string exposure = i % 3 == 0   ? "\"loan_amnt\": " + std::to_string(i)
                                     : i % 3 == 1 ? "\"loan_amnt\": \"n/a\""
                                                  : "\"loan_amnt\": null";
        return i % 2 ? "{" + exposure + ", \"amount\": 120, \"rate\": 12.25}"
                     : "{\"data\": {\"rate\": 3, " + exposure + "}, \"id\": " + std::to_string(i) + "}";
    };
    std::vector<std::vector<double>> want_raw, got_raw;
    const std::string want = item_by_item(m, item, true, &want_raw);
    EXPECT_TRUE(in_pieces(m, body_of(item), true, &got_raw) == want);
    ASSERT_EQ(got_raw.size(), want_raw.size());
    for (std::size_t t = 0; t < got_raw.size(); ++t) {
        ASSERT_EQ(got_raw[t].size(), want_raw[t].size());
        EXPECT_EQ(std::memcmp(got_raw[t].data(), want_raw[t].data(), got_raw[t].size() * sizeof(double)), 0);
    }
}

// Binned numbers are parsed first and binned a block of items at a time (plain_items::encode_block): a
// missing or null value must take the missing code whatever the item at its place in the previous block,
// or the previous piece, held; a repeated key keeps its last number, and a null after a number keeps the
// number, as the item decoder does. The shipped model bins seven inputs through its guess tables.
TEST(json_pieces, binned_values_parsed_a_block_at_a_time_equal_the_item_decoder) {
    const compiled_model& m = small_compiled();
    auto item = [](std::size_t i) {
        const bool odd_block = i / 256 % 2, odd_piece = i / 3000 % 2;  // pieces of the limits below: ~3,000 items
        if ((odd_block || odd_piece) && i % 3 == 0) return std::string("{\"rate\": 1}");
        if (odd_block && i % 5 == 0) return std::string("{\"amount\": null, \"rate\": 1}");
        if (i % 7 == 0) return "{\"amount\": " + std::to_string(i % 700) + ", \"amount\": null}";
        if (i % 11 == 0) return "{\"amount\": 100, \"amount\": " + std::to_string(i % 700) + "}";
        return "{\"amount\": " + std::to_string(i % 700) + ".25, \"rate\": 2}";
    };
    loanrisk::io::decode_limits limits;
    limits.json_piece_bytes = 64 * 1024;
    const std::string want = item_by_item(m, item);
    ASSERT_NE(want.substr(0, 3), "inv");
    EXPECT_TRUE(in_pieces(m, body_of(item), false, nullptr, limits) == want);

    const compiled_model& shipped = loanrisk::testing::shipped_compiled();
    auto real_like = [](std::size_t i) {
        const std::string age = i % 9 == 0 ? "null" : std::to_string(20 + i % 60);
        const std::string rate = i / 256 % 2 && i % 4 == 0 ? "" : ", \"loan_int_rate\": " + std::to_string(5 + i % 20) + "." + std::to_string(i % 100);
        return "{\"person_age\": " + age + ", \"person_income\": " + std::to_string(4000 + i * 37 % 200000) +
               ", \"loan_amnt\": " + std::to_string(500 + i % 35000) + rate +
               ", \"loan_percent_income\": 0." + std::to_string(i % 83) + ", \"loan_grade\": \"B\"}";
    };
    const std::string want_shipped = item_by_item(shipped, real_like);
    ASSERT_NE(want_shipped.substr(0, 3), "inv");
    EXPECT_TRUE(in_pieces(shipped, body_of(real_like), false, nullptr, limits) == want_shipped);
}

// Each body has one unusual item in the middle (or unusual bytes everywhere): the serial decoder must
// decode it, and the result is the item-by-item one.
TEST(json_pieces, leaves_what_it_cannot_decode_exactly_to_the_serial_decoder) {
    const compiled_model& m = small_compiled();
    const std::vector<std::string> unusual = {
        "{\"amount\": \"x\"}",                        // a wrong type: an invalid_field error
        "{\"amount\": -5}",                           // outside the domain
        "{\"rate\": 1e999}",                          // a number a double cannot hold
        "{\"amount\": 1, \"data\": {\"rate\": 2}}",   // features before "data": undone
        "{\"data\": {\"rate\": 2}, \"amount\": 1}",   // features after "data": ignored
        "{\"data\": {\"rate\": 2}, \"data\": {}}",    // a second "data": ignored
        "{\"data\": 5, \"rate\": 2}",                 // "data" that is not an object: an unknown field
        "{\"id\": true, \"rate\": 2}",                // an id that is neither a string nor a number
        "{\"x\": tru}",                               // malformed JSON in an unknown field
        "7",                                          // not an object
    };
    for (const std::string& odd : unusual) {
        auto item = [&](std::size_t i) { return i == items / 2 ? odd : varied_item(i); };
        const std::string body = body_of(item);
        EXPECT_EQ(in_pieces(m, body), "left") << odd;
        loan_batch b = empty_batch(m);
        auto s = decode_json_batch(body, m, b);
        const std::string got = s ? dump(b) : outcome(s);
        const std::string want = item_by_item(m, item);
        if (s) EXPECT_TRUE(got == want) << odd;
        else EXPECT_EQ(got.substr(0, got.find(' ')), want.substr(0, want.find(' '))) << odd;
    }
}

TEST(json_pieces, leaves_bodies_of_another_shape_or_size_to_the_serial_decoder) {
    const compiled_model& m = small_compiled();
    const std::string body = body_of(varied_item);
    EXPECT_NE(in_pieces(m, body), "left");
    // cut-like bytes inside a string of every item: a cut inside one makes a piece that does not parse
    auto noted = [](std::size_t i) { return "{\"note\": \"a}, {b\", \"amount\": " + std::to_string(i % 900) + "}"; };
    EXPECT_EQ(in_pieces(m, body_of(noted)), "left");
    EXPECT_EQ(in_pieces(m, body.substr(0, body.size() - 2) + ",]}"), "left");                  // trailing comma
    EXPECT_EQ(in_pieces(m, body.substr(0, body.size() - 1) + ", \"n\": 1}"), "left");           // another member
    EXPECT_EQ(in_pieces(m, "{\"n\": 1, " + body.substr(1)), "left");
    EXPECT_EQ(in_pieces(m, body_of(varied_item, 100)), "left");                                 // small
    loanrisk::io::decode_limits limits;
    limits.max_items = items - 1;
    EXPECT_EQ(in_pieces(m, body, false, nullptr, limits), "left");
}

namespace {

std::string lines_of(const item_text& item, std::size_t n = items) {
    std::string lines;
    for (std::size_t i = 0; i < n; ++i) lines += item(i) + (i % 9 == 4 ? "\r\n" : "\n");
    return lines;
}

// An NDJSON body fed in chunks of `chunk` bytes (under the size decoded in pieces: one line at a time) or
// whole, then finish(): the batch and the first error, if any.
std::string ndjson(const std::string& body, std::size_t chunk, loanrisk::io::decode_limits limits = {}) {
    loan_batch b = empty_batch(small_compiled());
    loanrisk::io::ndjson_decoder d(small_compiled(), limits);
    loanrisk::status s = loanrisk::ok();
    for (std::size_t at = 0; s && at < body.size(); at += chunk) s = d.feed(std::string_view(body).substr(at, chunk), b);
    if (s) s = d.finish(b);
    return dump(b) + (s ? std::string("ok") : outcome(s));
}

bool lines_in_pieces(const std::string& lines, loanrisk::io::decode_limits limits = {}) {
    loan_batch b = empty_batch(small_compiled());
    const bool taken = decode_lines_in_pieces(lines, small_compiled(), b, limits);
    if (!taken && b.size != 0) ADD_FAILURE() << "loans left behind";
    return taken;
}

}  // namespace

TEST(json_pieces, ndjson_lines_decode_in_pieces_like_one_line_at_a_time) {
    const std::string body = lines_of(varied_item);
    ASSERT_TRUE(lines_in_pieces(body));
    const std::string want = ndjson(body, 4096);
    ASSERT_EQ(want.substr(want.size() - 2), "ok");
    for (std::size_t threads : {0, 2, 5}) {
        loanrisk::io::decode_limits limits;
        limits.threads = threads;
        EXPECT_TRUE(ndjson(body, body.size(), limits) == want) << threads << " threads";
        EXPECT_TRUE(ndjson(body, 100000, limits) == want) << threads << " threads, in chunks";
    }
    // the last line without its line feed
    EXPECT_TRUE(ndjson(body.substr(0, body.size() - 1), body.size()) == want);
}

// Each body has one unusual line in the middle: the lines are left to the line-by-line decoder, and the
// outcome (loans, error, loans kept before it) is its own.
TEST(json_pieces, leaves_ndjson_lines_it_cannot_decode_exactly_to_the_line_decoder) {
    const std::vector<std::string> unusual = {
        "",                                                   // a blank line
        "  \t",                                               // a blank line of spaces
        "{\"amount\": 1}, {\"amount\": 2}",                     // two items on one line
        "{\"amount\": 1} {\"amount\": 2}",                      // two values, no comma
        "{\"amount\":\n1}",                                    // a value over two lines
        "{\"note\": \"a\n\", \"amount\": 1}",                   // a string over two lines
        "{\"note\": \"a\n\", \"amount\": 1}, {\"rate\": 2}",     // the same, then two lines as two values
        "[{\"amount\": 1}",                                    // a bracket that the next line closes
        "{\"amount\": \"x\"}",                                  // a bad value
        "{\"amount\": 1} x",                                    // content after the value
        "7",                                                  // not an object
    };
    for (const std::string& odd : unusual) {
        auto item = [&](std::size_t i) { return i == items / 2 ? odd : i == items / 2 + 1 && odd[0] == '[' ? "{}]" : varied_item(i); };
        const std::string body = lines_of(item);
        EXPECT_FALSE(lines_in_pieces(body)) << odd;
        const std::string want = ndjson(body, 4096);
        EXPECT_TRUE(ndjson(body, body.size()) == want) << odd;
        // in chunks that are each decoded in pieces until the one with the unusual line, then line by line
        EXPECT_TRUE(ndjson(body, 100000) == want) << odd;
    }
    const std::string body = lines_of(varied_item);
    EXPECT_FALSE(lines_in_pieces("\xEF\xBB\xBF" + body));  // a byte-order mark
    EXPECT_TRUE(ndjson("\xEF\xBB\xBF" + body, body.size()) == ndjson("\xEF\xBB\xBF" + body, 4096));
    loanrisk::io::decode_limits limits;
    limits.max_items = items - 1;
    EXPECT_FALSE(lines_in_pieces(body, limits));
    EXPECT_EQ(ndjson(body, body.size(), limits), ndjson(body, 4096, limits));
    limits = {};
    limits.max_line_bytes = 150;
    EXPECT_FALSE(lines_in_pieces(body, limits));
    EXPECT_EQ(ndjson(body, body.size(), limits), ndjson(body, 4096, limits));
    limits.max_line_bytes = 1000;
    EXPECT_TRUE(lines_in_pieces(body, limits));
}

// Found in review: an empty items array made no pieces, and a caller's thread count then asked for
// SIZE_MAX batches. (An array of only whitespace makes one empty piece, which decodes to no loans.)
TEST(json_pieces, an_empty_array_decodes_to_no_loans_whatever_the_thread_count) {
    loanrisk::io::decode_limits limits;
    limits.threads = 3;
    limits.json_piece_bytes = 8;
    for (const std::string body : {"\t[]                 ", "{\"items\": [  ]}         "}) {
        const std::string got = in_pieces(small_compiled(), body, false, nullptr, limits);
        EXPECT_TRUE(got == "left" || got.empty()) << body << ": " << got;
        loan_batch b = empty_batch(small_compiled());
        EXPECT_EQ(outcome(decode_json_batch(body, small_compiled(), b, limits)), "ok") << body;
        EXPECT_EQ(b.size, 0u);
    }
}

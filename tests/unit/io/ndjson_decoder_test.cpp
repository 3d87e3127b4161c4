// Pins ndjson_decoder (loanrisk/decode.hpp): lines cut right however the body is chunked, blank lines and
// CRLF tolerated, each line decoded like a JSON batch item, errors naming the body's line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "decoder_fixture.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"

using loanrisk::core::loan_batch;
using loanrisk::io::decode_limits;
using loanrisk::io::ndjson_decoder;
using loanrisk::testing::dump;
using loanrisk::testing::empty_batch;
using loanrisk::testing::outcome;
using loanrisk::testing::small_compiled;

namespace {

// Decodes `body` fed as the given chunks, then finish(): the batch, or the first error.
std::string decode_chunks(const std::vector<std::string_view>& chunks, decode_limits limits = {}) {
    loan_batch b = empty_batch(small_compiled());
    ndjson_decoder d(small_compiled(), limits);
    for (auto c : chunks)
        if (auto s = d.feed(c, b); !s) return outcome(s);
    if (auto s = d.finish(b); !s) return outcome(s);
    return dump(b);
}

std::string decode(std::string_view body, decode_limits limits = {}) { return decode_chunks({body}, limits); }

const std::string body =
    "{\"amount\": 300, \"grade\": \"B\", \"application_id\": \"A-1\"}\n"
    "\n"
    "{\"application_id\": \"A-\\u0032\", \"data\": {\"amount\": 100, \"home\": \"OWN\"}}\r\n"
    "   \t\n"
    "{\"id\": 17, \"rate\": 13}";

const std::string decoded =
    "id=A-1 codes=1,1,3,7 dense=-0.5 exposure=300 age=300\n"
    "id=A-2 codes=0,3,1,13 dense=-0.5 exposure=100 age=100\n"
    "id=17 codes=3,3,3,15 dense=1 exposure=null age=null\n";

}  // namespace

TEST(ndjson_decoder, decodes_both_item_shapes_one_per_line) {
    EXPECT_EQ(decode(body), decoded);
    EXPECT_EQ(decode(body + "\n"), decoded);
}

TEST(ndjson_decoder, every_split_point_gives_the_same_batch) {
    for (std::size_t at = 0; at <= body.size(); ++at) {
        const std::string_view all = body;
        ASSERT_EQ(decode_chunks({all.substr(0, at), all.substr(at)}), decoded) << "split at " << at;
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < body.size(); ++i) bytes.push_back(std::string_view(body).substr(i, 1));
    EXPECT_EQ(decode_chunks(bytes), decoded);
}

TEST(ndjson_decoder, complete_lines_are_decoded_as_they_arrive) {
    loan_batch b = empty_batch(small_compiled());
    ndjson_decoder d(small_compiled());
    ASSERT_TRUE(d.feed("{\"amount\": 1}\n{\"amou", b));
    EXPECT_EQ(b.size, 1u);
    ASSERT_TRUE(d.feed("nt\": 2}", b));
    EXPECT_EQ(b.size, 1u);  // no newline yet: the line may go on
    ASSERT_TRUE(d.finish(b));
    EXPECT_EQ(b.size, 2u);
    EXPECT_EQ(d.items(), 2u);
}

TEST(ndjson_decoder, empty_and_blank_bodies_hold_no_loans) {
    EXPECT_EQ(decode(""), "");
    EXPECT_EQ(decode("\n\r\n  \n"), "");
    EXPECT_EQ(decode("\xEF\xBB\xBF{\"amount\": 600}\n"), "id=null codes=2,3,3,15 dense=-0.5 exposure=600 age=600\n");
}

TEST(ndjson_decoder, errors_name_the_line_of_the_body) {
    EXPECT_EQ(decode("{}\n\n{\"data\": {\"amount\": \"x\"}}\n"),
              "invalid_field line 3.data.amount: expected a number @24");
    EXPECT_EQ(decode("{}\r\n{\"amount\": -5}"), "invalid_field line 2.amount: must be >= 0 @15");
    EXPECT_EQ(decode("{}\n{\"grade\": 1}\n"), "invalid_field line 2.grade: expected a string @13");
    EXPECT_EQ(decode("{}\n{\"amount\": 1e999}\n"), "invalid_field line 2.amount: expected a finite number @14");
}

TEST(ndjson_decoder, malformed_lines_report_the_body_offset) {
    EXPECT_EQ(decode("{}\n{\"amount\": 1,}\n"),
              "malformed_json line 2: improper structure: a missing or extra comma, colon, brace, bracket or key @16");
    EXPECT_EQ(decode("{}\n{\"amount\": 1}{}\n"), "malformed_json line 2: unexpected content after the JSON value @16");
    EXPECT_EQ(decode("{}\n{\"grade\": \"A}\n"), "malformed_json line 2: a string is opened but never closed @13");
    EXPECT_EQ(decode("{}\n[1, 2]\n"), "invalid_request line 2: expected a JSON object (one loan's fields) @3");
}

TEST(ndjson_decoder, an_error_keeps_the_lines_before_it_and_sticks) {
    loan_batch b = empty_batch(small_compiled());
    ndjson_decoder d(small_compiled());
    EXPECT_EQ(outcome(d.feed("{\"amount\": 1}\n{\"amount\": \"1\"}\n{}\n", b)),
              "invalid_field line 2.amount: expected a number @25");
    EXPECT_EQ(b.size, 1u);
    EXPECT_EQ(outcome(d.feed("{}\n", b)), "invalid_field line 2.amount: expected a number @25");
    EXPECT_EQ(outcome(d.finish(b)), "invalid_field line 2.amount: expected a number @25");
    EXPECT_EQ(b.size, 1u);
}

TEST(ndjson_decoder, a_line_over_the_limit_is_refused_even_unfinished) {
    decode_limits limits;
    limits.max_line_bytes = 16;
    EXPECT_EQ(decode("{\"amount\": 1}\n{\"amount\":    2}\n", limits),
              "id=null codes=0,3,3,15 dense=-0.5 exposure=1 age=1\n"
              "id=null codes=0,3,3,15 dense=-0.5 exposure=2 age=2\n");
    EXPECT_EQ(decode("{}\n{\"amount\":     2}\n", limits), "line_too_long line 2: line longer than 16 bytes @3");
    EXPECT_EQ(decode_chunks({"{}\n{\"amount\":", "      ", "2"}, limits),
              "line_too_long line 2: line longer than 16 bytes @3");
}

TEST(ndjson_decoder, too_many_items_is_refused) {
    decode_limits limits;
    limits.max_items = 1;
    EXPECT_EQ(decode("{}\n\n", limits), "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n");
    EXPECT_EQ(decode("{}\n\n{}\n", limits), "too_many_items line 3: more than 1 items in one request @4");
}

// The real data file as NDJSON, in 4 KiB chunks, decodes to the same loans as the CSV.
TEST(ndjson_decoder, real_data_as_ndjson_decodes_like_the_csv) {
    const std::string csv = loanrisk::testing::real_data();
    LOANRISK_NEED_REAL_DATA(csv);
    const auto& m = loanrisk::testing::shipped_compiled();
    loan_batch from_csv = empty_batch(m);
    loanrisk::io::csv_decoder c(m);
    ASSERT_TRUE(c.feed(csv, from_csv));
    ASSERT_TRUE(c.finish(from_csv));

    loanrisk::io::csv_reader reader(csv);
    std::vector<std::string_view> header, row;
    ASSERT_TRUE(*reader.next(header));
    std::string ndjson;
    for (auto r = reader.next(row); r && *r; r = reader.next(row)) {
        ndjson += "{";
        for (std::size_t k = 0; k < row.size(); ++k) {
            if (row[k].empty()) continue;  // a missing field is simply absent
            const int in = m.find_input(header[k]);
            ndjson += (ndjson.back() == '{' ? "\"" : ", \"") + std::string(header[k]) + "\": ";
            if (in >= 0 && !m.inputs[static_cast<std::size_t>(in)].numeric)
                ndjson += "\"" + std::string(row[k]) + "\"";
            else
                ndjson += row[k];
        }
        ndjson += "}\n";
    }
    loan_batch from_ndjson = empty_batch(m);
    ndjson_decoder d(m);
    for (std::size_t at = 0; at < ndjson.size(); at += 4096)
        ASSERT_EQ(outcome(d.feed(std::string_view(ndjson).substr(at, 4096), from_ndjson)), "ok");
    ASSERT_TRUE(d.finish(from_ndjson));
    ASSERT_EQ(from_ndjson.size, 32581u);
    EXPECT_EQ(from_ndjson.codes, from_csv.codes);
    EXPECT_EQ(dump(from_ndjson), dump(from_csv));
}

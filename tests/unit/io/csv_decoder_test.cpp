// Pins csv_decoder (loanrisk/decode.hpp): records cut right however the body is chunked (quotes and CRLF
// included), the header mapping, line numbers of the whole body, and the real data file end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "decoder_fixture.hpp"
#include "loanrisk/decode.hpp"

using loanrisk::core::loan_batch;
using loanrisk::io::csv_decoder;
using loanrisk::io::decode_limits;
using loanrisk::testing::dump;
using loanrisk::testing::empty_batch;
using loanrisk::testing::outcome;
using loanrisk::testing::small_compiled;

namespace {

std::string decode_chunks(const std::vector<std::string_view>& chunks, decode_limits limits = {},
                          const loanrisk::core::compiled_model& m = small_compiled()) {
    loan_batch b = empty_batch(m);
    csv_decoder d(m, limits);
    for (auto c : chunks)
        if (auto s = d.feed(c, b); !s) return outcome(s);
    if (auto s = d.finish(b); !s) return outcome(s);
    return dump(b);
}

std::string decode(std::string_view body, decode_limits limits = {}) { return decode_chunks({body}, limits); }

const std::string body =
    "application_id,amount,rate,grade,home,notes,ID\n"
    "A-1,300,13,B,OWN,plain,x\n"
    "\"A-2\",100,,\"A\",RENT,\"a, b\nand \"\"c\"\"\",y\r\n"
    "\n"
    ",,,,,,z\n"
    ", 600 ,+9,Z,,,";

const std::string decoded =
    "id=A-1 codes=1,1,1,5 dense=1 exposure=300 age=300\n"
    "id=A-2 codes=0,0,0,0 dense=-0.5 exposure=100 age=100\n"
    "id=z codes=3,3,3,15 dense=-0.5 exposure=null age=null\n"
    "id=null codes=2,2,3,11 dense=-1 exposure=600 age=600\n";

}  // namespace

TEST(csv_decoder, maps_header_columns_and_decodes_every_record) { EXPECT_EQ(decode(body), decoded); }

TEST(csv_decoder, every_split_point_gives_the_same_batch) {
    for (std::size_t at = 0; at <= body.size(); ++at) {
        const std::string_view all = body;
        ASSERT_EQ(decode_chunks({all.substr(0, at), all.substr(at)}), decoded) << "split at " << at;
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < body.size(); ++i) bytes.push_back(std::string_view(body).substr(i, 1));
    EXPECT_EQ(decode_chunks(bytes), decoded);
}

TEST(csv_decoder, complete_records_are_decoded_as_they_arrive_and_finish_takes_the_last) {
    loan_batch b = empty_batch(small_compiled());
    csv_decoder d(small_compiled());
    ASSERT_TRUE(d.feed("amount\n300\n4", b));
    EXPECT_EQ(b.size, 1u);
    ASSERT_TRUE(d.feed("00", b));
    EXPECT_EQ(b.size, 1u);
    ASSERT_TRUE(d.finish(b));
    EXPECT_EQ(dump(b),
              "id=null codes=1,3,3,15 dense=-0.5 exposure=300 age=300\n"
              "id=null codes=1,3,3,15 dense=-0.5 exposure=400 age=400\n");
    EXPECT_EQ(d.items(), 2u);
}

TEST(csv_decoder, crlf_lone_cr_and_a_byte_order_mark) {
    const std::string two =
        "id=null codes=1,0,3,3 dense=-0.5 exposure=300 age=300\n"
        "id=null codes=0,1,3,7 dense=-0.5 exposure=100 age=100\n";
    EXPECT_EQ(decode("amount,grade\r\n300,A\r\n100,B\r\n"), two);
    EXPECT_EQ(decode("amount,grade\r300,A\r100,B"), two);
    EXPECT_EQ(decode("\xEF\xBB\xBF"
                     "amount,grade\n300,A\n100,B\n"),
              two);
    EXPECT_EQ(decode_chunks({"amount,grade\r", "\n300,A\r", "\n100,B\r", "\n"}), two);
    EXPECT_EQ(decode_chunks({"amount,grade\r", "300,A\r", "100,B\r"}), two);
}

// Found by the CSV fuzzer: a chunk that starts after the header used to have a leading byte-order mark
// stepped over, so the same body decoded differently depending on where the network cut it.
TEST(csv_decoder, a_byte_order_mark_past_the_start_of_the_body_is_data_wherever_the_body_is_cut) {
    const std::string body = "amount,grade\n\xEF\xBB\xBF" "300,A\n";
    const std::string whole = decode(body);
    EXPECT_EQ(whole.rfind("invalid_field line 2, column amount:", 0), 0u) << whole;
    EXPECT_EQ(decode_chunks({"amount,grade\n", "\xEF\xBB\xBF" "300,A\n"}), whole);
    EXPECT_EQ(decode_chunks({"amount,gr", "ade\n\xEF\xBB\xBF" "300,A\n"}), whole);
}

TEST(csv_decoder, header_only_is_zero_loans_and_an_empty_body_has_no_header) {
    EXPECT_EQ(decode("amount,grade\n"), "");
    EXPECT_EQ(decode("amount,grade"), "");
    EXPECT_EQ(decode(""), "malformed_csv no header line: expected a first line naming the fields @0");
    EXPECT_EQ(decode("\n\r\n"), "malformed_csv no header line: expected a first line naming the fields @0");
}

TEST(csv_decoder, a_header_naming_no_input_is_refused) {
    EXPECT_EQ(decode("300,A\n100,B\n"),
              "malformed_csv line 1: the header line names none of the model's input fields (is it missing?) @0");
    EXPECT_EQ(decode("amount,grade, amount\n"), "malformed_csv line 1: column amount appears twice in the header @0");
}

TEST(csv_decoder, missing_values_and_unknown_categories) {
    EXPECT_EQ(decode("amount,rate,grade,home\n  ,,,\n1,2,\"\",Q\n"),
              "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n"
              "id=null codes=0,3,2,14 dense=-4.5 exposure=1 age=1\n");
}

TEST(csv_decoder, id_comes_from_the_first_non_empty_id_column) {
    EXPECT_EQ(decode("reference_id,id,amount,application_id,ID\nr,i,1,a,b\nr,i,1,,b\nr,,1,,\n,,1,,\n"),
              "id=a codes=0,3,3,15 dense=-0.5 exposure=1 age=1\n"
              "id=b codes=0,3,3,15 dense=-0.5 exposure=1 age=1\n"
              "id=r codes=0,3,3,15 dense=-0.5 exposure=1 age=1\n"
              "id=null codes=0,3,3,15 dense=-0.5 exposure=1 age=1\n");
}

TEST(csv_decoder, exposure_outside_the_model_is_read_when_a_number_of_zero_or_more) {
    const auto m = loanrisk::testing::compiled(loanrisk::testing::small_model, "principal");
    EXPECT_EQ(decode_chunks({"principal,amount\n1000,300\nx,\n-5,\n"}, {}, m),
              "id=null codes=1,3,3,15 dense=-0.5 exposure=1000 age=300\n"
              "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n"
              "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n");  // a negative amount is none
}

TEST(csv_decoder, wrong_field_count_names_the_line) {
    EXPECT_EQ(decode("application_id,amount\nA,1\nB\n"),
              "malformed_csv line 3: expected 2 fields (as in the header), found 1 @26");
    EXPECT_EQ(decode("amount,grade\n1,A,x\n"),
              "malformed_csv line 2: expected 2 fields (as in the header), found 3 @13");
}

TEST(csv_decoder, bad_values_name_line_and_column) {
    EXPECT_EQ(decode("notes,amount\n\"x\ny\",1\n\"z\",x\n"),
              "invalid_field line 4, column amount: expected a number @21");
    EXPECT_EQ(decode("amount\n-1\n"), "invalid_field line 2, column amount: must be >= 0 @7");
    EXPECT_EQ(decode("amount\nnan\n"), "invalid_field line 2, column amount: expected a finite number @7");
    EXPECT_EQ(decode("amount\n1e999\n"), "invalid_field line 2, column amount: expected a finite number @7");
    EXPECT_EQ(decode("amount\n12abc\n"), "invalid_field line 2, column amount: expected a number @7");
    EXPECT_EQ(
        decode("amount\n1e-999\n-0.0000e-999\n"),  // too small for a double: 0, as JSON reads it
        "id=null codes=0,3,3,15 dense=-0.5 exposure=0 age=0\nid=null codes=0,3,3,15 dense=-0.5 exposure=0 age=0\n");
    EXPECT_EQ(decode("amount\n-1e-999\n"), "id=null codes=0,3,3,15 dense=-0.5 exposure=0 age=0\n");
    EXPECT_EQ(decode("amount\n0.001e-99999999999999999999999\n"),
              "id=null codes=0,3,3,15 dense=-0.5 exposure=0 age=0\n");
    EXPECT_EQ(decode("amount\n100e99999999999999999999999\n"),
              "invalid_field line 2, column amount: expected a finite number @7");
    EXPECT_EQ(decode("amount,rate\n1,101\n"), "invalid_field line 2, column rate: must be <= 100 @12");
}

TEST(csv_decoder, malformed_quoting_names_the_line) {
    EXPECT_EQ(decode("grade\n\"A\n"),
              "malformed_csv line 2: unterminated quoted field: the quote opened here is never closed @6");
    EXPECT_EQ(decode("grade\nA\nA\"B\n"),
              "malformed_csv line 3: quote character inside an unquoted field (quote the whole field and double the "
              "quotes inside it) @9");
}

TEST(csv_decoder, a_stray_quote_is_its_records_error_wherever_the_body_is_cut) {
    // O"Neil: a quote inside an unquoted field is data the tokenizer refuses, for its record alone. Read as
    // opening a quoted field, it joined everything after it into one record: refused as too long (413) or
    // not, depending on where the body was cut and how it was shared out among threads.
    std::string text = "application_id,amount,rate,grade,home,notes,ID\n";
    for (int r = 0; r < 400; ++r)
        text += "L" + std::to_string(r) + ",300,13,B,OWN," + (r == 9 ? "O\"Neil" : "plain") + ",x\n";
    const std::size_t at = text.find("O\"Neil");
    const std::string expected = "malformed_csv line 11: quote character inside an unquoted field (quote the whole "
                                 "field and double the quotes inside it) @" +
                                 std::to_string(at + 1);  // where the quote is
    decode_limits small;
    small.max_line_bytes = 1000;  // past the body after the quote
    small.csv_part_bytes = 512;
    for (std::size_t threads : {1, 2, 5}) {
        small.threads = threads;
        EXPECT_EQ(decode(text, small), expected) << threads << " threads";
        for (std::size_t cut = at - 20; cut < at + 40; ++cut)
            ASSERT_EQ(decode_chunks({std::string_view(text).substr(0, cut), std::string_view(text).substr(cut)}, small),
                      expected)
                << "cut at " << cut << ", " << threads << " threads";
    }
    // A quote that opens its field still spans lines, whatever the cut: "a\nb" is one field.
    const std::string quoted = "grade,notes\nA,\"a\nb\"\nB,\"say \"\"hi\"\"\"\n";
    for (std::size_t cut = 0; cut <= quoted.size(); ++cut)
        ASSERT_EQ(decode_chunks({std::string_view(quoted).substr(0, cut), std::string_view(quoted).substr(cut)}),
                  decode(quoted))
            << "cut at " << cut;
    const std::string loans = decode(quoted);
    EXPECT_EQ(std::count(loans.begin(), loans.end(), '\n'), 2) << loans;
}

TEST(csv_decoder, a_quoted_first_header_field_after_a_byte_order_mark_opens_a_quoted_field) {
    // The mark is no field's: the quote after it starts the first field, whose line break is data.
    const std::string text = "\xEF\xBB\xBF\"note\nx\",grade,amount\nA,B,300\n";
    const std::string expected = decode(text.substr(3));
    ASSERT_EQ(expected.find("id="), 0u) << expected;
    for (std::size_t cut = 0; cut <= text.size(); ++cut)
        ASSERT_EQ(decode_chunks({std::string_view(text).substr(0, cut), std::string_view(text).substr(cut)}), expected)
            << "cut at " << cut;
    EXPECT_EQ(decode_chunks({"\xEF", "\xBB", "\xBF\"note\nx\",grade,amount\n", "A,B,300\n"}), expected);
    // Two bytes of a mark and then not the third: data, so the quote after them is inside a field, however cut.
    // (Read as opening a quoted field, it would hold the rest as one record, past a small record limit.)
    const std::string partial = "\xEF\xBB\"h,grade\nA,B\nA,B\nA,B\nA,B\nA,B\nA,B\n";
    decode_limits small;
    small.max_line_bytes = 16;
    const std::string refused = decode(partial, small);
    ASSERT_EQ(refused.find("malformed_csv line 1: quote character inside an unquoted field"), 0u) << refused;
    for (std::size_t cut = 0; cut <= partial.size(); ++cut)
        ASSERT_EQ(decode_chunks({std::string_view(partial).substr(0, cut), std::string_view(partial).substr(cut)}, small),
                  refused)
            << "cut at " << cut;
    EXPECT_EQ(decode_chunks({"\xEF", "\xBB", std::string_view(partial).substr(2)}, small), refused);
}

TEST(csv_decoder, an_error_keeps_the_records_before_it_and_sticks) {
    loan_batch b = empty_batch(small_compiled());
    csv_decoder d(small_compiled());
    EXPECT_EQ(outcome(d.feed("amount\n1\nx\n2\n", b)), "invalid_field line 3, column amount: expected a number @9");
    EXPECT_EQ(b.size, 1u);
    EXPECT_EQ(outcome(d.feed("3\n", b)), "invalid_field line 3, column amount: expected a number @9");
    EXPECT_EQ(outcome(d.finish(b)), "invalid_field line 3, column amount: expected a number @9");
    EXPECT_EQ(b.size, 1u);
}

TEST(csv_decoder, a_record_over_the_limit_is_refused_even_unfinished) {
    decode_limits limits;
    limits.max_line_bytes = 10;
    EXPECT_EQ(decode("amount\n1234567890\n", limits),
              "id=null codes=2,3,3,15 dense=-0.5 exposure=1234567890 age=1234567890\n");
    EXPECT_EQ(decode("amount\n12345678901\n", limits), "line_too_long line 2: record longer than 10 bytes @7");
    EXPECT_EQ(decode_chunks({"amount\n1234", "5678901"}, limits),
              "line_too_long line 2: record longer than 10 bytes @7");
    EXPECT_EQ(
        decode_chunks({"amount\n\"1234", "5678901"}, limits),
        "line_too_long line 2: record longer than 10 bytes (it is inside a quoted field: is a quote unbalanced?) @7");
}

// A header is held to the record limit (its columns cost memory), and a wide one within it decodes: the
// one-pass path's blocks shrink to fit the width.
TEST(csv_decoder, a_header_over_the_record_limit_is_refused_and_a_wide_one_decodes) {
    decode_limits limits;
    limits.max_line_bytes = 1000;
    EXPECT_EQ(decode("amount" + std::string(1000, ',') + "\n1\n", limits),
              "line_too_long line 1: header line longer than 1000 bytes @0");
    std::string wide = "amount" + std::string(990, ',') + "\n", expected;
    for (int r = 0; r < 20; ++r) {
        wide += std::to_string(r + 1) + std::string(990, ',') + "\n";
        expected += "id=null codes=0,3,3,15 dense=-0.5 exposure=" + std::to_string(r + 1) + " age=" + std::to_string(r + 1) + "\n";
    }
    EXPECT_EQ(decode(wide, limits), expected);
}

TEST(csv_decoder, too_many_items_is_refused) {
    decode_limits limits;
    limits.max_items = 1;
    EXPECT_EQ(decode("amount\n1\n2\n", limits), "too_many_items line 3: more than 1 items in one request @9");
}

// Every row of the real data set, decoded against the shipped model, carries the codes the model's own
// edges and categories give for that row's values (computed here without the decoder or csv_reader).
TEST(csv_decoder, real_data_codes_match_the_model_row_by_row) {
    const std::string csv = loanrisk::testing::real_data();
    LOANRISK_NEED_REAL_DATA(csv);
    const auto& m = loanrisk::testing::shipped_compiled();
    const loanrisk::core::model& model = *m.source;

    loan_batch b = empty_batch(m);
    csv_decoder d(m);
    ASSERT_EQ(outcome(d.feed(csv, b)), "ok");
    ASSERT_EQ(outcome(d.finish(b)), "ok");
    ASSERT_EQ(b.size, 32581u);

    // The file has no quotes: lines split on LF, fields on commas.
    std::vector<std::vector<std::string>> rows;
    for (std::size_t at = 0; at < csv.size();) {
        std::size_t end = std::min(csv.find('\n', at), csv.size());
        std::vector<std::string>& row = rows.emplace_back();
        for (std::size_t f = at;;) {
            std::size_t comma = std::min(csv.find(',', f), end);
            row.emplace_back(csv.substr(f, comma - f));
            if (comma == end) break;
            f = comma + 1;
        }
        at = end + 1;
    }
    ASSERT_EQ(rows.size(), 32582u);
    std::map<std::string, std::size_t> column;
    for (std::size_t c = 0; c < rows[0].size(); ++c) column[rows[0][c]] = c;

    auto code_of = [&](std::size_t k, const std::vector<std::string>& row) -> std::size_t {
        const loanrisk::core::feature& f = model.features[k];
        const std::string& text = row.at(column.at(f.name));
        if (f.type == loanrisk::core::feature_type::numeric) {
            if (text.empty()) return f.edges.size() + 1;
            const double x = std::strtod(text.c_str(), nullptr);
            return static_cast<std::size_t>(std::upper_bound(f.edges.begin(), f.edges.end(), x) - f.edges.begin());
        }
        if (text.empty()) return f.categories.size() + 1;
        return static_cast<std::size_t>(std::find(f.categories.begin(), f.categories.end(), text) -
                                        f.categories.begin());
    };

    std::size_t mismatches = 0, checked = 0;
    for (std::size_t i = 0; i < b.size; ++i) {
        const auto& row = rows[i + 1];
        for (std::size_t t = 0; t < m.lookups.size(); ++t) {
            const auto& term = m.lookups[t];
            const loanrisk::core::feature& f = model.features[term.feature];
            std::size_t expected = 0;
            if (f.type == loanrisk::core::feature_type::cross) {
                const std::size_t partner = model.features[f.cross_of[1]].categories.size() + 2;
                expected = code_of(f.cross_of[0], row) * partner + code_of(f.cross_of[1], row);
            } else {
                expected = code_of(term.feature, row);
            }
            if (b.codes[t][i] != expected && ++mismatches <= 5)
                ADD_FAILURE() << "row " << i << " " << term.name << ": " << b.codes[t][i] << " != " << expected;
            ++checked;
        }
        ASSERT_EQ(b.exposure[i], std::strtod(row[column.at("loan_amnt")].c_str(), nullptr));
        ASSERT_EQ(b.age[i], std::strtod(row[column.at("person_age")].c_str(), nullptr));
        ASSERT_EQ(b.id_present[i], 0);
    }
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(checked, 32581u * m.lookups.size());
    EXPECT_EQ(m.lookups.size(), 14u);  // every feature of the shipped model is binned or categorical

    // Fed in odd-sized chunks it decodes to the same batch.
    loan_batch chunked = empty_batch(m);
    csv_decoder c(m);
    for (std::size_t at = 0; at < csv.size(); at += 997)
        ASSERT_TRUE(c.feed(std::string_view(csv).substr(at, 997), chunked));
    ASSERT_TRUE(c.finish(chunked));
    EXPECT_EQ(chunked.codes, b.codes);
    EXPECT_EQ(dump(chunked), dump(b));
}

// Plain records (unquoted fields, or quoted ones with nothing escaped) take the one-pass path; a record
// with an escaped quote takes the general RFC 4180 reader. A body whose every record holds one (in the
// ignored notes column) therefore decodes through the general reader alone, and is the reference: the same
// body unquoted, and quoted field by field (its notes holding a comma), must give the same loans, or the
// same error on the same line.
// Random bodies mix plain values with every case the one-pass path hands over (spaces, '+', exponents,
// non-numbers, values out of the domain, wrong field counts, blank lines, CRLF), and are also cut at
// random points.
TEST(csv_decoder, one_pass_plain_records_decode_as_the_general_reader_does) {
    const std::vector<std::vector<std::string>> values = {
        {"A-1", "", "B-22", "x y"},                                               // application_id
        {"300", "", "0", "12.5", " 600 ", "+9", "1e3", "-1", "abc", "1e-999"},   // amount
        {"13", "", "7.25", "100", "101", "0.0000001"},                            // rate
        {"A", "B", "Z", "", "AB"},                                                // grade
        {"OWN", "RENT", "", "own"},                                               // home
        {"plain", "", "a b"},                                                     // notes (ignored)
        {"", "z", "7"}};                                                          // ID
    const std::string header = "application_id,amount,rate,grade,home,notes,ID\n";
    std::srand(5);
    auto pick = [](std::size_t n) { return static_cast<std::size_t>(std::rand()) % n; };
    auto strip_offset = [](std::string s) { return s.substr(0, s.rfind(" @")); };
    for (int round = 0; round < 400; ++round) {
        std::string plain = header, quoted = header, reference = header;
        const std::size_t rows = 1 + pick(12);
        for (std::size_t r = 0; r < rows; ++r) {
            if (pick(10) == 0) {  // a blank line
                plain += "\n";
                quoted += "\n";
                reference += "\n";
            }
            std::size_t fields = values.size();
            if (pick(40) == 0) fields += pick(2) ? 1 : -1;  // a wrong field count now and then
            for (std::size_t c = 0; c < fields; ++c) {
                const auto& choices = values[std::min(c, values.size() - 1)];
                // Rarely-bad values appear rarely, so that most bodies decode to the end.
                std::size_t v = pick(choices.size());
                if (v > 3 && pick(4) != 0) v = 0;
                plain += (c ? "," : "") + choices[v];
                quoted += (c ? ",\"" : "\"") + choices[v] + "\"";
                reference += (c ? ",\"" : "\"") + (c == 5 ? "say \"\"hi\"\"" : choices[v]) + "\"";
                if (c == 5) quoted.replace(quoted.size() - choices[v].size() - 1, choices[v].size(), "a, b");
            }
            const bool last = r + 1 == rows;
            const char* end = pick(4) == 0 ? "\r\n" : "\n";
            if (!last || pick(3) != 0) {
                plain += end;
                quoted += end;
                reference += end;
            }
        }
        const std::string expected = decode(reference);
        for (const std::string* body : {&plain, &quoted}) {
            ASSERT_EQ(strip_offset(decode(*body)), strip_offset(expected)) << *body;
            const std::string_view all = *body;
            const std::size_t at = pick(all.size() + 1);
            ASSERT_EQ(strip_offset(decode_chunks({all.substr(0, at), all.substr(at)})), strip_offset(expected))
                << "cut at " << at << " of\n" << all;
        }
    }
}

// The one-pass path grows rows in bulk and fills them: rows that fail, or come after a record the
// general reader decodes, must neither leave default rows behind nor lose ids.
TEST(csv_decoder, records_decoded_by_either_path_interleave_in_order) {
    std::string body = "application_id,amount\n";
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        const std::string id = "L" + std::to_string(i);
        // An escaped quote sends a record to the general reader.
        body += i % 7 == 3 ? "\"" + id + "\"\"\",5\n" : id + ",5\n";
        expected += "id=" + id + (i % 7 == 3 ? "\"" : "") + " codes=0,3,3,15 dense=-0.5 exposure=5 age=5\n";
    }
    EXPECT_EQ(decode(body), expected);
    body += "bad,x\n";
    loan_batch b = empty_batch(small_compiled());
    csv_decoder d(small_compiled());
    EXPECT_EQ(outcome(d.feed(body, b)), "invalid_field line 302, column amount: expected a number @" +
                                            std::to_string(body.size() - 6));
    EXPECT_EQ(dump(b), expected);
}

// The one-pass path cuts records a block at a time (up to 256) and decodes each block column by column:
// long bodies cross many blocks, with records the general reader must decode (numbers from_chars reads,
// escaped quotes) scattered through them, blank lines and CRLF, cut anywhere into chunks, and an error
// at any row. Each decodes as the general reader alone decodes the same values, line numbers included.
TEST(csv_decoder, long_bodies_decode_across_blocks_as_the_general_reader_does) {
    const std::string header = "application_id,amount,rate,grade,home,notes,ID\n";
    std::srand(17);
    auto pick = [](std::size_t n) { return static_cast<std::size_t>(std::rand()) % n; };
    auto strip_offset = [](std::string s) { return s.substr(0, s.rfind(" @")); };
    for (int round = 0; round < 12; ++round) {
        std::string plain = header, reference = header;
        const std::size_t rows = 200 + pick(1500), bad_row = round % 3 == 2 ? pick(rows) : rows;
        const std::size_t general_rate = 1 + pick(round % 2 ? 30 : 400);  // records for the general reader: 1 in N
        for (std::size_t r = 0; r < rows; ++r) {
            if (pick(100) == 0) {
                plain += "\n";
                reference += "\n";
            }
            const bool general = pick(general_rate) == 0;
            const std::vector<std::string> fields = {
                "L" + std::to_string(r),
                r == bad_row ? "-1" : general ? (pick(2) ? " 600 " : "1e3") : std::vector<std::string>{"300", "", "12.5"}[pick(3)],
                general && pick(2) ? "0.0000001" : std::vector<std::string>{"13", "", "7.25"}[pick(3)],
                std::vector<std::string>{"A", "B", "Z", ""}[pick(4)],
                std::vector<std::string>{"OWN", "RENT", ""}[pick(3)],
                "plain",
                pick(2) ? "" : "z"};
            for (std::size_t c = 0; c < fields.size(); ++c) {
                plain += (c ? "," : "") + (general && c == 5 ? "\"say \"\"hi\"\"\"" : fields[c]);
                reference += (c ? ",\"" : "\"") + (c == 5 ? "say \"\"hi\"\"" : fields[c]) + "\"";
            }
            const char* end = pick(5) == 0 ? "\r\n" : "\n";
            plain += end;
            reference += end;
        }
        const std::string expected = decode(reference);
        ASSERT_EQ(expected.find("invalid_field") != std::string::npos, bad_row < rows);
        ASSERT_EQ(strip_offset(decode(plain)), strip_offset(expected)) << "round " << round;
        const std::string_view all = plain;
        const std::size_t a = pick(all.size() + 1), b = a + pick(all.size() - a + 1);
        ASSERT_EQ(decode_chunks({all.substr(0, a), all.substr(a, b - a), all.substr(b)}), decode(plain))
            << "round " << round << " cut at " << a << " and " << b;
    }
}

// Large texts are cut at line feeds outside quotes and decoded on several cores: loans, errors (line,
// column, offset) and the loans kept before an error are the serial decoder's, with quoted line breaks,
// CRLF, blank lines and records for the general reader anywhere, however many parts the text makes.
TEST(csv_decoder, large_bodies_decoded_in_parts_equal_the_serial_decode) {
    const std::string header = "application_id,amount,rate,grade,home,notes,ID\n";
    std::srand(23);
    auto pick = [](std::size_t n) { return static_cast<std::size_t>(std::rand()) % n; };
    auto limits_with = [](std::size_t threads, std::size_t max_items = decode_limits{}.max_items) {
        decode_limits l;
        l.threads = threads;
        l.max_items = max_items;
        return l;
    };
    for (int round = 0; round < 8; ++round) {
        std::string text = header;
        const std::size_t rows = 9000 + pick(6000);
        for (std::size_t r = 0; r < rows; ++r) {
            if (pick(200) == 0) text += "\n";
            const std::vector<std::string> notes = {"plain", "\"two\nlines\"", "\"a \"\"quote\"\"\"", "\"\n\"", ""};
            text += "L" + std::to_string(r) + "," + std::vector<std::string>{"300", "", "12.5", " 600 "}[pick(4)] + "," +
                    std::vector<std::string>{"13", "", "7.25"}[pick(3)] + "," + std::vector<std::string>{"A", "B", "Z"}[pick(3)] +
                    ",OWN," + notes[round % 2 ? pick(notes.size()) : 0] + "," + (pick(2) ? "" : "z") + (pick(5) ? "\n" : "\r\n");
        }
        std::string bad = text;
        const std::size_t at = bad.find("\nL" + std::to_string(rows / 2 + pick(rows / 3)) + ",") + 1;
        switch (round % 4) {
        case 0: bad.insert(bad.find(',', at) + 1, "-"); break;         // a negative amount
        case 1: bad.insert(bad.find(',', at), ",extra"); break;        // a field too many
        case 2: bad.insert(bad.find(',', at) + 1, "\"x\"y"); break;    // malformed quoting
        default: bad.insert(at, "\"unclosed,"); break;                // a quote never closed
        }
        const std::string serial = decode(text, limits_with(1)), serial_bad = decode(bad, limits_with(1));
        ASSERT_EQ(serial.find("id=L0 "), 0u) << serial.substr(0, 200);
        ASSERT_EQ(serial_bad.find("id="), std::string::npos) << "round " << round;
        for (std::size_t threads : {0, 2, 5}) {
            EXPECT_TRUE(decode(text, limits_with(threads)) == serial) << "round " << round << ", " << threads << " threads";
            EXPECT_EQ(decode(bad, limits_with(threads)), serial_bad) << "round " << round << ", " << threads << " threads";
            EXPECT_EQ(decode(text, limits_with(threads, rows - 7)), decode(text, limits_with(1, rows - 7)));
            // The parts' lines add up to the body's: an error in the chunk after it names the serial line.
            EXPECT_EQ(decode_chunks({text, "L-next,-1,,A,OWN,,\n"}, limits_with(threads)),
                      decode_chunks({text, "L-next,-1,,A,OWN,,\n"}, limits_with(1)))
                << "round " << round << ", " << threads << " threads";
        }
        // the loans kept before an error
        for (std::size_t threads : {1, 5}) {
            loan_batch b = empty_batch(small_compiled());
            csv_decoder d(small_compiled(), limits_with(threads));
            EXPECT_FALSE(d.feed(bad, b) && d.finish(b));
            static std::string kept;
            if (threads == 1) kept = dump(b);
            else EXPECT_TRUE(dump(b) == kept) << "round " << round;
            EXPECT_GT(b.size, rows / 2 - 1);
        }
    }
}

// Found in review: parts count their items from where the run started, so when the parts' items reach
// max_items and one of them fails, the serial decoder must say which error comes first (serially, the
// record after the limit is too many before its own values are read).
TEST(csv_decoder, an_error_past_max_items_in_a_later_part_is_too_many_items) {
    for (std::size_t threads : {1, 2}) {
        decode_limits limits;
        limits.max_items = 2;
        limits.threads = threads;
        limits.csv_part_bytes = 1;
        EXPECT_EQ(decode("amount\n1\n2\nx\n", limits), decode("amount\n1\n2\nx\n", [] {
                      decode_limits serial;
                      serial.max_items = 2;
                      serial.threads = 1;
                      return serial;
                  }()));
        EXPECT_EQ(decode("amount\n1\n2\nx\n", limits).substr(0, 14), "too_many_items") << threads;
    }
}

// Pins the JSON decoders (loanrisk/decode.hpp: decode_json_single, decode_json_batch): both item shapes,
// the id fallback, codes exactly as the model bins them, and every error with its path and offset.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "decoder_fixture.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"

using loanrisk::core::loan_batch;
using loanrisk::io::decode_json_batch;
using loanrisk::io::decode_json_single;
using loanrisk::testing::dump;
using loanrisk::testing::empty_batch;
using loanrisk::testing::outcome;
using loanrisk::testing::small_compiled;

namespace {

// The batch `body` decodes to, or the error.
std::string batch(std::string_view body, loanrisk::io::decode_limits limits = {}) {
    loan_batch b = empty_batch(small_compiled());
    auto s = decode_json_batch(body, small_compiled(), b, limits);
    return s ? dump(b) : outcome(s);
}

std::string single(std::string_view body) {
    loan_batch b = empty_batch(small_compiled());
    auto s = decode_json_single(body, small_compiled(), b);
    if (!s) return outcome(s) + (b.size == 0 ? "" : " (and a loan was left behind)");
    return b.size == 1 ? dump(b) : "decoded " + std::to_string(b.size) + " loans";
}

const std::string defaults = "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n";

// A loan with every field missing and the given id.
std::string defaults_with_id(const std::string& id) { return "id=" + id + defaults.substr(7); }

}  // namespace

TEST(json_decoder, decodes_a_flat_item_and_a_data_item) {
    EXPECT_EQ(batch(R"({"items": [
        {"amount": 300, "rate": 13, "grade": "B", "home": "OWN", "application_id": "A-1"},
        {"application_id": "A-2", "data": {"amount": 100, "rate": 9, "grade": "A", "home": "RENT"}}]})"),
              "id=A-1 codes=1,1,1,5 dense=1 exposure=300 age=300\n"
              "id=A-2 codes=0,0,0,0 dense=-1 exposure=100 age=100\n");
}

TEST(json_decoder, accepts_a_top_level_array_of_items) {
    EXPECT_EQ(batch(R"([{"amount": 600}, {}])"), "id=null codes=2,3,3,15 dense=-0.5 exposure=600 age=600\n" + defaults);
    EXPECT_EQ(batch("[]"), "");
    EXPECT_EQ(batch(R"({"items": []})"), "");
}

TEST(json_decoder, an_edge_value_goes_to_the_bin_above) {
    EXPECT_EQ(
        batch(R"([{"amount": 199.99999999999997}, {"amount": 200}, {"amount": 499}, {"amount": 500}, {"amount": 0}])"),
        "id=null codes=0,3,3,15 dense=-0.5 exposure=199.99999999999997 age=199.99999999999997\n"
        "id=null codes=1,3,3,15 dense=-0.5 exposure=200 age=200\n"
        "id=null codes=1,3,3,15 dense=-0.5 exposure=499 age=499\n"
        "id=null codes=2,3,3,15 dense=-0.5 exposure=500 age=500\n"
        "id=null codes=0,3,3,15 dense=-0.5 exposure=0 age=0\n");
}

TEST(json_decoder, shipped_model_codes_equal_upper_bound_over_its_edges) {
    const auto& m = loanrisk::testing::shipped_compiled();
    std::size_t checked = 0;
    for (std::size_t k = 0; k < m.inputs.size(); ++k) {
        const auto& in = m.inputs[k];
        if (!in.numeric || in.standardized) continue;
        std::vector<double> xs;
        for (double e : in.edges) {
            xs.push_back(e);
            xs.push_back(std::nextafter(e, -1e300));
            xs.push_back(std::nextafter(e, 1e300));
        }
        for (double x : xs) {
            if (!in.domain.contains(x)) continue;
            std::string body = "{\"" + in.name + "\": ";
            loanrisk::io::append_number(body, x);
            body += "}";
            loan_batch b = empty_batch(m);
            ASSERT_TRUE(decode_json_single(body, m, b)) << body;
            const auto expected = std::upper_bound(in.edges.begin(), in.edges.end(), x) - in.edges.begin();
            ASSERT_EQ(b.codes[in.column][0], expected) << body;
            ++checked;
        }
        // x == edges[k] belongs to bin k + 1.
        loan_batch b = empty_batch(m);
        std::string body = "{\"" + in.name + "\": ";
        loanrisk::io::append_number(body, in.edges.front());
        ASSERT_TRUE(decode_json_single(body + "}", m, b));
        EXPECT_EQ(b.codes[in.column][0], 1);
        EXPECT_EQ(m.inputs[k].missing_code(), in.edges.size() + 1);
    }
    EXPECT_GT(checked, 400u);
}

// An empty category is missing, as an empty CSV field is (it was the unknown category: another weight
// than CSV's for the same loan, with any model whose missing weight is not 0).
TEST(json_decoder, unknown_category_missing_null_and_empty) {
    EXPECT_EQ(batch(R"([{"grade": "Z", "home": null, "amount": null, "rate": null}, {"grade": "", "home": "RENT"}])"),
              "id=null codes=3,2,3,11 dense=-0.5 exposure=null age=null\n"
              "id=null codes=3,3,0,12 dense=-0.5 exposure=null age=null\n");
}

TEST(json_decoder, cross_codes_combine_both_inputs) {
    EXPECT_EQ(
        batch(R"([{"grade": "A", "home": "OWN"}, {"grade": "B", "home": "RENT"}, {"grade": "B"}, {"home": "?"}])"),
        "id=null codes=3,0,1,1 dense=-0.5 exposure=null age=null\n"
        "id=null codes=3,1,0,4 dense=-0.5 exposure=null age=null\n"
        "id=null codes=3,1,3,7 dense=-0.5 exposure=null age=null\n"
        "id=null codes=3,3,2,14 dense=-0.5 exposure=null age=null\n");
}

TEST(json_decoder, id_comes_from_the_first_non_empty_id_field) {
    EXPECT_EQ(batch(R"([
        {"id": "c", "ID": "b", "application_id": "a"},
        {"application_id": "", "id": "c", "ID": "b"},
        {"reference_id": "r", "loan_id": "l", "customer_id": "u"},
        {"client_id": null, "customer_id": true, "reference_id": "r"},
        {"customer_id": 7},
        {"loan_id": -1.50e3 },
        {"application_id": ""}])"),
              defaults_with_id("a") + defaults_with_id("b") + defaults_with_id("l") + defaults_with_id("r") +
                  defaults_with_id("7") + defaults_with_id("-1.50e3") + defaults);
}

TEST(json_decoder, id_at_the_top_level_wins_over_one_inside_data) {
    EXPECT_EQ(batch(R"([
        {"data": {"amount": 100, "application_id": "inner"}, "id": "top"},
        {"data": {"id": "inner"}},
        {"application_id": "", "data": {"ID": "inner"}}])"),
              "id=top codes=0,3,3,15 dense=-0.5 exposure=100 age=100\n" + defaults_with_id("inner") +
                  defaults_with_id("inner"));
}

TEST(json_decoder, unknown_fields_are_ignored) {
    EXPECT_EQ(batch(R"({"options": {"x": [1, {"y": 2}]}, "items": [{"amount": 300, "extra": {"a": [1, 2]},
        "note": "x", "flag": true, "n": null, "list": [1, "2"]}], "trailer": 1})"),
              "id=null codes=1,3,3,15 dense=-0.5 exposure=300 age=300\n");
}

TEST(json_decoder, keys_in_any_order_and_escaped_keys_match) {
    EXPECT_EQ(batch(R"([{"home": "OWN", "grade": "B", "amount": 300}, {"amount": 300, "grade": "B", "home": "OWN"},
        {"gr\u0061de": "B", "\u0061mount": 300, "home": "O\u0057N"}])"),
              "id=null codes=1,1,1,5 dense=-0.5 exposure=300 age=300\n"
              "id=null codes=1,1,1,5 dense=-0.5 exposure=300 age=300\n"
              "id=null codes=1,1,1,5 dense=-0.5 exposure=300 age=300\n");
}

TEST(json_decoder, a_data_item_ignores_top_level_features) {
    EXPECT_EQ(batch(R"([{"amount": 300, "grade": "B", "data": {"home": "OWN"}, "rate": 13},
        {"amount": "not even a number", "data": {"amount": 100}},
        {"amount": 1e999, "grade": -1, "data": {"grade": "A"}, "home": true}])"),
              "id=null codes=3,3,1,13 dense=-0.5 exposure=null age=null\n"
              "id=null codes=0,3,3,15 dense=-0.5 exposure=100 age=100\n"
              "id=null codes=3,0,3,3 dense=-0.5 exposure=null age=null\n");
    // Without a data object the first bad top-level value is the error, wherever it sits.
    EXPECT_EQ(batch(R"([{"amount": 1e999, "grade": -1, "home": "OWN"}])"),
              "invalid_field [0].amount: expected a finite number @12");
}

TEST(json_decoder, data_that_is_not_an_object_is_an_unknown_field) {
    EXPECT_EQ(batch(R"([{"amount": 300, "data": 5}, {"data": null, "grade": "A"}])"),
              "id=null codes=1,3,3,15 dense=-0.5 exposure=300 age=300\n"
              "id=null codes=3,0,3,3 dense=-0.5 exposure=null age=null\n");
}

TEST(json_decoder, exposure_outside_the_model_is_read_when_a_number_of_zero_or_more) {
    const auto m = loanrisk::testing::compiled(loanrisk::testing::small_model, "principal");
    ASSERT_EQ(m.exposure_input, -1);
    loan_batch b = empty_batch(m);
    ASSERT_TRUE(decode_json_batch(R"([{"principal": 1000, "amount": 300}, {"principal": "1000"}, {"principal": {}},
        {"data": {"principal": 5}}, {"principal": -3}])",
                                  m, b));
    EXPECT_EQ(dump(b),
              "id=null codes=1,3,3,15 dense=-0.5 exposure=1000 age=300\n"
              "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n"
              "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n"
              "id=null codes=3,3,3,15 dense=-0.5 exposure=5 age=null\n"
              "id=null codes=3,3,3,15 dense=-0.5 exposure=null age=null\n");  // a negative amount is none
}

TEST(json_decoder, single_predict_takes_a_flat_or_a_data_object) {
    EXPECT_EQ(single(R"({"amount": 300, "grade": "A", "application_id": "A-1"})"),
              "id=A-1 codes=1,0,3,3 dense=-0.5 exposure=300 age=300\n");
    EXPECT_EQ(single(R"({"application_id": "A-1", "data": {"amount": 300, "rate": 11}})"),
              "id=A-1 codes=1,3,3,15 dense=0 exposure=300 age=300\n");
    EXPECT_EQ(single("{}"), defaults);
}

TEST(json_decoder, single_predict_errors_name_the_field) {
    EXPECT_EQ(single(R"({"data": {"amount": "300"}})"), "invalid_field data.amount: expected a number @20");
    EXPECT_EQ(single(R"({"amount": -1})"), "invalid_field amount: must be >= 0 @11");
    EXPECT_EQ(single(R"({"rate": 101})"), "invalid_field rate: must be <= 100 @9");
    EXPECT_EQ(single(R"([{"amount": 1}])"), "invalid_request expected a JSON object (one loan's fields) @0");
    EXPECT_EQ(single(R"({"amount": 1} {"amount": 2})"), "malformed_json unexpected content after the JSON value @14");
    EXPECT_EQ(single(""), "malformed_json empty body: no JSON value found @0");
}

// Brackets that do not make one document are reported where they stop making one (found by an audit:
// these said offset 0): the end of a text that ends inside, the first byte after the root value, a closer
// of the wrong kind or with nothing open.
TEST(json_decoder, unbalanced_brackets_are_reported_where_they_go_wrong) {
    const std::string ends = "malformed_json the document ends before its objects and arrays are closed @";
    const std::string after = "malformed_json unexpected content after the JSON value @";
    const std::string closer = "malformed_json a closing brace or bracket that closes nothing open here @";
    EXPECT_EQ(single(R"({"amount": 22,)"), ends + "14");
    EXPECT_EQ(single(R"({"amount": 1} trailing)"), after + "14");
    EXPECT_EQ(single(R"({"amount": 1}})"), after + "13");
    EXPECT_EQ(single(R"(  {"a": [1, 2})"), closer + "13");
    EXPECT_EQ(batch(R"({"items": [{"amount": 1}, {"amount": 2}])"), ends + "40");
    EXPECT_EQ(batch(R"([{"amount": 1}] x)"), after + "16");
    EXPECT_EQ(batch(R"([{"amount": 1}]])"), after + "15");
    // A fault before the brackets go wrong is the one reported: here the missing comma.
    EXPECT_EQ(single(R"({"amount": 1 "x": 2}})"), "malformed_json improper structure: a missing or extra comma, colon, brace, bracket or key @13");
    // A bracket inside a string is text, escaped quotes included.
    EXPECT_EQ(batch(R"([{"grade": "]\"}"}]])"), after + "19");
}

TEST(json_decoder, wrong_types_name_the_path) {
    EXPECT_EQ(batch(R"({"items": [{}, {"data": {"amount": "300"}}]})"),
              "invalid_field items[1].data.amount: expected a number @35");
    EXPECT_EQ(batch(R"({"items": [{"amount": true}]})"), "invalid_field items[0].amount: expected a number @22");
    EXPECT_EQ(batch(R"({"items": [{"amount": [1]}]})"), "invalid_field items[0].amount: expected a number @22");
    EXPECT_EQ(batch(R"({"items": [{"amount": {"v": 1}}]})"), "invalid_field items[0].amount: expected a number @22");
    EXPECT_EQ(batch(R"({"items": [{"grade": 1}]})"), "invalid_field items[0].grade: expected a string @21");
    EXPECT_EQ(batch(R"({"items": [{"grade": ["A"]}]})"), "invalid_field items[0].grade: expected a string @21");
    EXPECT_EQ(batch(R"([{}, {}, {"home": false}])"), "invalid_field [2].home: expected a string @18");
}

TEST(json_decoder, out_of_domain_and_non_finite_values_are_invalid_fields) {
    EXPECT_EQ(batch(R"({"items": [{"amount": -0.5}]})"), "invalid_field items[0].amount: must be >= 0 @22");
    EXPECT_EQ(batch(R"({"items": [{"amount": 1e999}]})"),
              "invalid_field items[0].amount: expected a finite number @22");
    EXPECT_EQ(batch(R"({"items": [{"rate": -1e999}]})"), "invalid_field items[0].rate: expected a finite number @20");
    EXPECT_EQ(batch(R"({"items": [{"amount": -0}]})"), "id=null codes=0,3,3,15 dense=-0.5 exposure=0 age=0\n");
}

// Found by the abuse tests: On-Demand skips values nobody reads without validating them, so malformed
// JSON inside an unknown field (or a second "data", or a root member other than "items") used to score.
TEST(json_decoder, malformed_json_inside_values_the_model_ignores_is_still_malformed) {
    const auto bad = [](const std::string& s) { return s.rfind("malformed_json", 0) == 0 ? "malformed" : s; };
    EXPECT_EQ(bad(single(R"({"x": [1, 2,, ], "grade": "A"})")), "malformed");
    EXPECT_EQ(bad(single(R"({"x": {"a": nul}, "grade": "A"})")), "malformed");
    EXPECT_EQ(bad(single(R"({"x": "\q", "grade": "A"})")), "malformed");
    EXPECT_EQ(bad(single(R"({"x": 01, "grade": "A"})")), "malformed");
    EXPECT_EQ(bad(single(R"({"data": {"grade": "A"}, "data": {"x": tru}})")), "malformed");
    EXPECT_EQ(bad(batch(R"({"meta": [}], "items": [{"grade": "A"}]})")), "malformed");
    EXPECT_EQ(bad(batch(R"({"items": [{"grade": "A", "tags": [1, {"k": ]}]}]})")), "malformed");
    EXPECT_EQ(bad(single("{\"x\": " + std::string(100'000, '[') + std::string(100'000, '}') + ", \"grade\": \"A\"}")),
              "malformed");
    // Valid JSON the model has no use for is still fine, and big integers are valid JSON.
    EXPECT_EQ(single(R"({"x": [1, {"a": [null, true, "s\n"]}, 123456789012345678901234567890], "grade": "A"})"),
              single(R"({"grade": "A"})"));
}

TEST(json_decoder, nesting_past_the_limit_in_an_ignored_field_is_refused) {
    const std::string deep = std::string(65, '[') + std::string(65, ']');
    const std::string ok_depth = std::string(63, '[') + std::string(63, ']');
    EXPECT_EQ(single("{\"x\": " + ok_depth + ", \"grade\": \"A\"}"), single(R"({"grade": "A"})"));
    EXPECT_EQ(single("{\"x\": " + deep + ", \"grade\": \"A\"}").rfind("malformed_json", 0), 0u);
}

TEST(json_decoder, malformed_json_reports_an_offset) {
    EXPECT_EQ(
        batch(R"({"items": [{"amount": 1,}]})"),
        "malformed_json items[0]: improper structure: a missing or extra comma, colon, brace, bracket or key @24");
    EXPECT_EQ(batch(R"({"items": [{"amount": 01}]})"), "malformed_json items[0]: invalid number @22");
    EXPECT_EQ(batch(R"({"items": [{"amount": -}]})"), "malformed_json items[0]: invalid number @22");
    EXPECT_EQ(batch(R"({"items": [{"amount": nul}]})"),
              "malformed_json items[0]: invalid literal (expected true, false or null) @22");
    EXPECT_EQ(batch(R"({"items": [{"grade": "\x"}]})"),
              "malformed_json items[0]: invalid escape sequence in a string @21");
    EXPECT_EQ(batch(R"({"items": [{"grade": "A}]})"), "malformed_json a string is opened but never closed @21");
    EXPECT_EQ(batch("{\"items\": [{\"grade\": \"\xff\"}]}"), "malformed_json the text is not valid UTF-8 @22");
    EXPECT_EQ(batch(R"({"items": [{"amount": 1})"),
              "malformed_json items[1]: the document ends before its objects and arrays are closed @24");
    EXPECT_EQ(batch(R"({"items": [{"amount": 1}]} x)"), "malformed_json unexpected content after the JSON value @27");
    EXPECT_EQ(batch(R"({"items": []} {"items": []})"), "malformed_json unexpected content after the JSON value @14");
    EXPECT_EQ(batch(""), "malformed_json empty body: no JSON value found @0");
}

TEST(json_decoder, a_body_of_the_wrong_shape_is_an_invalid_request) {
    EXPECT_EQ(batch(R"({"items": {"amount": 1}})"), "invalid_request items: \"items\" must be an array of items @10");
    EXPECT_EQ(batch(R"({"loans": []})"),
              "invalid_request expected {\"items\": [...]}: the body has no \"items\" member @0");
    EXPECT_EQ(batch("42"), "invalid_request expected {\"items\": [...]} or an array of items @0");
    EXPECT_EQ(batch(R"({"items": [{}, 7]})"), "invalid_request items[1]: expected an object (one loan's fields) @15");
}

TEST(json_decoder, too_many_items_is_refused) {
    loanrisk::io::decode_limits limits;
    limits.max_items = 2;
    EXPECT_EQ(batch("[{}, {}]", limits), defaults + defaults);
    EXPECT_EQ(batch(R"({"items": [{}, {}, {}]})", limits),
              "too_many_items items[2]: more than 2 items in one request @19");
}

TEST(json_decoder, an_error_keeps_only_the_items_before_it) {
    loan_batch b = empty_batch(small_compiled());
    auto s = decode_json_batch(R"([{"amount": 100, "id": "a"}, {"grade": "B", "id": "b", "amount": "x"}, {}])",
                               small_compiled(), b);
    EXPECT_EQ(outcome(s), "invalid_field [1].amount: expected a number @65");
    EXPECT_EQ(dump(b), "id=a codes=0,3,3,15 dense=-0.5 exposure=100 age=100\n");
    EXPECT_EQ(b.id_text, "a");
    // and a later decode appends after them
    ASSERT_TRUE(decode_json_single(R"({"id": "c"})", small_compiled(), b));
    EXPECT_EQ(dump(b), "id=a codes=0,3,3,15 dense=-0.5 exposure=100 age=100\n" + defaults_with_id("c"));
}

// A caller whose buffer has the parser's padding after the body gets it parsed in place: the same loans
// and errors as a copy, whatever bytes the padding holds (here JSON-looking garbage that would change the
// result if it were read as part of the body).
TEST(json_decoder, a_padded_buffer_is_parsed_in_place_and_its_padding_ignored) {
    const std::string garbage(loanrisk::io::json_padding, ']');
    auto in_place = [&](std::string_view body, bool single_item) {
        const std::string buffer = std::string(body) + garbage + "{\"amount\": 1}";
        const std::string_view view(buffer.data(), body.size());
        loan_batch b = empty_batch(small_compiled());
        auto s = single_item ? decode_json_single(view, small_compiled(), b, buffer.size())
                             : decode_json_batch(view, small_compiled(), b, {}, buffer.size());
        return s ? dump(b) : outcome(s);
    };
    for (std::string body : {R"({"items": [{"amount": 100, "id": "a"}, {"grade": "B"}]})", R"([{"amount": 5}])",
                             R"([{"amount": 5})", R"({"items": [{"amount": "x"}]})", "", "[1"}) {
        EXPECT_EQ(in_place(body, false), batch(body)) << body;
    }
    for (std::string body : {R"({"amount": 250, "id": "c"})", R"({"amount": 250)", R"({"amount": true})", "{"})
        EXPECT_EQ(in_place(body, true), single(body)) << body;
}

TEST(json_decoder, keeps_raw_values_when_asked) {
    loan_batch b;
    b.reset(small_compiled(), true);
    ASSERT_TRUE(decode_json_single(R"({"amount": 250, "rate": 12.5})", small_compiled(), b));
    EXPECT_EQ(b.raw[0][0], 250);
    EXPECT_EQ(b.raw[1][0], 12.5);
    EXPECT_TRUE(std::isnan(b.raw[2][0]));
}

// A JSON batch built from the real data file decodes to the same loans as the CSV itself.
TEST(json_decoder, real_data_as_json_decodes_like_the_csv) {
    const std::string csv = loanrisk::testing::real_data();
    LOANRISK_NEED_REAL_DATA(csv);
    const auto& m = loanrisk::testing::shipped_compiled();
    loan_batch from_csv = empty_batch(m);
    loanrisk::io::csv_decoder decoder(m);
    ASSERT_TRUE(decoder.feed(csv, from_csv));
    ASSERT_TRUE(decoder.finish(from_csv));

    loanrisk::io::csv_reader reader(csv);
    std::vector<std::string_view> header, row;
    ASSERT_TRUE(*reader.next(header));
    std::string json = "{\"items\": [";
    std::size_t n = 0;
    for (auto r = reader.next(row); r && *r; r = reader.next(row), ++n) {
        json += n ? ",\n{" : "{";
        // Alternate the two item shapes; numbers as written in the file, empty fields as null.
        const bool data = n % 2 == 1;
        if (data) json += "\"application_id\": \"row-" + std::to_string(n) + "\", \"data\": {";
        for (std::size_t c = 0; c < row.size(); ++c) {
            const int in = m.find_input(header[c]);
            json += (c ? ", \"" : "\"") + std::string(header[c]) + "\": ";
            if (row[c].empty())
                json += "null";
            else if (in >= 0 && !m.inputs[static_cast<std::size_t>(in)].numeric)
                json += "\"" + std::string(row[c]) + "\"";
            else
                json += row[c];
        }
        json += data ? "}}" : "}";
    }
    json += "]}";
    ASSERT_EQ(n, 32581u);
    loan_batch from_json = empty_batch(m);
    ASSERT_EQ(outcome(decode_json_batch(json, m, from_json)), "ok");
    ASSERT_EQ(from_json.size, from_csv.size);
    EXPECT_EQ(from_json.codes, from_csv.codes);
    EXPECT_EQ(from_json.dense, from_csv.dense);
    EXPECT_EQ(from_json.id(1), "row-1");
    EXPECT_EQ(from_json.id_present[0], 0);
}

namespace {

// A body large enough for the parallel path: `n` items, every tenth in the {"application_id","data"}
// shape, with missing values, unknown categories and numeric ids mixed in.
// `extra` is added to every item's fields (an unknown field, to put cut-like bytes inside items).
std::string many_items(std::size_t n, std::size_t bad_at = static_cast<std::size_t>(-1), const std::string& extra = "") {
    std::string body = "{\"items\":[";
    const char* grades[] = {"A", "B", "Z"};
    for (std::size_t i = 0; i < n; ++i) {
        if (i) body += ",\n";
        std::string fields = "\"amount\":" + (i == bad_at ? std::string("\"x\"") : std::to_string(100 + (i * 37) % 900)) +
                             (i % 7 ? ",\"rate\":" + std::to_string(5 + i % 20) : std::string()) + ",\"grade\":\"" +
                             grades[i % 3] + "\",\"home\":\"" + (i % 2 ? "OWN" : "RENT") + "\"" +
                             extra;
        if (i % 10 == 0) body += "{\"application_id\":\"A-" + std::to_string(i) + "\",\"data\":{" + fields + "}}";
        else if (i % 10 == 1) body += "{\"id\":" + std::to_string(i) + "," + fields + "}";
        else body += "{" + fields + "}";
    }
    return body + "]}";
}

// The same items decoded one line at a time (NDJSON is always decoded serially).
std::string as_ndjson(const std::string& body) {
    std::string items = body.substr(10, body.size() - 12);
    std::string out;
    for (std::size_t start = 0;;) {
        std::size_t end = items.find(",\n", start);
        out += items.substr(start, end == std::string::npos ? std::string::npos : end - start) + "\n";
        if (end == std::string::npos) break;
        start = end + 2;
    }
    return out;
}

}  // namespace

TEST(json_decoder, a_large_batch_decoded_on_every_core_equals_the_serial_decode) {
    const auto& m = small_compiled();
    const std::string body = many_items(20000);
    loan_batch parallel = empty_batch(m), serial = empty_batch(m);
    ASSERT_TRUE(decode_json_batch(body, m, parallel));
    loanrisk::io::ndjson_decoder nd(m);
    ASSERT_TRUE(nd.feed(as_ndjson(body), serial));
    ASSERT_TRUE(nd.finish(serial));
    ASSERT_EQ(parallel.size, 20000u);
    EXPECT_EQ(dump(parallel), dump(serial));
}

TEST(json_decoder, a_large_batch_reports_the_first_bad_item_and_keeps_the_items_before_it) {
    const auto& m = small_compiled();
    const std::string body = many_items(20000, 15001);
    loan_batch out = empty_batch(m);
    auto s = decode_json_batch(body, m, out);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.err().where, "items[15001].amount");
    EXPECT_EQ(s.err().code, "invalid_field");
    EXPECT_EQ(body.substr(s.err().offset, 3), "\"x\"");
    EXPECT_EQ(out.size, 15001u);
}

// Large bodies are cut between items by their bytes; these put the same bytes where they are not between
// items, and the decode must still equal the serial one.
TEST(json_decoder, cut_like_bytes_inside_items_decode_like_the_serial_decode) {
    const auto& m = small_compiled();
    for (const std::string& extra : {std::string(",\"note\":\"a},{b} , {c\""),
                                    std::string(",\"more\":[{\"a\":1}, \t{\"b\":[{},{}]}]"),
                                    std::string(",\"esc\":\"\\\"},{\\\"\"")}) {
        const std::string body = many_items(20000, static_cast<std::size_t>(-1), extra);
        loan_batch pieces = empty_batch(m), serial = empty_batch(m);
        ASSERT_TRUE(decode_json_batch(body, m, pieces)) << extra;
        loanrisk::io::ndjson_decoder nd(m);
        ASSERT_TRUE(nd.feed(as_ndjson(body), serial));
        ASSERT_TRUE(nd.finish(serial));
        ASSERT_EQ(pieces.size, 20000u);
        EXPECT_EQ(dump(pieces), dump(serial)) << extra;
    }
}

TEST(json_decoder, a_large_top_level_array_decodes_like_the_items_object) {
    const auto& m = small_compiled();
    const std::string body = many_items(20000);
    const std::string array = " \n[" + body.substr(10, body.size() - 12) + "]\r\n ";
    loan_batch a = empty_batch(m), b = empty_batch(m);
    ASSERT_TRUE(decode_json_batch(body, m, a));
    ASSERT_TRUE(decode_json_batch(array, m, b));
    EXPECT_EQ(dump(a), dump(b));
}

// Errors a piece cannot see alone: they must come out exactly as from the serial decode.
TEST(json_decoder, a_large_body_reports_errors_between_and_around_items_exactly) {
    const auto& m = small_compiled();
    const std::string body = many_items(20000);
    auto error_of = [&](const std::string& text, loanrisk::io::decode_limits limits = {}) {
        loan_batch out = empty_batch(m);
        auto s = decode_json_batch(text, m, out);
        if (limits.max_items != loanrisk::io::decode_limits{}.max_items) {
            out = empty_batch(m);
            s = decode_json_batch(text, m, out, limits);
        }
        return s ? std::string("ok") : outcome(s) + " kept " + std::to_string(out.size);
    };
    // a trailing comma: the last item is followed by nothing
    std::string trailing = body;
    trailing.insert(trailing.size() - 2, ",");
    EXPECT_EQ(error_of(trailing), "malformed_json items[20000]: improper structure: a missing or extra comma, colon, brace, "
                                  "bracket or key @" + std::to_string(trailing.size() - 2) + " kept 20000");
    // two commas between items, half way
    std::string doubled = body;
    const std::size_t mid = doubled.find(",\n{", doubled.size() / 2);
    doubled.insert(mid, ",");
    EXPECT_NE(error_of(doubled).find("malformed_json"), std::string::npos);
    // a repeated "items" member: the first array counts, the second is only checked
    const std::string twice = body.substr(0, body.size() - 1) + ",\"items\":[{\"amount\":1}]}";
    EXPECT_EQ(error_of(twice), "ok");
    loan_batch first = empty_batch(m), only = empty_batch(m);
    ASSERT_TRUE(decode_json_batch(twice, m, first));
    ASSERT_TRUE(decode_json_batch(body, m, only));
    EXPECT_EQ(dump(first), dump(only));
    // too many items: the first item past the limit is named
    loanrisk::io::decode_limits limits;
    limits.max_items = 12345;
    const std::string too_many = error_of(body, limits);
    EXPECT_EQ(too_many.substr(0, too_many.find(':')), "too_many_items items[12345]");
    EXPECT_NE(too_many.find(" kept 12345"), std::string::npos);
}

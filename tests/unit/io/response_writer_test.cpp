// Pins the response writers: exact bytes for results in JSON, NDJSON and CSV, number formatting, the
// assumptions object and the summary's shape.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "../batch_support.hpp"
#include "../model_fixture.hpp"
#include "loanrisk/explain.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/response_writer.hpp"

using namespace loanrisk;

namespace {

struct fixture {
    core::compiled_model m;
    core::loan_batch b;
    core::scored_batch s;
    core::portfolio_accumulator acc;
};

fixture scored_two_loans() {
    auto model = core::parse_model(loanrisk::testing::small_model);
    if (!model) throw std::runtime_error(model.err().message());
    fixture f{loanrisk::testing::compiled(*model, "no_age_field"), {}, {}, {}};
    f.b.reset(f.m);
    loanrisk::testing::push_loan(f.m, f.b, {{"amount", 300.0}, {"grade", std::string("B")}});
    core::set_id(f.b, 0, "A-1");
    loanrisk::testing::push_loan(f.m, f.b, {{"grade", std::string("A")}});
    core::set_id(f.b, 1, "x,\"y\"");
    f.acc.reset(f.m, {{"grade"}});
    core::score_batch(f.m, f.b, {}, f.s, f.acc);
    return f;
}

std::string pd_text(float pd) {
    std::string s;
    io::append_pd(s, pd);
    return s;
}

}  // namespace

// append_money writes amounts with cents itself; the text must be exactly what to_chars prints for the
// amount rounded to cents (the shortest round-trip form), for every kind of amount.
TEST(response_writer, money_is_the_shortest_text_of_the_amount_rounded_to_cents) {
    auto reference = [](double x) {
        std::string s;
        io::append_number(s, std::round(x * 100) / 100);
        return s;
    };
    std::vector<double> amounts = {0, -0.0, 0.001, 0.004, 0.005, 0.01, 0.1, 0.105, 1.005, 12.34, 12.3, 20358.87,
                                   300000, 35000, 1e8, 99999999999.99, 1e11 + 0.01, 1e13, 1e20, -0.05, -12.34,
                                   -300000, 4.35, 2.675, 1e-300};
    std::mt19937_64 rng(3);
    for (int i = 0; i < 100000; ++i) {
        const double scale = std::pow(10.0, static_cast<double>(rng() % 14) - 3);
        amounts.push_back(std::uniform_real_distribution<double>(-1, 1)(rng) * scale);
        amounts.push_back(static_cast<double>(rng() % 100000000) / 100);
    }
    for (double x : amounts) {
        std::string s;
        io::append_money(s, x);
        ASSERT_EQ(s, reference(x)) << x;
    }
}

TEST(response_writer, pd_is_the_shortest_float_text_and_money_is_rounded_to_cents) {
    EXPECT_EQ(pd_text(0.1f), "0.1");
    EXPECT_EQ(pd_text(0.123456789f), "0.12345679");
    std::string s;
    io::append_money(s, 1234.5678);
    s += ' ';
    io::append_money(s, NAN);
    EXPECT_EQ(s, "1234.57 null");
    // An amount whose cents overflow a double is finite all the same: written whole, not null.
    s.clear();
    io::append_money(s, 1.02e308);
    EXPECT_EQ(s, "1.02e+308");
}

TEST(response_writer, assumptions_echo_the_policy) {
    std::string s;
    io::append_assumptions(s, core::policy{0.25, 0.5, 0.45});
    EXPECT_EQ(s, R"({"LGD":0.45,"APPROVE_MAX":0.25,"REJECT_MIN":0.5})");
}

// Reasons are written in place when the output already has room for their worst case, else on the stack
// when it fits there, else in room reserved in the output: each gives the bytes of the same text appended
// piece by piece, after what the output already held. The
// all-control-byte values of 240 and 241 bytes sit either side of the stack's limit and write nearly all
// of their room (each byte escaped as \u00XX), so a room too small overruns under the sanitizers.
TEST(response_writer, score_and_reasons_are_the_same_text_written_on_the_stack_or_in_the_output) {
    const std::pair<std::size_t, bool> cases[] = {{0, false}, {1, false}, {7, false}, {40, false}, {300, false},
                                                  {2000, false}, {239, true}, {240, true}, {241, true}};
    for (const auto& [value_bytes, control] : cases) {
        std::string value;
        for (std::size_t k = 0; k < value_bytes; ++k) value += control ? '\x01' : "a\"\x01\\b"[k % 5];
        core::explanation e;
        e.score = 587;
        e.reasons = {{"loan_grade", value, 0.123456789}, {"person_income", "35000", 1e-9}, {"x\"y", "(missing)", 2.5}};
        std::string expected = "{\"id\":1,\"score\":587,\"reason_codes\":[";
        for (std::size_t r = 0; r < e.reasons.size(); ++r) {
            expected += r ? ",{\"feature\":" : "{\"feature\":";
            io::append_string(expected, e.reasons[r].feature);
            expected += ",\"value\":";
            io::append_string(expected, e.reasons[r].value);
            expected += ",\"contribution\":";
            io::append_number(expected, e.reasons[r].contribution, 6);
            expected += '}';
        }
        expected += ']';
        std::string out = "{\"id\":1,";
        io::append_score_and_reasons(out, e);
        EXPECT_EQ(out, expected) << value_bytes << (control ? " control bytes" : "");
        std::string roomy = "{\"id\":1,";
        roomy.reserve(8192);  // a batch's output: written in place
        io::append_score_and_reasons(roomy, e);
        EXPECT_EQ(roomy, expected) << value_bytes << (control ? " control bytes" : "") << " in place";
    }
}

TEST(response_writer, results_as_json_ndjson_and_csv) {
    auto f = scored_two_loans();
    std::string pd0 = pd_text(f.s.pd[0]), pd1 = pd_text(f.s.pd[1]);
    std::string el0;
    io::append_money(el0, f.s.expected_loss[0]);
    std::string d0(core::decision_name(f.s.decisions[0])), d1(core::decision_name(f.s.decisions[1]));

    std::string json;
    io::append_results_json(json, f.m, f.b, f.s, 0, 2);
    EXPECT_EQ(json, "{\"application_id\":\"A-1\",\"pd_default\":" + pd0 + ",\"decision\":\"" + d0 +
                        "\",\"expected_loss\":" + el0 + "},{\"application_id\":\"x,\\\"y\\\"\",\"pd_default\":" + pd1 +
                        ",\"decision\":\"" + d1 + "\",\"expected_loss\":null}");

    std::string nd;
    io::append_results_ndjson(nd, f.m, f.b, f.s, 1, 2);
    EXPECT_EQ(nd, "{\"application_id\":\"x,\\\"y\\\"\",\"pd_default\":" + pd1 + ",\"decision\":\"" + d1 +
                      "\",\"expected_loss\":null}\n");

    std::string csv;
    io::append_results_csv_header(csv);
    io::append_results_csv(csv, f.m, f.b, f.s, 0, 2);
    EXPECT_EQ(csv, "application_id,pd_default,decision,expected_loss\nA-1," + pd0 + "," + d0 + "," + el0 + "\n\"x,\"\"y\"\"\"," +
                       pd1 + "," + d1 + ",\n");

    // ?explain=true with CSV results (and score --explain): score and three reason columns, "feature=value"
    // fields, empty where a loan has fewer reasons.
    std::string explained;
    io::append_results_csv_header(explained, true);
    io::append_results_csv(explained, f.m, f.b, f.s, 0, 2, true);
    std::string expected = "application_id,pd_default,decision,expected_loss,score,reason_1,reason_2,reason_3\n";
    for (std::size_t i = 0; i < 2; ++i) {
        const core::explanation e = core::explain(f.m, f.b, i);
        expected += (i == 0 ? "A-1," + pd0 + "," + d0 + "," + el0 : "\"x,\"\"y\"\"\"," + pd1 + "," + d1 + ",") + "," +
                    std::to_string(e.score);
        for (std::size_t r = 0; r < 3; ++r) {
            expected += ',';
            if (r < e.reasons.size()) io::append_csv_field(expected, std::string(e.reasons[r].feature) + "=" + e.reasons[r].value);
        }
        expected += '\n';
    }
    EXPECT_EQ(explained, expected);
    EXPECT_NE(explained.find(",amount="), std::string::npos) << explained;
}

// append_results_csv writes through a pointer into room it reserves for the rows up front: the longest
// pieces (ids of nothing but quotes, doubled; 24-character losses; MANUAL_REVIEW; no id at all) fit,
// and any range of rows gives what the string appends give piece by piece.
TEST(response_writer, csv_results_fit_their_room_and_match_piece_by_piece_appends) {
    const core::compiled_model m;  // not read without explain
    core::loan_batch b;
    core::scored_batch s;
    std::mt19937_64 rng(9);
    const std::vector<double> losses = {NAN, -1.2345678901234567e+300, 1e-300, 12.34, 300000, 0};
    // Ids of up to 16 bytes are checked and copied 16 bytes at a time: a byte to quote at their ends too.
    const std::vector<std::string> ids = {"", "\"", "\"\"\"\"\"\"\"\"", "a,b", "plain", "line\nbreak", "cr\rx",
                                          "0123456789abcdef", "0123456789abcde,", "0123456789abcdefg", ",123456789abcdef"};
    for (std::size_t i = 0; i < 300; ++i) {
        const std::string& id = ids[rng() % ids.size()];
        b.id_text += id;
        b.id_end.push_back(b.id_text.size());
        b.id_present.push_back(id.empty() && rng() % 2 ? 0 : 1);
        s.pd.push_back(std::uniform_real_distribution<float>(0, 1)(rng) * (rng() % 2 ? 1e-30f : 1));
        s.decisions.push_back(static_cast<core::decision>(rng() % 3));
        s.expected_loss.push_back(losses[rng() % losses.size()]);
    }
    b.size = 300;
    for (const auto& [begin, end] : std::vector<std::pair<std::size_t, std::size_t>>{{0, 300}, {1, 2}, {17, 299}, {5, 5}}) {
        std::string expected = "head,", got = "head,";
        for (std::size_t i = begin; i < end; ++i) {
            if (b.id_present[i]) io::append_csv_field(expected, b.id(i));
            expected += ',';
            io::append_pd(expected, s.pd[i]);
            expected += ',';
            expected += core::decision_name(s.decisions[i]);
            expected += ',';
            if (!std::isnan(s.expected_loss[i])) io::append_money(expected, s.expected_loss[i]);
            expected += '\n';
        }
        io::append_results_csv(got, m, b, s, begin, end);
        ASSERT_EQ(got, expected) << begin << ".." << end;
    }
    // Each result written alone into exactly its documented room (a heap block of that size, so that the
    // sanitizers see a write past it; a string's spare capacity would hide one), the JSON form too.
    for (std::size_t i = 0; i < b.size; ++i) {
        const std::size_t id_bytes = b.id(i).size();
        const auto csv_room = io::max_csv_result_chars + 2 * id_bytes, json_room = io::max_json_result_chars + 6 * id_bytes;
        const auto csv = std::make_unique<char[]>(csv_room), json = std::make_unique<char[]>(json_room);
        ASSERT_LE(static_cast<std::size_t>(io::write_csv_result(csv.get(), b, s, i) - csv.get()), csv_room);
        ASSERT_LE(static_cast<std::size_t>(io::write_json_result(json.get(), b, s, i) - json.get()), json_room);
    }
}

// Many results are written in parts on every core, each part through a pointer into room reserved up front:
// the longest pieces fit (ids of control characters, escaped six times as long; MANUAL_REVIEW; 24-character
// losses), and every format joins its parts into what writing one result at a time gives.
TEST(response_writer, many_results_written_in_parts_equal_one_at_a_time) {
    auto f = scored_two_loans();
    core::loan_batch& b = f.b;
    core::scored_batch& s = f.s;
    std::mt19937_64 rng(11);
    const std::vector<double> losses = {NAN, -1.2345678901234567e+300, 1e-300, 12.34, 300000, 0};
    const std::vector<std::string> ids = {"", "\x01\x02\x1f", "\"\\", std::string(100, 'x') + "\n", "A-17"};
    for (std::size_t i = 0; i < 40000; ++i) {
        const bool grade_a = rng() % 2;
        ASSERT_TRUE(loanrisk::testing::push_loan(f.m, b, {{"amount", double(rng() % 1000)}, {"grade", std::string(grade_a ? "A" : "B")}}));
        const std::string& id = ids[rng() % ids.size()];
        if (!id.empty()) core::set_id(b, b.size - 1, id);
    }
    core::score_batch(f.m, b, {}, s, f.acc);
    for (std::size_t i = 0; i < b.size; ++i) {  // the longest numbers and every decision, beyond what scoring gives
        if (rng() % 3 == 0) s.pd[i] = std::uniform_real_distribution<float>(0, 1)(rng) * 1e-30f;
        s.decisions[i] = static_cast<core::decision>(rng() % 3);
        s.expected_loss[i] = losses[rng() % losses.size()];
    }
    for (const auto& [begin, end] : std::vector<std::pair<std::size_t, std::size_t>>{{0, b.size}, {1, b.size - 3}}) {
        std::string json = "[", ndjson, csv, explained = "[", csv_explained;
        std::string json_each = "[", ndjson_each, csv_each, explained_each = "[", csv_explained_each;
        io::append_results_json(json, f.m, b, s, begin, end);
        io::append_results_ndjson(ndjson, f.m, b, s, begin, end);
        io::append_results_csv(csv, f.m, b, s, begin, end);
        io::append_results_csv(csv_explained, f.m, b, s, begin, end, true);
        io::append_results_json(explained, f.m, b, s, begin, end, true);
        for (std::size_t i = begin; i < end; ++i) {
            if (i != begin) json_each += ',', explained_each += ',';
            io::append_results_json(json_each, f.m, b, s, i, i + 1);
            io::append_results_ndjson(ndjson_each, f.m, b, s, i, i + 1);
            io::append_results_csv(csv_each, f.m, b, s, i, i + 1);
            io::append_results_csv(csv_explained_each, f.m, b, s, i, i + 1, true);
            io::append_results_json(explained_each, f.m, b, s, i, i + 1, true);
        }
        EXPECT_TRUE(json == json_each) << begin;  // not EXPECT_EQ: megabytes each
        EXPECT_TRUE(ndjson == ndjson_each) << begin;
        EXPECT_TRUE(csv == csv_each) << begin;
        EXPECT_TRUE(explained == explained_each) << begin;
        EXPECT_TRUE(csv_explained == csv_explained_each) << begin;
        EXPECT_NE(explained.find("\"reason_codes\""), std::string::npos);
        EXPECT_NE(json.find("\"application_id\":\"\\u0001\\u0002\\u001f\""), std::string::npos);
    }
}

TEST(response_writer, batch_response_carries_count_assumptions_version_and_summary) {
    auto f = scored_two_loans();
    auto summary = core::summarize(f.m, f.acc, {{"grade"}});
    std::string out;
    io::append_batch_response_json(out, f.m, f.b, f.s, summary, {}, /*results=*/false, false);
    EXPECT_EQ(out.rfind("{\"count\":2,\"assumptions\":{\"LGD\":0.6,\"APPROVE_MAX\":0.3,\"REJECT_MIN\":0.6},"
                        "\"model_version\":\"test\",\"summary\":{\"count\":2,",
                        0),
              0u)
        << out;
    EXPECT_NE(out.find("\"expected_loss_by\":{\"grade\":{\"A\":{\"count\":1,\"exposure\":0,\"expected_loss\":0},\"B\":{\"count\":1,"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("\"approval_by_age_band\":{\"field\":null,"), std::string::npos) << out;
    EXPECT_NE(out.find("\"pd_histogram\":{\"edges\":[0,0.1,0.2,0.3,0.4,0.5,0.6,0.8,1],\"counts\":["), std::string::npos);
}

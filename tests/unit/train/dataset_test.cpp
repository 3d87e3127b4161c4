// Pins data set loading: type inference, missing values, declared types and errors with line numbers.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "loanrisk/dataset.hpp"

using namespace loanrisk::train;

TEST(dataset, infers_numeric_and_categorical_columns) {
    auto d = parse_dataset("age,grade,rate\n22,A,5.5\n30,B,\n");
    ASSERT_TRUE(d) << d.err().message();
    EXPECT_EQ(d->rows(), 2u);
    EXPECT_TRUE(d->find("age")->numeric);
    EXPECT_FALSE(d->find("grade")->numeric);
    EXPECT_EQ(d->find("grade")->text, (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(d->find("rate")->numbers[0], 5.5);
    EXPECT_TRUE(std::isnan(d->find("rate")->numbers[1]));
}

TEST(dataset, records_the_source_line_of_each_row) {
    auto d = parse_dataset("a,b\n1,\"x\ny\"\n\n2,z\n");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->lines, (std::vector<std::size_t>{2, 5}));
}

TEST(dataset, declared_categorical_columns_stay_text) {
    dataset_options o;
    o.categorical = {"code"};
    auto d = parse_dataset("code\n1\n2\n", o);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->find("code")->numeric);
}

TEST(dataset, a_non_number_in_a_declared_numeric_column_names_its_line) {
    dataset_options o;
    o.numeric = {"age"};
    auto d = parse_dataset("age,g\n22,A\nabc,B\n", o);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.err().message(), "line 3, column age: 'abc' is not a number");
}

TEST(dataset, a_stray_non_number_in_an_otherwise_numeric_column_is_an_error) {
    std::string csv = "age\n";
    for (int i = 0; i < 40; ++i) csv += std::to_string(20 + i) + "\n";
    csv += "unknown\n";
    auto d = parse_dataset(csv);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.err().message(),
              "line 42, column age: 'unknown' is not a number (the column is otherwise numeric; declare it categorical if it is not)");
}

// Another tool's missing-value marker (R's NA, pandas' NaN, NULL) in a numeric column is an error with
// its line however many there are, not a column of numbers silently turned into a category: here one
// value in four (far below the 95% of numbers a stray needs).
TEST(dataset, missing_value_markers_in_a_numeric_column_are_an_error) {
    for (const char* marker : {"NA", "NaN", "NULL", "n/a", " #N/A "}) {
        std::string csv = "rate,grade\n";
        for (int i = 0; i < 40; ++i) csv += (i % 4 == 1 ? std::string(marker) : std::to_string(5 + i)) + ",A\n";
        auto d = parse_dataset(csv);
        ASSERT_FALSE(d) << marker;
        EXPECT_EQ(d.err().message(), "line 3, column rate: '" + std::string(marker) +
                                         "' is not a number (a missing value? write it as an empty field, as the server reads one; or "
                                         "declare the column categorical)");
    }
    // A text column holding such a marker stays a text column.
    auto d = parse_dataset("grade\nA\nNA\nB\n");
    ASSERT_TRUE(d) << d.err().message();
    EXPECT_FALSE(d->find("grade")->numeric);
}

// Header names are read trimmed, as the server's CSV decoder reads them: " loan_grade " is loan_grade
// (a model trained on it must load, and evaluate must find the column).
TEST(dataset, header_names_are_trimmed) {
    auto d = parse_dataset(" age ,\tgrade\n22,A\n");
    ASSERT_TRUE(d) << d.err().message();
    ASSERT_NE(d->find("age"), nullptr);
    EXPECT_TRUE(d->find("age")->numeric);
    ASSERT_NE(d->find("grade"), nullptr);
    EXPECT_FALSE(parse_dataset("age, age \n1,2\n"));  // the same name twice once trimmed
    EXPECT_FALSE(parse_dataset("age, \n1,2\n"));      // a name of spaces is empty
}

// Columns the caller does not use (excluded from training, not in the model evaluated) are not checked:
// a stray text in one does not stop the run.
TEST(dataset, columns_not_used_are_not_checked) {
    std::string csv = "age,note\n";
    for (int i = 0; i < 40; ++i) csv += std::to_string(20 + i) + "," + (i == 7 ? "n/a" : std::to_string(i)) + "\n";
    ASSERT_FALSE(parse_dataset(csv));
    dataset_options o;
    o.used = [](std::string_view name) { return name != "note"; };
    auto d = parse_dataset(csv, o);
    ASSERT_TRUE(d) << d.err().message();
    EXPECT_TRUE(d->find("age")->numeric);
    EXPECT_FALSE(d->find("note")->numeric);
}

TEST(dataset, a_record_with_the_wrong_field_count_names_its_line) {
    auto d = parse_dataset("a,b\n1,2\n3\n");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.err().message(), "line 3: expected 2 fields, found 1");
}

TEST(dataset, malformed_csv_is_reported_with_its_line) {
    auto d = parse_dataset("a,b\n1,\"2\n");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.err().where, "line 2");
}

// Categories go into the model artifact (JSON): a file in another encoding is refused with its line.
TEST(dataset, text_that_is_not_utf8_is_refused_with_its_line) {
    EXPECT_EQ(parse_dataset("name,y\ncaf\xC3\xA9,1\nM\xFCller,0\n").err().message(),
              "line 3: not valid UTF-8 (byte 0xfc): convert the file to UTF-8 first, e.g. iconv -f latin1 -t utf-8");
    EXPECT_TRUE(parse_dataset("name,y\ncaf\xC3\xA9,1\n"));
}

TEST(dataset, rejects_empty_input_and_duplicate_columns) {
    EXPECT_EQ(parse_dataset("").err().message(), "line 1: the CSV is empty (no header line)");
    EXPECT_EQ(parse_dataset("a,a\n1,2\n").err().message(), "line 1: duplicate column 'a'");
}

TEST(dataset, parse_number_accepts_plus_and_spaces_but_not_nan) {
    double d = 0;
    EXPECT_TRUE(parse_number(" +5.0 ", d));
    EXPECT_EQ(d, 5.0);
    EXPECT_FALSE(parse_number("nan", d));
    EXPECT_FALSE(parse_number("inf", d));
    EXPECT_FALSE(parse_number("5x", d));
    EXPECT_FALSE(parse_number("", d));
}

// parse_number reads plain decimals itself (Clinger's fast path) and leaves the rest to from_chars; both
// must give the very same double from_chars gives, bit for bit.
TEST(dataset, parse_number_gives_the_double_from_chars_gives) {
    auto from_chars_value = [](const std::string& s) {
        double d = 0;
        std::from_chars(s.data(), s.data() + s.size(), d);
        return d;
    };
    std::vector<std::string> texts = {"0", "-0", "0.0", "-0.0", "1", "35000", "0.59", "16.02", "123.0", "1e5",
                                      "1E-3", "0.1", "0.3", "9007199254740993", "123456789012345",
                                      "1234567890123456", "0.000000000000000000001", "0.0000000000000000000001",
                                      "0.00000000000000000000001", "99999999999999.9", "4.35", "2.675"};
    std::mt19937_64 rng(11);
    for (int i = 0; i < 20000; ++i) {
        const int whole_digits = static_cast<int>(rng() % 10), fraction_digits = static_cast<int>(rng() % 25);
        std::string s = rng() % 4 == 0 ? "-" : "";
        s += std::to_string(rng() % 10);
        for (int k = 0; k < whole_digits; ++k) s += static_cast<char>('0' + rng() % 10);
        if (fraction_digits > 0) s += '.';
        for (int k = 0; k < fraction_digits; ++k) s += static_cast<char>('0' + rng() % 10);
        texts.push_back(s);
    }
    for (const auto& s : texts) {
        double d = 0;
        ASSERT_TRUE(parse_number(s, d)) << s;
        const double expected = from_chars_value(s);
        ASSERT_EQ(std::signbit(d), std::signbit(expected)) << s;
        ASSERT_EQ(d, expected) << s;
    }
    double d = 0;
    for (const char* bad : {"-", ".", "5.", ".5x", "1..2", "--1", "1-", "0x10"}) {
        double expected = 0;
        const char* end = bad + std::strlen(bad);
        const auto r = std::from_chars(bad, end, expected);
        EXPECT_EQ(parse_number(bad, d), r.ec == std::errc() && r.ptr == end) << bad;
    }
}

// parse_number_within reads short texts as one word (detail::parse_short_decimal): for every text of 1 to
// 8 bytes over digits, points, signs and other bytes, followed by anything at all, it must answer as
// parse_number does, with the very same double.
TEST(dataset, parse_number_within_a_buffer_answers_as_parse_number) {
    using namespace std::string_literals;
    // Digits most of the time, and every kind of byte the digit check must turn away: the neighbours of
    // '0'-'9' ('/', ':'-'?'), a NUL, bytes >= 0x80, signs, points, exponents, spaces.
    const std::string alphabet = "01234567890123456789012345678901234567890123456789..-+e x/:;<=>?\0\x80\xb9\xff"s;
    std::mt19937_64 rng(13);
    std::vector<std::string> texts = {"0", "7", "00000000", "99999999", "12345678", "1234567.", ".1234567", "1.234567",
                                      "0.59", "16.02", "123.0", "35000", "5.", ".5", "1..2", "-0.5", "1.2.3", "0x10"};
    for (int i = 0; i < 200000; ++i) {
        std::string s(1 + rng() % 8, ' ');
        for (auto& c : s) c = alphabet[rng() % alphabet.size()];
        texts.push_back(s);
    }
    for (const auto& s : texts) {
        for (const char* after : {"", ",", "99999999", "........", "\n\r\n"}) {
            std::string buffer = s + after + std::string(8, static_cast<char>(rng()));
            double expected = -1, d = -1;
            const bool ok = parse_number(s, expected);
            const std::string_view text = std::string_view(buffer).substr(0, s.size());
            ASSERT_EQ(parse_number_within(text, buffer.data() + buffer.size(), d), ok) << s;
            if (ok) {
                ASSERT_EQ(d, expected) << s;
                ASSERT_EQ(std::signbit(d), std::signbit(expected)) << s;
            }
        }
    }
}

TEST(dataset, load_dataset_says_clearly_when_the_file_is_absent) {
    auto d = load_dataset("/nonexistent/credit_risk_dataset.csv");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.err().message(), "/nonexistent/credit_risk_dataset.csv: cannot open the data file (does it exist?)");
}

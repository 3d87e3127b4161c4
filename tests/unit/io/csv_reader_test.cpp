// Pins csv_reader (loanrisk/csv.hpp): the RFC 4180 tokenizer every CSV decode starts with.
#include "loanrisk/csv.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using loanrisk::io::csv_reader;

namespace {

using records = std::vector<std::vector<std::string>>;

// Every record of `text`, copied so the expectations need not care where the views pointed.
records read_all(std::string_view text, char delimiter = ',') {
    csv_reader reader(text, delimiter);
    std::vector<std::string_view> fields;
    records out;
    for (;;) {
        auto r = reader.next(fields);
        if (!r.ok()) {
            ADD_FAILURE() << r.err().message();
            return out;
        }
        if (!*r) return out;
        out.emplace_back(fields.begin(), fields.end());
    }
}

// Start lines of every record of `text`.
std::vector<std::size_t> lines_of(std::string_view text) {
    csv_reader reader(text);
    std::vector<std::string_view> fields;
    std::vector<std::size_t> out;
    for (auto r = reader.next(fields); r.ok() && *r; r = reader.next(fields)) out.push_back(reader.line());
    return out;
}

// The error that ends reading `text`, after skipping the good records before it.
loanrisk::error first_error(std::string_view text) {
    csv_reader reader(text);
    std::vector<std::string_view> fields;
    for (;;) {
        auto r = reader.next(fields);
        if (!r.ok()) return r.err();
        if (!*r) {
            ADD_FAILURE() << "no error in: " << text;
            return {};
        }
    }
}

}  // namespace

TEST(csv_reader, reads_simple_records) {
    EXPECT_EQ(read_all("a,b,c\n1,2,3\n"), (records{{"a", "b", "c"}, {"1", "2", "3"}}));
}

TEST(csv_reader, empty_field_between_delimiters_is_empty) {
    EXPECT_EQ(read_all("a,,b\n,\n"), (records{{"a", "", "b"}, {"", ""}}));
}

TEST(csv_reader, trailing_delimiter_gives_final_empty_field) {
    EXPECT_EQ(read_all("a,b,\n"), (records{{"a", "b", ""}}));
    EXPECT_EQ(read_all("a,b,"), (records{{"a", "b", ""}}));
}

TEST(csv_reader, quoted_field_keeps_delimiter) {
    EXPECT_EQ(read_all("\"a,b\",c\n"), (records{{"a,b", "c"}}));
}

TEST(csv_reader, empty_quoted_field_is_a_record_not_an_empty_line) {
    EXPECT_EQ(read_all("\"\"\n\"\",\"\"\n"), (records{{""}, {"", ""}}));
}

TEST(csv_reader, doubled_quote_inside_quotes_is_one_quote) {
    EXPECT_EQ(read_all("\"say \"\"hi\"\"\",x\n\"\"\"\"\n"), (records{{"say \"hi\"", "x"}, {"\""}}));
}

TEST(csv_reader, many_unescaped_fields_in_one_record_stay_valid) {
    // Short unescaped strings live inside their std::string; a reallocation would strand the views.
    std::string text;
    std::vector<std::string> expected;
    for (int i = 0; i < 40; ++i) {
        // Appended piecewise: GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + std::string.
        text += '"';
        text += std::to_string(i);
        text += "\"\"\",";
        expected.push_back(std::to_string(i) + "\"");
    }
    text += "end";
    expected.push_back("end");
    EXPECT_EQ(read_all(text), (records{expected}));
}

TEST(csv_reader, unescaped_storage_is_replaced_on_next_call) {
    csv_reader reader("\"a\"\"\"\n\"b\"\"\"\n");
    std::vector<std::string_view> fields;
    ASSERT_TRUE(*reader.next(fields));
    EXPECT_EQ(fields, (std::vector<std::string_view>{"a\""}));
    ASSERT_TRUE(*reader.next(fields));
    EXPECT_EQ(fields, (std::vector<std::string_view>{"b\""}));
}

TEST(csv_reader, quoted_line_break_is_kept_and_counted) {
    const std::string_view text = "a,\"x\ny\",b\nc\n\"p\r\nq\rr\"\nd\n";
    EXPECT_EQ(read_all(text), (records{{"a", "x\ny", "b"}, {"c"}, {"p\r\nq\rr"}, {"d"}}));
    EXPECT_EQ(lines_of(text), (std::vector<std::size_t>{1, 3, 4, 7}));
}

TEST(csv_reader, crlf_ends_records) {
    const std::string_view text = "a,b\r\n\"c\",d\r\n";
    EXPECT_EQ(read_all(text), (records{{"a", "b"}, {"c", "d"}}));
    EXPECT_EQ(lines_of(text), (std::vector<std::size_t>{1, 2}));
}

TEST(csv_reader, lone_cr_ends_a_record) {
    const std::string_view text = "a,b\rc\r\r\nd";
    EXPECT_EQ(read_all(text), (records{{"a", "b"}, {"c"}, {"d"}}));
    EXPECT_EQ(lines_of(text), (std::vector<std::size_t>{1, 2, 4}));
}

TEST(csv_reader, last_record_needs_no_newline) {
    EXPECT_EQ(read_all("a,b\nc,d"), (records{{"a", "b"}, {"c", "d"}}));
    EXPECT_EQ(read_all("a,\"b\""), (records{{"a", "b"}}));
}

TEST(csv_reader, skips_utf8_bom_at_start_only) {
    csv_reader reader("\xEF\xBB\xBFid,x\n1,\xEF\xBB\xBF\n");
    std::vector<std::string_view> fields;
    ASSERT_TRUE(*reader.next(fields));
    EXPECT_EQ(fields, (std::vector<std::string_view>{"id", "x"}));
    EXPECT_EQ(reader.offset(), 3u);
    ASSERT_TRUE(*reader.next(fields));
    EXPECT_EQ(fields, (std::vector<std::string_view>{"1", "\xEF\xBB\xBF"}));
}

TEST(csv_reader, skips_empty_lines_but_counts_them) {
    const std::string_view text = "\n\na\n\r\n\rb\n\n";
    EXPECT_EQ(read_all(text), (records{{"a"}, {"b"}}));
    EXPECT_EQ(lines_of(text), (std::vector<std::size_t>{3, 6}));
}

TEST(csv_reader, reports_record_start_offsets) {
    csv_reader reader("ab,c\n\n\"d\ne\"\r\nf");
    std::vector<std::string_view> fields;
    std::vector<std::size_t> offsets;
    for (auto r = reader.next(fields); r.ok() && *r; r = reader.next(fields)) offsets.push_back(reader.offset());
    EXPECT_EQ(offsets, (std::vector<std::size_t>{0, 6, 13}));
}

TEST(csv_reader, rejects_unterminated_quote_with_line_of_opening_quote) {
    const auto e = first_error("a\nb,\"c\nd\n");
    EXPECT_EQ(e.where, "line 2");
    EXPECT_EQ(e.offset, 4u);
    EXPECT_EQ(e.message(), "line 2: unterminated quoted field: the quote opened here is never closed");
    EXPECT_EQ(first_error("\"a\"\"").where, "line 1");
}

TEST(csv_reader, rejects_text_after_closing_quote_with_its_line) {
    const auto e = first_error("a\n\"x\ny\"z,b\n");
    EXPECT_EQ(e.where, "line 3");
    EXPECT_EQ(e.offset, 7u);
    EXPECT_EQ(e.what, "unexpected character after the closing quote of a quoted field "
                      "(expected the delimiter or a line end)");
    EXPECT_EQ(first_error("\"a\" ,b").offset, 3u);
}

TEST(csv_reader, rejects_quote_inside_unquoted_field_with_its_line) {
    const auto e = first_error("a\nb\nab\"c\n");
    EXPECT_EQ(e.where, "line 3");
    EXPECT_EQ(e.offset, 6u);
    EXPECT_EQ(e.what, "quote character inside an unquoted field "
                      "(quote the whole field and double the quotes inside it)");
    EXPECT_EQ(first_error("x, \"y\"").offset, 3u);
}

TEST(csv_reader, error_repeats_instead_of_resuming_mid_record) {
    csv_reader reader("ok\nab\"c,d\n");
    std::vector<std::string_view> fields;
    ASSERT_TRUE(*reader.next(fields));
    for (int i = 0; i < 2; ++i) {
        const auto r = reader.next(fields);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.err().offset, 5u);
        EXPECT_TRUE(fields.empty());
    }
    EXPECT_EQ(reader.line(), 1u);
}

TEST(csv_reader, reports_field_count_per_record) {
    csv_reader reader("a,b,c\n1,2\n\n3,4,5,6\n7\n");
    std::vector<std::string_view> fields;
    std::vector<std::size_t> counts;
    for (auto r = reader.next(fields); r.ok() && *r; r = reader.next(fields)) counts.push_back(fields.size());
    EXPECT_EQ(counts, (std::vector<std::size_t>{3, 2, 4, 1}));
}

TEST(csv_reader, custom_delimiter_semicolon) {
    EXPECT_EQ(read_all("a;b,c;\"d;e\"\n1;;2\n", ';'), (records{{"a", "b,c", "d;e"}, {"1", "", "2"}}));
}

TEST(csv_reader, header_only_input) {
    EXPECT_EQ(read_all("person_age,loan_amnt,loan_status\n"),
              (records{{"person_age", "loan_amnt", "loan_status"}}));
}

TEST(csv_reader, empty_input_ends_immediately) {
    for (std::string_view text : {"", "\n", "\r\n\n\r", "\xEF\xBB\xBF"}) {
        csv_reader reader(text);
        std::vector<std::string_view> fields{"stale"};
        const auto r = reader.next(fields);
        ASSERT_TRUE(r.ok());
        EXPECT_FALSE(*r);
        EXPECT_TRUE(fields.empty());
        EXPECT_FALSE(*reader.next(fields));
    }
}

TEST(csv_reader, unescaped_fields_are_views_into_input) {
    const std::string text = "abc,\"d,e\",\"\"\n";
    csv_reader reader(text);
    std::vector<std::string_view> fields;
    ASSERT_TRUE(*reader.next(fields));
    ASSERT_EQ(fields.size(), 3u);
    EXPECT_EQ(fields[0].data(), text.data());
    EXPECT_EQ(fields[1].data(), text.data() + 5);
    EXPECT_EQ(fields[2].data(), text.data() + 11);
}

TEST(csv_reader, splits_at_every_position_of_an_eight_byte_word) {
    // The unquoted scan steps eight bytes at a time; put field ends at every offset within a word.
    for (std::size_t a = 0; a < 20; ++a) {
        for (std::size_t b = 0; b < 20; ++b) {
            const std::string x(a, 'x'), y(b + 1, '\xC3');  // y non-empty: a blank line would be skipped
            EXPECT_EQ(read_all(x + "," + y + "\r\n" + y + "\n" + x + "z"), (records{{x, y}, {y}, {x + "z"}}))
                << "a=" << a << " b=" << b;
        }
    }
}

// special_scan (the field walk of the CSV decoder's one-pass path) finds what find_field_end finds, from
// any position, whether the calls move forward a field at a time, jump ahead or go back, and near the
// end of the text where fewer than 64 bytes are left.
TEST(special_scan, finds_what_find_field_end_finds_from_every_position) {
    const char alphabet[] = {'a', '1', ',', ',', '\n', '\r', '"', ';', '.', ' '};
    std::srand(11);
    for (int round = 0; round < 200; ++round) {
        std::string text(static_cast<std::size_t>(std::rand() % 300), 'x');
        const int density = 1 + std::rand() % 40;  // from mostly specials to long runs without one
        for (char& c : text)
            if (std::rand() % density == 0) c = alphabet[std::rand() % sizeof alphabet];
        const char delimiter = round % 2 ? ',' : ';';
        loanrisk::io::special_scan walk(text, delimiter);
        for (std::size_t i = 0; i <= text.size();) {  // forward, field to field, as the decoder walks
            const std::size_t end = loanrisk::io::find_field_end(text, i, delimiter);
            ASSERT_EQ(walk.next(i), end) << "round " << round << " at " << i;
            i = end + 1;
        }
        loanrisk::io::special_scan jumps(text, delimiter);
        for (int k = 0; k < 100; ++k) {  // anywhere, backwards included
            const std::size_t i = text.empty() ? 0 : static_cast<std::size_t>(std::rand()) % (text.size() + 1);
            ASSERT_EQ(jumps.next(i), loanrisk::io::find_field_end(text, i, delimiter)) << "round " << round << " at " << i;
        }
    }
}

// The 64-byte classifier (SSE2 on x86-64) and the byte loop the tail of a text takes agree on every byte
// value in every position: a whole window of 64 bytes against the same bytes as a 63-byte text's tail, without
// its last byte and without its first.
TEST(special_scan, the_vector_and_byte_classifiers_agree_on_every_byte) {
    using loanrisk::io::window_masks;
    auto masks = [](std::string_view text, char delimiter, int shift) {
        const window_masks::masks m = window_masks(text, delimiter).window(0);
        auto cut = [&](std::uint64_t x) { return (shift >= 0 ? x >> shift : x) & ((std::uint64_t{1} << 63) - 1); };
        return std::array<std::uint64_t, 3>{cut(m.delimiters), cut(m.line_feeds), cut(m.others)};
    };
    for (int value = 0; value < 256; ++value) {
        for (std::size_t at = 0; at < 64; at += 7) {
            std::string block(64, 'x');
            block[at] = static_cast<char>(value);
            block[63 - at] = static_cast<char>(255 - value);
            const std::string_view whole = block;
            for (char delimiter : {',', ';', '\t'}) {
                ASSERT_EQ(masks(whole, delimiter, -1), masks(whole.substr(0, 63), delimiter, -1))
                    << "byte " << value << " at " << at;
                ASSERT_EQ(masks(whole, delimiter, 1), masks(whole.substr(1), delimiter, -1))
                    << "byte " << value << " at " << at;
            }
        }
    }
}

TEST(csv_text, count_byte_counts_every_occurrence_at_any_length_and_alignment) {
    // Every length around the 16-byte steps and the 255-step sums, at every offset into the buffer, against
    // a plain loop; a text of nothing but the byte fills every counter of the sums to its limit.
    std::string text;
    for (int i = 0; i < 9000; ++i) text += "a\n,\"\r\x80\n\xff"[(i * 7 + i / 13) % 8];
    auto plain = [](std::string_view s, char c) {
        std::size_t n = 0;
        for (char x : s) n += x == c;
        return n;
    };
    for (std::size_t from : {0, 1, 7, 15})
        for (std::size_t len : {0, 1, 15, 16, 17, 255, 4079, 4080, 4081, 8191, 8900}) {
            const std::string_view s = std::string_view(text).substr(from, len);
            for (char c : {'\n', '\r', '"', '\x80', '\xff', 'z'})
                EXPECT_EQ(loanrisk::io::count_byte(s, c), plain(s, c)) << from << " + " << len << " byte " << int(c);
        }
    const std::string all(16 * 255 * 3 + 9, '\n');
    EXPECT_EQ(loanrisk::io::count_byte(all, '\n'), all.size());
    EXPECT_EQ(loanrisk::io::count_line_breaks("a\r\nb\rc\n\r"), 4u);
}

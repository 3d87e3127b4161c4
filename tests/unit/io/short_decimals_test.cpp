// Pins the CSV decoder's column number parser: where the CPU runs it, every field it claims is the number
// the scalar parser reads, to the bit, and it claims every field the scalar fast path reads.
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "loanrisk/dataset.hpp"
#include "short_decimals.hpp"

using namespace loanrisk;

namespace {

// Fields of the shapes CSV numbers take, and of every way one can fail to be a short plain decimal.
std::string random_field(std::mt19937& rng) {
    static const std::string alphabet = "0123456789.0123456789.-+e /:";
    const std::size_t n = rng() % 11;  // 0 to 10 bytes: around the 8-byte limit
    std::string s;
    const bool plain = rng() % 3 != 0;
    for (std::size_t i = 0; i < n; ++i) s += plain ? "0123456789"[rng() % 10] : alphabet[rng() % alphabet.size()];
    if (plain && n >= 2 && rng() % 2) s[rng() % n] = '.';  // a point anywhere, first and last included
    return s;
}

}  // namespace

TEST(short_decimals, a_column_parsed_at_once_equals_the_scalar_parse_field_by_field) {
    const io::detail::short_decimals_fn parse = io::detail::short_decimals_for_this_cpu();
    if (parse == nullptr) GTEST_SKIP() << "no column parser on this CPU (it needs AVX-512): the scalar parse serves";
    std::mt19937 rng(11);
    std::size_t claimed = 0, total = 0;
    for (int round = 0; round < 3000; ++round) {
        const std::size_t rows = 1 + rng() % 256;
        std::string text;
        std::vector<std::uint32_t> begin(rows), end(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            begin[r] = static_cast<std::uint32_t>(text.size());
            text += random_field(rng);
            end[r] = static_cast<std::uint32_t>(text.size());
            text += ',';
        }
        // The buffer ends at the last field now and then, so that its last fields lack 8 readable bytes.
        const std::size_t readable = round % 4 == 0 ? end[rows - 1] : text.size();
        std::vector<char> buffer(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(readable));
        std::array<double, 256> values{};
        std::array<std::uint8_t, 32> parsed{};
        parse(buffer.data(), readable, begin.data(), end.data(), rows, values.data(), parsed.data());
        for (std::size_t r = 0; r < rows; ++r) {
            const std::string_view field(buffer.data() + begin[r], end[r] - begin[r]);
            double x = 0;
            const bool scalar = field.size() - 1 < 8 && readable - begin[r] >= 8 &&
                                train::detail::parse_short_decimal(field.data(), field.size(), x);
            const bool vector = (parsed[r / 8] >> (r % 8)) & 1;
            ASSERT_EQ(vector, scalar) << "'" << field << "'";
            if (scalar) {
                ASSERT_EQ(std::bit_cast<std::uint64_t>(values[r]), std::bit_cast<std::uint64_t>(x)) << field;
            }
            claimed += vector;
            ++total;
        }
        for (std::size_t r = rows; r < 256; ++r) ASSERT_EQ((parsed[r / 8] >> (r % 8)) & 1, 0) << "row past the end";
    }
    EXPECT_GT(claimed, total / 4);  // the random fields do exercise the parser
}

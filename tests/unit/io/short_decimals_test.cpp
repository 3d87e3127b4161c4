// Pins the CSV decoder's column number parsers (short_decimals.hpp): every field one claims is empty or the
// number the scalar parse reads, to the bit, within the domain, and each claims every such field. The
// AVX-512 one is checked where the CPU runs it.
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
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

void check_parser(io::detail::short_decimals_fn parse) {
    std::mt19937 rng(11);
    std::size_t claimed = 0, refused_by_domain = 0, total = 0;
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
        const double min = round % 3 == 0 ? 0 : static_cast<double>(rng() % 1000);
        const double max = round % 3 == 0 ? 1e9 : min + static_cast<double>(rng() % 100000);
        std::array<double, 256> values{};
        std::array<std::uint8_t, 32> done{};
        parse(buffer.data(), readable, begin.data(), end.data(), rows, min, max, values.data(), done.data());
        for (std::size_t r = 0; r < rows; ++r) {
            const std::string_view field(buffer.data() + begin[r], end[r] - begin[r]);
            double x = 0;
            const bool number = field.size() - 1 < 8 && readable - begin[r] >= 8 &&
                                train::detail::parse_short_decimal(field.data(), field.size(), x);
            const bool expected = field.empty() || (number && x >= min && x <= max);
            ASSERT_EQ((done[r / 8] >> (r % 8)) & 1, expected ? 1 : 0) << "'" << field << "' in [" << min << ", " << max << "]";
            if (field.empty()) {
                ASSERT_TRUE(std::isnan(values[r])) << "row " << r;
            } else if (expected) {
                ASSERT_EQ(std::bit_cast<std::uint64_t>(values[r]), std::bit_cast<std::uint64_t>(x)) << field;
            }
            claimed += expected && !field.empty();
            refused_by_domain += number && !expected;
            ++total;
        }
    }
    EXPECT_GT(claimed, total / 5);  // the random fields do exercise the parser
    EXPECT_GT(refused_by_domain, total / 50);  // and the domain check
}

}  // namespace

TEST(short_decimals, a_column_parsed_field_by_field_claims_exactly_the_short_decimals_in_the_domain) {
    check_parser(io::detail::short_decimals_scalar);
}

TEST(short_decimals, a_column_parsed_eight_fields_at_a_time_equals_the_scalar_parse) {
    if (io::detail::short_decimals_for_this_cpu() != &io::detail::short_decimals_avx512)
        GTEST_SKIP() << "no AVX-512 on this CPU: the field-by-field parser serves";
    check_parser(io::detail::short_decimals_avx512);
}

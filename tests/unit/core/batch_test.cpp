// The per-value encoders every decoder shares (include/loanrisk/batch.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../batch_support.hpp"
#include "loanrisk/batch.hpp"

namespace loanrisk::core {
namespace {

// bin_of counts the edges at or below x, i.e. std::upper_bound's position, on both of its paths: the
// linear count (up to 64 edges) and the binary search (more).
TEST(batch, bin_of_is_the_upper_bound_of_the_value_among_the_edges) {
    std::mt19937_64 rng(7);
    for (std::size_t n : {0u, 1u, 2u, 3u, 20u, 49u, 63u, 64u, 65u, 100u, 1000u}) {
        std::vector<double> edges(n);
        std::uniform_real_distribution<double> u(-1000, 1000);
        for (auto& e : edges) e = std::round(u(rng));
        std::sort(edges.begin(), edges.end());
        edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
        std::vector<double> probes = {-1e300, 1e300, -0.0, 0.0};
        for (double e : edges) probes.insert(probes.end(), {e, std::nextafter(e, -1e308), std::nextafter(e, 1e308)});
        for (int i = 0; i < 200; ++i) probes.push_back(u(rng));
        for (double x : probes) {
            const auto expected = static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin());
            ASSERT_EQ(bin_of(edges, x), expected) << edges.size() << " edges, x = " << x;
        }
    }
}

// category_key reads words where it can; the key must be the one its definition gives: the length in the
// top byte, the first 7 bytes below it (byte i at bits 8i), for every length and any bytes.
TEST(batch, category_key_is_the_length_and_the_first_seven_bytes) {
    std::mt19937_64 rng(9);
    for (std::size_t n = 0; n <= 300; n += n < 20 ? 1 : 40) {
        for (int round = 0; round < 50; ++round) {
            std::string s(n, '\0');
            for (auto& c : s) c = static_cast<char>(rng());
            std::uint64_t expected = static_cast<std::uint64_t>(std::min<std::size_t>(n, 255)) << 56;
            for (std::size_t i = 0; i < n && i < 7; ++i)
                expected |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
            ASSERT_EQ(category_key(s), expected) << n;
        }
    }
}

// grow(n) appends n loans exactly as n push_default calls would; truncate(n) and pop_back keep the first
// loans whole, ids included (id_text is cut at the last kept loan's end); reset keeps the shape.
TEST(batch, grow_truncate_and_push_default_agree) {
    const compiled_model m = testing::compiled(testing::load_shipped_model());
    loan_batch pushed, grown;
    pushed.reset(m, true);
    grown.reset(m, true);
    for (int i = 0; i < 5; ++i) pushed.push_default(m);
    EXPECT_EQ(grown.grow(m, 5), 0u);
    EXPECT_EQ(grown.size, 5u);
    EXPECT_EQ(grown.dense, pushed.dense);
    EXPECT_EQ(grown.codes, pushed.codes);
    EXPECT_EQ(grown.id_end, pushed.id_end);
    EXPECT_EQ(grown.id_present, pushed.id_present);
    ASSERT_EQ(grown.raw.size(), m.inputs.size());
    for (const auto& r : grown.raw) EXPECT_TRUE(r.size() == 5 && std::isnan(r[4]));
    EXPECT_TRUE(std::isnan(grown.exposure[4]) && std::isnan(grown.age[4]));

    set_id(grown, 0, "A");
    set_id(grown, 1, "BB");
    grown.id_end[2] = static_cast<std::uint32_t>(grown.id_text.size());  // no id, as a decoder records it
    set_id(grown, 3, "CCC");
    ASSERT_TRUE(set_number(m, grown, 3, m.find_input("person_age"), 30).ok());
    grown.truncate(4);
    EXPECT_EQ(grown.size, 4u);
    EXPECT_EQ(grown.id_text, "ABBCCC");
    EXPECT_EQ(grown.id(3), "CCC");
    EXPECT_EQ(grown.age[3], 30);
    grown.pop_back();
    EXPECT_EQ(grown.id_text, "ABB");
    EXPECT_EQ(grown.id(1), "BB");
    EXPECT_EQ(grown.id(2), "");
    EXPECT_EQ(grown.codes.front().size(), 3u);
    grown.truncate(7);  // never grows
    EXPECT_EQ(grown.size, 3u);
    grown.reset(m, true);
    EXPECT_EQ(grown.size, 0u);
    EXPECT_EQ(grown.dense.size(), m.dense.size());
    EXPECT_EQ(grown.codes.size(), m.lookups.size());
    EXPECT_TRUE(grown.id_text.empty() && grown.exposure.empty() && grown.raw.front().empty());
}

}  // namespace
}  // namespace loanrisk::core

// The per-value encoders every decoder shares (include/loanrisk/batch.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace loanrisk::core

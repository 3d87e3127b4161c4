// The per-value encoders every decoder shares (include/loanrisk/batch.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
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

}  // namespace
}  // namespace loanrisk::core

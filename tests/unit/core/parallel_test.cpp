// Pins run_parts (loanrisk/parallel.hpp): every part runs once, and an exception from any part (the
// calling thread's included) reaches the caller only after every part has finished.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "loanrisk/parallel.hpp"

using loanrisk::core::parts_for;
using loanrisk::core::run_parts;

TEST(parallel, every_part_runs_once) {
    for (std::size_t n : {0, 1, 2, 7}) {
        std::vector<std::atomic<int>> runs(n);
        run_parts(n, [&](std::size_t t) { ++runs[t]; });
        for (std::size_t t = 0; t < n; ++t) EXPECT_EQ(runs[t], 1) << n << " parts";
    }
}

TEST(parallel, an_exception_from_any_part_is_rethrown_after_all_parts_finish) {
    for (std::size_t thrower : {0, 2}) {
        std::atomic<int> finished{0};
        auto run = [&] {
            run_parts(4, [&](std::size_t t) {
                if (t == thrower) throw std::bad_alloc();
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                ++finished;
            });
        };
        EXPECT_THROW(run(), std::bad_alloc) << "part " << thrower;
        EXPECT_EQ(finished, 3) << "part " << thrower;
    }
    // two failing parts: the first part's exception
    EXPECT_THROW(run_parts(3, [](std::size_t t) {
                     if (t == 1) throw std::runtime_error("one");
                     if (t == 2) throw std::logic_error("two");
                 }),
                 std::runtime_error);
}

TEST(parallel, parts_for_gives_every_part_its_minimum_up_to_the_cores) {
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    EXPECT_EQ(parts_for(0, 100), 1u);
    EXPECT_EQ(parts_for(199, 100), 1u);
    EXPECT_EQ(parts_for(200, 100), std::min<std::size_t>(2, cores));
    EXPECT_EQ(parts_for(1000000, 1), cores);
    EXPECT_EQ(parts_for(5, 0), std::min<std::size_t>(5, cores));
}

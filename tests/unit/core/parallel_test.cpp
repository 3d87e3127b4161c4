// Pins run_parts and run_shared (loanrisk/parallel.hpp): every part runs once, a unit held up on one
// thread leaves the rest to the others, and an exception from any part (the calling thread's included)
// reaches the caller only after every part has finished.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "loanrisk/parallel.hpp"

using loanrisk::core::parts_for;
using loanrisk::core::run_parts;
using loanrisk::core::run_shared;

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

TEST(parallel, run_shared_runs_every_unit_once_on_at_most_its_threads) {
    for (std::size_t units : {0, 1, 2, 9, 64})
        for (std::size_t threads : {0, 1, 2, 3, 16}) {
            std::vector<std::atomic<int>> runs(units);
            std::mutex m;
            std::set<std::thread::id> seen;
            run_shared(units, threads, [&](std::size_t u) {
                ++runs[u];
                std::lock_guard<std::mutex> lock(m);
                seen.insert(std::this_thread::get_id());
            });
            for (std::size_t u = 0; u < units; ++u) EXPECT_EQ(runs[u], 1) << units << " units, " << threads << " threads";
            EXPECT_LE(seen.size(), std::max<std::size_t>(threads, 1)) << units << " units";
        }
}

TEST(parallel, run_shared_leaves_the_other_units_to_threads_not_held_up) {
    // Unit 0 waits until every other unit is done: with two threads, the one not held up runs all seven.
    std::mutex m;
    std::condition_variable cv;
    std::size_t others_done = 0;
    std::map<std::thread::id, int> units_by_thread;
    bool waited_out = false;
    run_shared(8, 2, [&](std::size_t u) {
        std::unique_lock<std::mutex> lock(m);
        ++units_by_thread[std::this_thread::get_id()];
        if (u == 0) {
            waited_out = !cv.wait_for(lock, std::chrono::seconds(30), [&] { return others_done == 7; });
        } else if (++others_done == 7) {
            cv.notify_all();
        }
    });
    ASSERT_FALSE(waited_out) << "the other thread never took the remaining units";
    ASSERT_EQ(units_by_thread.size(), 2u);
    std::multiset<int> counts;
    for (const auto& [id, n] : units_by_thread) counts.insert(n);
    EXPECT_EQ(counts, (std::multiset<int>{1, 7}));
}

TEST(parallel, run_shared_rethrows_the_lowest_units_exception_after_all_units_finish) {
    std::atomic<int> finished{0};
    EXPECT_THROW(run_shared(6, 2,
                            [&](std::size_t u) {
                                if (u == 4) throw std::logic_error("four");
                                if (u == 1) throw std::runtime_error("one");
                                ++finished;
                            }),
                 std::runtime_error);
    EXPECT_EQ(finished, 4);
}

TEST(parallel, run_parts_keeps_its_threads_for_the_next_call) {
    // A pool thread's thread_local survives from one call to the next; a thread started per call starts at 0.
    thread_local int parts_here = 0;
    int most = 0;
    for (int call = 0; call < 20; ++call)
        run_parts(2, [&](std::size_t t) {
            if (t == 1) most = std::max(most, ++parts_here);
        });
    EXPECT_GE(most, 2) << "every second part ran on a fresh thread";
    EXPECT_LE(loanrisk::core::detail::pool_threads(), loanrisk::core::max_pool_threads);
}

TEST(parallel, parts_of_callers_on_two_threads_all_run_at_once) {
    // Four parts that each wait for the other three: they finish only if all four run at the same time.
    std::mutex m;
    std::condition_variable cv;
    int arrived = 0;
    bool all_met = true;
    auto call = [&] {
        run_parts(2, [&](std::size_t) {
            std::unique_lock<std::mutex> lock(m);
            if (++arrived == 4) cv.notify_all();
            if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return arrived >= 4; })) all_met = false;
        });
    };
    std::thread other(call);
    call();
    other.join();
    EXPECT_TRUE(all_met) << "a part waited 30 s for the others";
}

TEST(parallel, a_part_may_run_parts_of_its_own) {
    std::atomic<int> inner{0};
    run_parts(3, [&](std::size_t) { run_parts(3, [&](std::size_t) { ++inner; }); });
    EXPECT_EQ(inner, 9);
}

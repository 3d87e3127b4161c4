// Fork-join for the large-batch paths: run_parts gives each thread one contiguous part (decoding JSON
// pieces and CSV records, writing results: each part has its own output, joined in order); run_shared lets
// threads take the next of many units (scoring chunks, which write in place), so that a thread whose core
// is shared with other work takes fewer of them instead of holding up the rest.
//
// The threads are the process's part pool (parallel.cpp): started when first needed, then kept, so a
// stream decoded chunk by chunk does not start a thread (a clone, a stack mapped and unmapped) per chunk.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace loanrisk::core {

// How many parts `units` of work make when each part should have at least `min_units`: 1 up to the
// machine's cores.
inline std::size_t parts_for(std::size_t units, std::size_t min_units) {
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    return std::clamp<std::size_t>(units / std::max<std::size_t>(min_units, 1), 1, cores);
}

namespace detail {

// A part to run: a call through `fn` with its index (the caller's lambda, which catches everything).
struct part_fn {
    void (*call)(const void* fn, std::size_t part);
    const void* fn;
};

// Runs parts 0 ... n - 1 of `f`, part 0 on the calling thread and the others on idle pool threads (new
// ones when none is idle, up to max_pool_threads); a part no pool thread took runs on the calling thread.
// Returns when all are done. `f` must not throw.
void run_in_pool(std::size_t n, part_fn f);

// Pool threads started so far (tests).
std::size_t pool_threads();

}  // namespace detail

// Threads the part pool may start; past them, the calling thread runs what is left.
inline constexpr std::size_t max_pool_threads = 256;

// Runs f(0) ... f(n - 1) at once, f(0) on the calling thread, and returns when all are done. A part no
// thread could be had for (the system refused one, or max_pool_threads are busy) runs on the calling
// thread. An exception from a part (out of memory) is rethrown here once every part has finished, the
// first part's first.
template <class F>
void run_parts(std::size_t n, F&& f) {
    std::vector<std::exception_ptr> failed(n);
    auto part = [&f, &failed](std::size_t t) {
        try {
            f(t);
        } catch (...) {
            failed[t] = std::current_exception();
        }
    };
    using part_type = decltype(part);
    detail::run_in_pool(n, {[](const void* fn, std::size_t t) { (*static_cast<const part_type*>(fn))(t); }, &part});
    for (const auto& e : failed)
        if (e) std::rethrow_exception(e);
}

// Runs f(0) ... f(units - 1) on up to `threads` threads, the calling thread among them; each thread takes
// the lowest unit not yet taken until none is left. Returns when all are done; an exception from a unit is
// rethrown then, the lowest unit's first.
template <class F>
void run_shared(std::size_t units, std::size_t threads, F&& f) {
    std::vector<std::exception_ptr> failed(units);
    std::atomic<std::size_t> next{0};
    run_parts(std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(units, 1)), [&](std::size_t) {
        for (std::size_t u; (u = next.fetch_add(1, std::memory_order_relaxed)) < units;) {
            try {
                f(u);
            } catch (...) {
                failed[u] = std::current_exception();
            }
        }
    });
    for (const auto& e : failed)
        if (e) std::rethrow_exception(e);
}

}  // namespace loanrisk::core

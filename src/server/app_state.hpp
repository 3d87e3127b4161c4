// What every request handler shares: the settings, the serving model (swapped atomically on reload;
// requests in flight keep the one they started with), readiness and the metrics registry.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "loanrisk/batch.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/model.hpp"
#include "loanrisk/policy.hpp"
#include "loanrisk/result.hpp"
#include "loanrisk/server.hpp"
#include "metrics.hpp"

namespace loanrisk::server {

inline constexpr const char* api_version = "1.0.0";

// A loaded, validated and compiled model: immutable once built, shared by the requests using it.
struct model_state {
    std::shared_ptr<const core::model> model;
    core::compiled_model compiled;
    core::policy_args policy_args;  // for the current policy, pointers left null
    std::string path;
    std::string loaded_at;  // UTC, ISO 8601
    std::uint64_t generation = 0;  // unique in the process: a new model_state never matches an old one's
};

class app_state {
public:
    app_state(server_options options, std::size_t metric_shards);

    const server_options& options() const { return options_; }
    metrics_registry& metrics() { return metrics_; }

    std::shared_ptr<const model_state> current() const {
        std::lock_guard lock(current_mutex_);
        return current_;
    }
    // The serving model, for a handler that returns before its thread serves anything else (/health,
    // /ready, /predict): the calling thread's own reference, renewed when install() has swapped the model
    // since, which one atomic load tells. current() takes a lock and a reference count that every thread
    // shares: two cache lines passed from core to core on every request, a queue on a machine with many.
    // Valid until this thread's next call; until then the thread's reference keeps a replaced model alive.
    const model_state* serving() const;
    // Loads, validates, compiles and warms up a model file; nothing changes on failure.
    result<std::shared_ptr<const model_state>> load(const std::string& path);
    // Makes `s` the serving model (atomically; in-flight requests keep theirs).
    void install(std::shared_ptr<const model_state> s);
    // load() + install(); on failure the old model keeps serving and the error is returned.
    status reload(const std::string& path);

    bool ready() const {
        return serving_generation_.load(std::memory_order_acquire) != 0 && !draining_.load(std::memory_order_acquire);
    }
    bool draining() const { return draining_.load(std::memory_order_acquire); }
    void start_draining() { draining_.store(true, std::memory_order_release); }

private:
    server_options options_;
    metrics_registry metrics_;
    // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's load() releases its internal lock with a
    // relaxed store, so a reader's pointer read is not ordered before a reloader's write (ThreadSanitizer
    // reported it under reload-under-load). Uncontended, this costs about as much as the refcount.
    mutable std::mutex current_mutex_;
    std::shared_ptr<const model_state> current_;
    std::atomic<std::uint64_t> serving_generation_{0};  // current_'s generation (0: none), for serving()
    std::atomic<bool> draining_{false};
    std::mutex reload_mutex_;  // one reload at a time, so installs happen in load order
};

}  // namespace loanrisk::server

// Live observability: request counts and latencies by route, and the portfolio of live traffic (loans
// scored, decision mix, PD histogram, PSI, Expected Loss by category). One shard per I/O thread, each
// under its own (uncontended) mutex; /metrics and /stats merge them.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/kernel.hpp"
#include "loanrisk/portfolio.hpp"

namespace loanrisk::server {

struct model_state;

enum class route_id : std::uint8_t {
    health, ready, predict, batch_predict, model, metrics, openapi, stats, dashboard, docs, admin_reload, not_found, count
};
std::string_view route_name(route_id r);  // "/predict", ..., "unmatched" for not_found

inline constexpr std::array<double, 16> latency_buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                           0.05,   0.1,     0.25,   0.5,   1,     2.5,    5,     10};
inline constexpr std::array<int, 17> tracked_statuses = {100, 200, 304, 400, 401, 403, 404, 405, 408,
                                                         411, 413, 415, 422, 431, 500, 501, 503};

// "2026-11-27T00:16:33Z"
std::string iso_time(std::chrono::system_clock::time_point t);

class metrics_registry {
public:
    explicit metrics_registry(std::size_t shards);
    ~metrics_registry();

    // Which shard the calling thread uses (I/O thread k uses shard k; others shard 0).
    static void set_thread_shard(std::size_t shard);

    void record_request(route_id r, int status, double seconds);
    // A scored request in the live portfolio's shape (Expected Loss grouped by every categorical input):
    // start from live_accumulator(s), add each scored chunk's loans with add_groups and the request's
    // totals with merge_totals, and record it with record_portfolio once the whole request has succeeded,
    // so that a request that fails part-way (a streamed body with a bad row after 65,536 good ones) counts
    // nothing.
    static core::portfolio_accumulator live_accumulator(const model_state& s);
    void record_portfolio(const model_state& s, const core::portfolio_accumulator& scored);
    // One loan from /predict, straight from the policy kernel's totals.
    void record_one(const model_state& s, const core::block_totals& t, const core::loan_batch& b, const double* el);
    void record_reload(bool ok);
    // A connection over --max-connections (or arriving while draining), answered 503 without a request.
    void record_refused_connection();

    // Prometheus text exposition (version 0.0.4).
    std::string prometheus(const model_state& current, bool ready) const;
    // JSON snapshot of live traffic under the current model since it was loaded, plus process totals.
    std::string stats_json(const model_state& current) const;

private:
    struct shard;
    shard& mine();
    std::vector<std::unique_ptr<shard>> shards_;
    std::chrono::system_clock::time_point started_;
};

}  // namespace loanrisk::server

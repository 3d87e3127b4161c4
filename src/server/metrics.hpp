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
inline constexpr std::array<int, 14> tracked_statuses = {100, 200, 400, 401, 403, 404, 405,
                                                         408, 413, 415, 422, 431, 500, 503};

class metrics_registry {
public:
    explicit metrics_registry(std::size_t shards);
    ~metrics_registry();

    // Which shard the calling thread uses (I/O thread k uses shard k; others shard 0).
    static void set_thread_shard(std::size_t shard);

    void record_request(route_id r, int status, double seconds);
    // Adds a scored request to the live portfolio: its totals (`request` may group by anything) and the
    // loans [begin, end) of `b` with their Expected Losses, grouped by every categorical input.
    void record_scores(const model_state& s, const core::portfolio_accumulator& request, const core::loan_batch& b,
                       std::size_t begin, std::size_t end, const double* el);
    // One loan from /predict, straight from the policy kernel's totals.
    void record_one(const model_state& s, const core::block_totals& t, const core::loan_batch& b, const double* el);
    void record_reload(bool ok);

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

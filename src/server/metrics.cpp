// Per-thread counters merged on demand: /metrics (Prometheus text) and /stats (JSON for the dashboard).
#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "app_state.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/response_writer.hpp"

#ifndef LOANRISK_VERSION
#define LOANRISK_VERSION "unknown"
#endif

namespace loanrisk::server {

namespace {

constexpr std::size_t route_count = static_cast<std::size_t>(route_id::count);
constexpr std::size_t pd_bins = core::pd_histogram_edges.size() - 1;
thread_local std::size_t this_thread_shard = 0;

std::size_t status_index(int status) {
    auto it = std::find(tracked_statuses.begin(), tracked_statuses.end(), status);
    return static_cast<std::size_t>(it - tracked_statuses.begin());  // == size(): "other"
}

// Every categorical input: the live portfolio keeps Expected Loss by each of them.
core::summary_options live_groups(const core::compiled_model& m) {
    core::summary_options o;
    o.group_by.clear();
    for (const auto& in : m.inputs)
        if (!in.numeric) o.group_by.push_back(in.name);
    return o;
}

// Prometheus label values escape backslash, quote and newline.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\', out += c;
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string num(double x) {
    if (std::isnan(x)) return "NaN";
    if (std::isinf(x)) return x > 0 ? "+Inf" : "-Inf";
    std::string s;
    io::append_number(s, x);
    return s;
}

}  // namespace

std::string_view route_name(route_id r) {
    switch (r) {
    case route_id::health: return "/health";
    case route_id::ready: return "/ready";
    case route_id::predict: return "/predict";
    case route_id::batch_predict: return "/batch_predict";
    case route_id::model: return "/model";
    case route_id::metrics: return "/metrics";
    case route_id::openapi: return "/openapi.json";
    case route_id::stats: return "/stats";
    case route_id::dashboard: return "/";
    case route_id::docs: return "/docs";
    case route_id::admin_reload: return "/admin/reload";
    default: return "unmatched";
    }
}

struct metrics_registry::shard {
    mutable std::mutex mu;
    std::array<std::array<std::uint64_t, tracked_statuses.size() + 1>, route_count> requests{};
    std::array<std::array<std::uint64_t, latency_buckets.size() + 1>, route_count> latency{};  // per bucket, last +Inf
    std::array<double, route_count> latency_sum{};

    // Live portfolio of the model generation it is shaped for.
    std::uint64_t generation = 0;
    core::portfolio_accumulator live;

    // Process totals across models (Prometheus counters never go down).
    std::uint64_t loans = 0;
    std::array<std::uint64_t, 3> decisions{};
    std::array<std::uint64_t, pd_bins> pd_histogram{};
    double pd_sum = 0, expected_loss_sum = 0;
    std::uint64_t reloads_ok = 0, reloads_failed = 0;
    std::uint64_t connections_refused = 0;

    // Whether the live portfolio takes loans scored by `s`: a newer model starts it afresh; an older one
    // (a request that began before a reload and ended after it) adds to the process totals only, never
    // reshaping the portfolio back.
    bool shape(const model_state& s) {
        if (s.generation < generation) return false;
        if (s.generation > generation) {
            live.reset(s.compiled, live_groups(s.compiled));
            generation = s.generation;
        }
        return true;
    }
};

std::string iso_time(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

metrics_registry::metrics_registry(std::size_t shards) : started_(std::chrono::system_clock::now()) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, shards); ++i) shards_.push_back(std::make_unique<shard>());
}

metrics_registry::~metrics_registry() = default;

void metrics_registry::set_thread_shard(std::size_t shard) { this_thread_shard = shard; }

metrics_registry::shard& metrics_registry::mine() {
    return *shards_[this_thread_shard < shards_.size() ? this_thread_shard : 0];
}

void metrics_registry::record_request(route_id r, int status, double seconds) {
    shard& s = mine();
    auto route = static_cast<std::size_t>(r);
    auto bucket = static_cast<std::size_t>(
        std::lower_bound(latency_buckets.begin(), latency_buckets.end(), seconds) - latency_buckets.begin());
    std::lock_guard lock(s.mu);
    ++s.requests[route][status_index(status)];
    ++s.latency[route][bucket];
    s.latency_sum[route] += seconds;
}

core::portfolio_accumulator metrics_registry::live_accumulator(const model_state& s) {
    core::portfolio_accumulator a;
    a.reset(s.compiled, live_groups(s.compiled));
    return a;
}

void metrics_registry::record_portfolio(const model_state& st, const core::portfolio_accumulator& a) {
    if (a.count == 0) return;
    shard& s = mine();
    std::lock_guard lock(s.mu);
    if (s.shape(st)) s.live.merge(a);
    s.loans += a.count;
    for (std::size_t i = 0; i < 3; ++i) s.decisions[i] += a.decisions[i];
    for (std::size_t i = 0; i < pd_bins; ++i) s.pd_histogram[i] += a.pd_histogram[i];
    s.pd_sum += a.pd_sum;
    s.expected_loss_sum += a.expected_loss_total;
}

void metrics_registry::record_one(const model_state& st, const core::block_totals& t, const core::loan_batch& b,
                                  const double* el) {
    shard& s = mine();
    std::lock_guard lock(s.mu);
    if (s.shape(st)) {
        s.live.add(t, 1);
        s.live.add_groups(b, 0, 1, el);
    }
    ++s.loans;
    ++s.decisions[static_cast<std::size_t>(t.review_or_worse + t.rejected)];
    std::size_t bin = 0;
    for (double ge : t.hist_ge) bin += ge > 0 ? 1 : 0;
    ++s.pd_histogram[std::min(bin, pd_bins - 1)];
    s.pd_sum += t.pd_sum;
    s.expected_loss_sum += t.expected_loss_sum;
}

void metrics_registry::record_reload(bool ok) {
    shard& s = mine();
    std::lock_guard lock(s.mu);
    ++(ok ? s.reloads_ok : s.reloads_failed);
}

void metrics_registry::record_refused_connection() {
    shard& s = mine();
    std::lock_guard lock(s.mu);
    ++s.connections_refused;
}

std::string metrics_registry::prometheus(const model_state& current, bool ready) const {
    std::array<std::array<std::uint64_t, tracked_statuses.size() + 1>, route_count> requests{};
    std::array<std::array<std::uint64_t, latency_buckets.size() + 1>, route_count> latency{};
    std::array<double, route_count> latency_sum{};
    std::uint64_t loans = 0, reloads_ok = 0, reloads_failed = 0, connections_refused = 0;
    std::array<std::uint64_t, 3> decisions{};
    std::array<std::uint64_t, pd_bins> pd_histogram{};
    double pd_sum = 0, el_sum = 0;
    core::portfolio_accumulator live;
    live.reset(current.compiled, live_groups(current.compiled));
    for (const auto& sp : shards_) {
        const shard& s = *sp;
        std::lock_guard lock(s.mu);
        for (std::size_t r = 0; r < route_count; ++r) {
            for (std::size_t i = 0; i < requests[r].size(); ++i) requests[r][i] += s.requests[r][i];
            for (std::size_t i = 0; i < latency[r].size(); ++i) latency[r][i] += s.latency[r][i];
            latency_sum[r] += s.latency_sum[r];
        }
        loans += s.loans;
        for (std::size_t i = 0; i < 3; ++i) decisions[i] += s.decisions[i];
        for (std::size_t i = 0; i < pd_bins; ++i) pd_histogram[i] += s.pd_histogram[i];
        pd_sum += s.pd_sum;
        el_sum += s.expected_loss_sum;
        reloads_ok += s.reloads_ok;
        reloads_failed += s.reloads_failed;
        connections_refused += s.connections_refused;
        if (s.generation == current.generation) live.merge(s.live);
    }
    auto summary = core::summarize(current.compiled, live, live_groups(current.compiled));

    std::string o;
    o.reserve(16 << 10);
    auto head = [&](std::string_view name, std::string_view type, std::string_view help) {
        o += "# HELP ";
        o += name;
        o += ' ';
        o += help;
        o += "\n# TYPE ";
        o += name;
        o += ' ';
        o += type;
        o += '\n';
    };
    head("loanrisk_build_info", "gauge", "Build of the running server; the kernel is the instruction set chosen at run time.");
    o += "loanrisk_build_info{version=\"" LOANRISK_VERSION "\",kernel=\"" + label(core::best_kernel()) +
         "\",compiler=\"" + label(__VERSION__) + "\"} 1\n";
    head("loanrisk_model_info", "gauge", "The serving model.");
    o += "loanrisk_model_info{model_version=\"" + label(current.model->model_version) + "\",kind=\"" +
         label(current.model->kind) + "\",loaded_at=\"" + current.loaded_at + "\"} 1\n";
    head("loanrisk_ready", "gauge", "1 when /ready answers 200.");
    o += "loanrisk_ready " + std::string(ready ? "1" : "0") + "\n";
    head("loanrisk_start_time_seconds", "gauge", "Start time of the process since the Unix epoch.");
    o += "loanrisk_start_time_seconds " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(started_.time_since_epoch()).count()) + "\n";

    head("loanrisk_http_requests_total", "counter", "HTTP requests by route and status code.");
    for (std::size_t r = 0; r < route_count; ++r)
        for (std::size_t i = 0; i < requests[r].size(); ++i) {
            if (!requests[r][i]) continue;
            o += "loanrisk_http_requests_total{route=\"";
            o += route_name(static_cast<route_id>(r));
            o += "\",status=\"";
            o += i < tracked_statuses.size() ? std::to_string(tracked_statuses[i]) : std::string("other");
            o += "\"} " + std::to_string(requests[r][i]) + "\n";
        }
    head("loanrisk_http_request_duration_seconds", "histogram",
         "Time from a complete request to its response written, by route.");
    for (std::size_t r = 0; r < route_count; ++r) {
        std::uint64_t total = 0;
        for (auto n : latency[r]) total += n;
        if (!total) continue;
        std::string rl = "route=\"" + std::string(route_name(static_cast<route_id>(r))) + "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < latency_buckets.size(); ++b) {
            cumulative += latency[r][b];
            o += "loanrisk_http_request_duration_seconds_bucket{" + rl + ",le=\"" + num(latency_buckets[b]) + "\"} " +
                 std::to_string(cumulative) + "\n";
        }
        o += "loanrisk_http_request_duration_seconds_bucket{" + rl + ",le=\"+Inf\"} " + std::to_string(total) + "\n";
        o += "loanrisk_http_request_duration_seconds_sum{" + rl + "} " + num(latency_sum[r]) + "\n";
        o += "loanrisk_http_request_duration_seconds_count{" + rl + "} " + std::to_string(total) + "\n";
    }

    head("loanrisk_loans_scored_total", "counter", "Loans scored by /predict and /batch_predict.");
    o += "loanrisk_loans_scored_total " + std::to_string(loans) + "\n";
    head("loanrisk_decisions_total", "counter", "Decisions by outcome.");
    for (std::size_t i = 0; i < 3; ++i)
        o += "loanrisk_decisions_total{decision=\"" +
             std::string(core::decision_name(static_cast<core::decision>(i))) + "\"} " + std::to_string(decisions[i]) +
             "\n";
    head("loanrisk_pd", "histogram",
         "PD of live traffic in the reference's buckets (a bucket holds PDs below its upper edge).");
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < pd_bins; ++b) {
        cumulative += pd_histogram[b];
        if (b + 1 < pd_bins)
            o += "loanrisk_pd_bucket{le=\"" + num(core::pd_histogram_edges[b + 1]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    o += "loanrisk_pd_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
    o += "loanrisk_pd_sum " + num(pd_sum) + "\nloanrisk_pd_count " + std::to_string(cumulative) + "\n";
    head("loanrisk_expected_loss_total", "counter", "Sum of Expected Loss of scored loans (currency units).");
    o += "loanrisk_expected_loss_total " + num(el_sum) + "\n";
    head("loanrisk_live_psi", "gauge",
         "Population stability index of live PDs under the serving model against its training distribution.");
    o += "loanrisk_live_psi " + num(summary.psi ? *summary.psi : std::nan("")) + "\n";
    head("loanrisk_live_loans", "gauge",
         "Loans scored by the serving model since it was loaded: what loanrisk_live_psi is taken over (gate a PSI "
         "alert on enough of them).");
    o += "loanrisk_live_loans " + std::to_string(live.count) + "\n";
    head("loanrisk_model_reloads_total", "counter", "Model reloads (admin route and SIGHUP) by result.");
    o += "loanrisk_model_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok) + "\n";
    o += "loanrisk_model_reloads_total{result=\"failed\"} " + std::to_string(reloads_failed) + "\n";
    head("loanrisk_connections_refused_total", "counter",
         "Connections answered 503 without a request: over --max-connections, or while draining.");
    o += "loanrisk_connections_refused_total " + std::to_string(connections_refused) + "\n";
    return o;
}

std::string metrics_registry::stats_json(const model_state& current) const {
    core::portfolio_accumulator live;
    const core::summary_options groups = live_groups(current.compiled);
    live.reset(current.compiled, groups);
    std::uint64_t loans = 0;
    std::array<std::uint64_t, route_count> by_route{};
    for (const auto& sp : shards_) {
        const shard& s = *sp;
        std::lock_guard lock(s.mu);
        loans += s.loans;
        for (std::size_t r = 0; r < route_count; ++r)
            for (auto n : s.requests[r]) by_route[r] += n;
        if (s.generation == current.generation) live.merge(s.live);
    }
    auto summary = core::summarize(current.compiled, live, groups);
    auto now = std::chrono::system_clock::now();
    std::string o = "{\"started_at\":";
    io::append_string(o, iso_time(started_));
    o += ",\"uptime_seconds\":";
    io::append_number(o, std::chrono::duration<double>(now - started_).count(), 6);
    o += ",\"model_version\":";
    io::append_string(o, current.model->model_version);
    o += ",\"model_loaded_at\":";
    io::append_string(o, current.loaded_at);
    o += ",\"loans_scored_total\":";
    io::append_integer(o, static_cast<std::int64_t>(loans));
    o += ",\"requests\":{";
    bool first = true;
    for (std::size_t r = 0; r < route_count; ++r) {
        if (!by_route[r]) continue;
        if (!first) o += ',';
        first = false;
        io::append_string(o, route_name(static_cast<route_id>(r)));
        o += ':';
        io::append_integer(o, static_cast<std::int64_t>(by_route[r]));
    }
    o += "},\"live\":";  // loans scored by the serving model since it was loaded
    io::append_summary_json(o, summary);
    o += '}';
    return o;
}

}  // namespace loanrisk::server

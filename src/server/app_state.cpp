// Model loading for the server: load, validate, compile, warm up, then swap atomically.
#include "app_state.hpp"

#include <ctime>

#include "loanrisk/decode.hpp"
#include "loanrisk/portfolio.hpp"
#include "loanrisk/scorer.hpp"
#include "loanrisk/synthetic.hpp"

namespace loanrisk::server {

namespace {

// Process-wide, not per app_state: /predict's per-thread scratch (its batch and kernel binding, which points
// into the model) is keyed on the generation and outlives any one app_state (tests make one after another).
std::atomic<std::uint64_t> next_generation{0};

}  // namespace

app_state::app_state(server_options options, std::size_t metric_shards)
    : options_(std::move(options)), metrics_(metric_shards) {}

result<std::shared_ptr<const model_state>> app_state::load(const std::string& path) {
    auto loaded = core::load_model(path);
    if (!loaded) return loaded.err();
    auto s = std::make_shared<model_state>();
    s->model = std::make_shared<const core::model>(std::move(*loaded));
    auto compiled = core::compile(s->model);
    if (!compiled) return compiled.err();
    s->compiled = std::move(*compiled);
    s->policy_args = core::make_policy_args(s->compiled, options_.rules);
    s->path = path;
    s->loaded_at = iso_time(std::chrono::system_clock::now());
    s->generation = ++next_generation;

    // Warm-up: one small synthetic portfolio through the decoder and the scorer touches every table
    // (and proves the model scores) before the first real request sees it.
    std::string body = io::synthetic_portfolio(*s->model, 256, io::text_format::json_batch);
    core::loan_batch b;
    b.reset(s->compiled, true);
    if (auto st = io::decode_json_batch(body, s->compiled, b); !st)
        return error{"model does not decode its own synthetic portfolio: " + st.err().message(), "", 0, "invalid_model"};
    core::scored_batch scored;
    core::portfolio_accumulator acc;
    acc.reset(s->compiled, {});
    core::score_options o;
    o.rules = options_.rules;
    o.threads = 1;
    core::score_batch(s->compiled, b, o, scored, acc);
    for (float pd : scored.pd)
        if (!(pd >= 0 && pd <= 1)) return error{"model produces PDs outside [0, 1]", "", 0, "invalid_model"};
    return std::shared_ptr<const model_state>(std::move(s));
}

void app_state::install(std::shared_ptr<const model_state> s) {
    {
        std::lock_guard lock(current_mutex_);
        current_.swap(s);
        serving_generation_.store(current_ ? current_->generation : 0, std::memory_order_release);
    }
    // `s` now holds the old model: released here, outside the lock (requests may still hold it).
}

const model_state* app_state::serving() const {
    // Generations are unique in the process, so a reference cached for another app_state never matches.
    thread_local std::shared_ptr<const model_state> mine;
    const std::uint64_t g = serving_generation_.load(std::memory_order_acquire);
    if (g == 0) return nullptr;
    if (!mine || mine->generation != g) mine = current();
    return mine.get();
}

status app_state::reload(const std::string& path) {
    std::lock_guard lock(reload_mutex_);
    auto s = load(path);
    metrics_.record_reload(s.ok());
    if (!s) return s.err();
    install(std::move(*s));
    return ok();
}

}  // namespace loanrisk::server

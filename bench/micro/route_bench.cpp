// The router in process, no sockets: what /predict costs on top of /health in the server's own code
// (decode, kernel, policy, explanation, metrics, response), the part of the HTTP ratio loanrisk controls;
// and what handing a request its model costs, on one thread and on two.
// bench/load/run.sh measures the same two routes over HTTP.
#include <benchmark/benchmark.h>

#include <cstring>
#include <stdexcept>

#include "loanrisk/decode.hpp"
#include "router.hpp"

using namespace loanrisk;

namespace {

server::app_state& app() {
    static server::app_state* a = [] {
        server::server_options o;
        o.model_path = LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json";
        auto* s = new server::app_state(o, 1);
        auto loaded = s->load(o.model_path);
        if (!loaded) throw std::runtime_error(loaded.err().message());
        s->install(*loaded);
        return s;
    }();
    return *a;
}

// One loan of the real data, as bench/load/make_bodies.py writes bench/load's predict body.
constexpr const char* predict_body =
    R"({"application_id":"L-0","data":{"person_age":22,"person_income":59000,"person_home_ownership":"RENT",)"
    R"("person_emp_length":123,"loan_intent":"PERSONAL","loan_grade":"D","loan_amnt":35000,"loan_int_rate":16.02,)"
    R"("loan_percent_income":0.59,"cb_person_default_on_file":"Y","cb_person_cred_hist_length":3}})";

// The request as the server builds it from wrk's headers, handled, the response dropped.
void route(benchmark::State& state, const char* method, const char* target, const char* body) {
    server::app_state& a = app();
    for (auto _ : state) {
        server::request req;
        req.method = method;
        req.target = target;
        if (*body) req.content_type = "application/json";
        req.body.reserve(std::strlen(body) + io::json_padding);  // as the server reads bodies: room to parse in place
        req.body = body;
        server::response res = server::handle_request(req, a);
        if (res.status != 200) state.SkipWithError(res.body.c_str());
        benchmark::DoNotOptimize(res.body.data());
    }
}

void route_health(benchmark::State& state) { route(state, "GET", "/health", ""); }
void route_predict(benchmark::State& state) { route(state, "POST", "/predict", predict_body); }

// The serving model as a handler gets it: current() (a lock and a reference count shared by every thread)
// against serving() (the thread's own reference, checked with one atomic load), on 1 and 2 threads.
void model_current(benchmark::State& state) {
    server::app_state& a = app();
    for (auto _ : state) {
        auto s = a.current();
        benchmark::DoNotOptimize(s.get());
    }
}
void model_serving(benchmark::State& state) {
    server::app_state& a = app();
    for (auto _ : state) benchmark::DoNotOptimize(a.serving());
}

}  // namespace

BENCHMARK(route_health);
BENCHMARK(route_predict);
BENCHMARK(model_current)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(model_serving)->Threads(1)->Threads(2)->UseRealTime();

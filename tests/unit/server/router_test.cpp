// Pins src/server/router.cpp: handle_request and open_stream as plain functions, no sockets involved.
#include "router.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <unistd.h>

#include "../model_fixture.hpp"

namespace {

using namespace loanrisk::server;

// ctest runs each test as its own process, two at a time: a shared path would let one test read the file
// while another rewrites it (a flaky load failure), so the path names the process.
std::string write_temp(const std::string& name, const std::string& text) {
    std::string path = ::testing::TempDir() + std::to_string(::getpid()) + "_" + name;
    std::ofstream(path) << text;
    return path;
}

// A model artifact file as `loanrisk train` writes one: model_version the hash of its content.
std::string write_model_file(const std::string& name, const std::string& model_text) {
    auto m = loanrisk::core::parse_model(model_text);
    if (!m) throw std::runtime_error(m.err().message());
    m->model_version = loanrisk::core::content_version(*m);
    return write_temp(name, loanrisk::core::write_model(*m));
}

std::string version_of(const std::string& model_text) {
    return loanrisk::core::content_version(*loanrisk::core::parse_model(model_text));
}

struct router_test : ::testing::Test {
    server_options options_for() {
        server_options o;
        o.model_path = write_model_file("router_test_model.json", loanrisk::testing::small_model);
        o.admin_token = "token";
        return o;
    }
    app_state app{options_for(), 1};
    void SetUp() override {
        auto s = app.load(app.options().model_path);
        ASSERT_TRUE(s.ok()) << s.err().message();
        app.install(*s);
    }
    void TearDown() override { std::remove(app.options().model_path.c_str()); }
    response call(std::string method, std::string target, std::string body = "", std::string type = "application/json",
                  std::string auth = "") {
        request r;
        r.method = std::move(method);
        r.target = std::move(target);
        r.body = std::move(body);
        r.content_type = std::move(type);
        r.authorization = std::move(auth);
        return handle_request(r, app);
    }
};

TEST_F(router_test, health_reports_the_model_version) {
    auto r = call("GET", "/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"status":"ok","api_version":"1.0.0","model_version":")" + version_of(loanrisk::testing::small_model) + "\"}");
}

TEST_F(router_test, ready_turns_503_while_draining) {
    EXPECT_EQ(call("GET", "/ready").status, 200);
    app.start_draining();
    auto r = call("GET", "/ready");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, R"({"status":"draining"})");
}

TEST_F(router_test, predict_gives_the_same_answer_for_flat_and_wrapped_bodies) {
    auto flat = call("POST", "/predict", R"({"application_id":"A","amount":300,"rate":12,"grade":"B","home":"OWN"})");
    auto wrapped = call("POST", "/predict", R"({"application_id":"A","data":{"amount":300,"rate":12,"grade":"B","home":"OWN"}})");
    EXPECT_EQ(flat.status, 200);
    EXPECT_EQ(flat.body, wrapped.body);
    EXPECT_NE(flat.body.find(R"("application_id":"A")"), std::string::npos);
}

TEST_F(router_test, rejects_a_string_amount_with_422_and_its_path) {
    auto r = call("POST", "/batch_predict", R"({"items":[{"amount":1},{"data":{"amount":"x"}}]})");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.body, R"({"error":"invalid_field","path":"items[1].data.amount","detail":"expected a number"})");
}

TEST_F(router_test, malformed_json_is_400_with_an_offset) {
    auto r = call("POST", "/predict", R"({"amount": 1,)");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find(R"("error":"malformed_json")"), std::string::npos);
    EXPECT_NE(r.body.find(R"("offset":)"), std::string::npos);
}

TEST_F(router_test, unknown_content_type_is_415) {
    EXPECT_EQ(call("POST", "/batch_predict", "x", "text/plain").status, 415);
}

TEST_F(router_test, media_types_are_case_insensitive_with_parameters_and_spaces) {
    EXPECT_EQ(call("POST", "/predict", R"({"amount": 1})", " Application/JSON ; charset=UTF-8").status, 200);
    EXPECT_EQ(call("POST", "/batch_predict", "amount\n1\n", "TEXT/Csv").status, 200);
    EXPECT_EQ(call("POST", "/batch_predict", "{\"amount\": 1}\n", "Application/X-NDJSON").status, 200);
    EXPECT_EQ(call("POST", "/predict", R"({"amount": 1})", "application/jsonx").status, 415);
}

TEST_F(router_test, unknown_route_is_404_and_wrong_method_405_with_allow) {
    EXPECT_EQ(call("GET", "/nope").status, 404);
    auto r = call("GET", "/batch_predict");
    EXPECT_EQ(r.status, 405);
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].second, "POST");
}

// HEAD used to be a 405: load balancers and uptime checks send it.
TEST_F(router_test, head_is_a_get_without_its_body) {
    auto get = call("GET", "/health");
    auto head = call("HEAD", "/health");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.omit_body);
    EXPECT_FALSE(get.omit_body);
    EXPECT_EQ(head.body, get.body);  // the body stays for its Content-Length; the server does not send it
    EXPECT_EQ(call("HEAD", "/").status, 200);
    EXPECT_EQ(call("HEAD", "/predict").status, 405);
    auto r = call("DELETE", "/health");
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].second, "GET, HEAD");
}

// The dashboard's files revalidate by ETag; their gzipped bytes are another representation with their own
// strong tag, and either tag answers 304 (both name the same content), naming the tag the client holds.
TEST_F(router_test, a_gzipped_file_has_its_own_etag_and_either_tag_revalidates) {
    auto get = [&](const std::string& accept_encoding, const std::string& if_none_match) {
        request r;
        r.method = "GET";
        r.target = "/static/app.js";
        r.accept_encoding = accept_encoding;
        r.if_none_match = if_none_match;
        return handle_request(r, app);
    };
    auto tag = [](const response& r) {
        for (const auto& [name, value] : r.headers)
            if (name == "ETag") return value;
        return std::string();
    };
    auto plain = get("", ""), gzipped = get("gzip", "");
    ASSERT_EQ(plain.status, 200);
    ASSERT_EQ(gzipped.status, 200);
    ASSERT_NE(gzipped.body, plain.body) << "app.js is served gzipped";
    const std::string plain_tag = tag(plain), gzip_tag = tag(gzipped);
    ASSERT_FALSE(plain_tag.empty());
    EXPECT_NE(gzip_tag, plain_tag);
    EXPECT_EQ(gzip_tag.front(), '"');
    EXPECT_EQ(gzip_tag.back(), '"');
    for (const std::string encoding : {"", "gzip"})
        for (const std::string& held : {plain_tag, gzip_tag, "W/" + gzip_tag}) {
            auto r = get(encoding, held);
            EXPECT_EQ(r.status, 304) << encoding << " " << held;
            EXPECT_TRUE(r.body.empty());
            EXPECT_EQ(tag(r), held == plain_tag ? plain_tag : gzip_tag) << encoding << " " << held;
        }
    EXPECT_EQ(get("gzip", "\"stale\"").status, 200);
}

// The reference service's documentation pages: /docs and /redoc are the API reference page, GET only.
TEST_F(router_test, docs_and_redoc_serve_the_api_reference_page) {
    for (const char* path : {"/docs", "/redoc", "/docs/"}) {
        auto r = call("GET", path);
        EXPECT_EQ(r.status, 200) << path;
        EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
        EXPECT_NE(r.body.find("/static/docs.js"), std::string::npos) << path;
        EXPECT_EQ(r.route, route_id::docs) << path;
    }
    EXPECT_EQ(call("POST", "/docs").status, 405);
    // Both pages (and the dashboard) are framed by no site and load only from this server.
    for (const char* path : {"/", "/docs"}) {
        auto r = call("GET", path);
        std::string csp, frames;
        for (const auto& [name, value] : r.headers) {
            if (name == "Content-Security-Policy") csp = value;
            if (name == "X-Frame-Options") frames = value;
        }
        EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << path;
        EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << path;
        EXPECT_EQ(frames, "DENY") << path;
    }
    EXPECT_EQ(call("GET", "/static/docs.js").status, 200);
    EXPECT_NE(call("GET", "/openapi.json").body.find("\"/docs\":{\"get\""), std::string::npos);
}

TEST_F(router_test, admin_reload_needs_the_token_and_a_valid_model) {
    EXPECT_EQ(call("POST", "/admin/reload", "", "", "Bearer wrong").status, 401);
    EXPECT_EQ(call("POST", "/admin/reload", "", "", "").status, 401);
    std::string bad = write_temp("router_test_bad.json", loanrisk::testing::small_model_with("[200, 500]", "[500, 200]"));
    auto r = call("POST", "/admin/reload", R"({"model":")" + bad + R"("})", "application/json", "Bearer token");
    EXPECT_EQ(r.status, 422);
    EXPECT_NE(r.body.find("invalid_model"), std::string::npos);
    EXPECT_EQ(app.current()->model->model_version, version_of(loanrisk::testing::small_model));
    EXPECT_EQ(call("POST", "/admin/reload", "", "", "Bearer token").status, 200);
    std::remove(bad.c_str());
}

// model_version is the content hash: a model file changed after it was written (here: another intercept
// under the fixture's version "test") is refused, naming the hash its content has, and the old one serves.
TEST_F(router_test, admin_reload_refuses_a_model_whose_version_is_not_its_content_hash) {
    const std::string edited = loanrisk::testing::small_model_with("\"intercept\": -1", "\"intercept\": 0.75");
    const std::string path = write_temp("router_test_edited.json", edited);
    auto r = call("POST", "/admin/reload", R"({"model":")" + path + R"("})", "application/json", "Bearer token");
    std::remove(path.c_str());
    EXPECT_EQ(r.status, 422);
    const std::string expected = "\"detail\":\"" + path + ": model_version: 'test' is not the hash of the model's content (" +
                                 version_of(edited) + "): the file was changed after it was written;";
    EXPECT_NE(r.body.find(expected), std::string::npos) << r.body;
    EXPECT_EQ(app.current()->model->model_version, version_of(loanrisk::testing::small_model));
    const std::string stamped = write_model_file("router_test_stamped.json", edited);
    EXPECT_EQ(call("POST", "/admin/reload", R"({"model":")" + stamped + R"("})", "application/json", "Bearer token").status, 200);
    std::remove(stamped.c_str());
    EXPECT_EQ(app.current()->model->model_version, version_of(edited));
}

TEST_F(router_test, streamed_csv_in_odd_chunks_matches_the_whole_body) {
    std::string csv = "id,amount,rate,grade,home\n";
    for (int i = 0; i < 500; ++i) csv += "L" + std::to_string(i) + "," + std::to_string(100 + i) + ",1" + std::to_string(i % 9) + "," + (i % 2 ? "A" : "B") + ",RENT\n";
    auto whole = call("POST", "/batch_predict", csv, "text/csv");
    ASSERT_EQ(whole.status, 200) << whole.body;
    request head;
    head.method = "POST";
    head.target = "/batch_predict";
    head.content_type = "text/csv";
    auto sink = open_stream(head, app);
    ASSERT_TRUE(sink);
    for (std::size_t i = 0; i < csv.size(); i += 7) ASSERT_TRUE(sink->feed(std::string_view(csv).substr(i, 7)));
    EXPECT_EQ(sink->finish().body, whole.body);
}

TEST_F(router_test, query_params_are_percent_decoded_and_last_wins) {
    std::string v;
    EXPECT_TRUE(query_param("group_by=a%2Cb&x=1&x=2", "group_by", v));
    EXPECT_EQ(v, "a,b");
    EXPECT_TRUE(query_param("group_by=a%2Cb&x=1&x=2", "x", v));
    EXPECT_EQ(v, "2");
    EXPECT_FALSE(query_param("a=1", "b", v));
}

}  // namespace

namespace {

// /predict on a fresh app_state with `model_text`, on the calling thread: the response body.
std::string predict_on_new_app(const std::string& model_text, const std::string& body) {
    server_options o;
    o.model_path = write_model_file("router_test_generation_model.json", model_text);
    app_state app{o, 1};
    auto s = app.load(o.model_path);
    std::remove(o.model_path.c_str());
    if (!s) return s.err().message();
    app.install(*s);
    request r;
    r.method = "POST";
    r.target = "/predict";
    r.content_type = "application/json";
    r.body = body;
    return handle_request(r, app).body;
}

}  // namespace

// /predict keeps a per-thread scratch (its one-loan batch and the kernel bound to it) keyed on the model's
// generation. Regression: generations were counted per app_state, so a second app_state's first model
// matched the first one's and was scored with the first model's weights (freed by then).
TEST(router_scratch, a_later_app_state_on_the_same_thread_scores_with_its_own_model) {
    const std::string body = R"({"application_id":"A","amount":300,"rate":12,"grade":"B","home":"OWN"})";
    const std::string other = loanrisk::testing::small_model_with("\"intercept\": -1", "\"intercept\": 0.75");
    const std::string first = predict_on_new_app(other, body);
    const std::string second = predict_on_new_app(loanrisk::testing::small_model, body);
    std::string fresh;  // the same app on a thread that has never scored
    std::thread([&] { fresh = predict_on_new_app(loanrisk::testing::small_model, body); }).join();
    ASSERT_NE(first, fresh);  // the two models differ in PD
    EXPECT_EQ(second, fresh);
}

// serving(): a thread's cached reference to the model, renewed when an install has swapped it since.
TEST(app_state_serving, follows_installs_on_every_thread_and_never_gives_another_app_states_model) {
    auto load = [](app_state& app, const std::string& text) {
        const std::string path = write_model_file("router_test_serving_model.json", text);
        auto s = app.load(path);
        std::remove(path.c_str());
        if (!s) throw std::runtime_error(s.err().message());
        return *s;
    };
    const std::string other = loanrisk::testing::small_model_with("\"intercept\": -1", "\"intercept\": 0.75");
    server_options o;
    app_state a{o, 1}, b{o, 1};
    EXPECT_EQ(a.serving(), nullptr);
    EXPECT_FALSE(a.ready());
    auto x = load(a, loanrisk::testing::small_model);
    a.install(x);
    EXPECT_EQ(a.serving(), x.get());
    EXPECT_TRUE(a.ready());
    auto y = load(a, other);
    a.install(y);
    EXPECT_EQ(a.serving(), y.get());  // this thread's reference to x is renewed
    EXPECT_EQ(b.serving(), nullptr);  // no model yet, whatever this thread holds
    auto z = load(b, loanrisk::testing::small_model);
    b.install(z);
    for (int k = 0; k < 3; ++k) {  // alternating: each app_state gives its own
        EXPECT_EQ(a.serving(), y.get());
        EXPECT_EQ(b.serving(), z.get());
    }
    // A thread already holding its reference sees an install made on another thread (as a reload is).
    std::promise<const model_state*> before;
    std::promise<void> installed;
    const model_state* after = nullptr;
    std::thread worker([&] {
        before.set_value(a.serving());
        installed.get_future().wait();
        after = a.serving();
    });
    EXPECT_EQ(before.get_future().get(), y.get());
    auto w = load(a, other);
    a.install(w);
    installed.set_value();
    worker.join();
    EXPECT_EQ(after, w.get());
    EXPECT_EQ(a.serving(), w.get());
    EXPECT_EQ(b.serving(), z.get());
}

// The live portfolio follows the newest model: a request that began on the model before a reload and ends
// after it adds to the process totals but neither lands in nor wipes the new model's live portfolio (it used
// to reshape the portfolio back to the old model, dropping what the new one had scored).
TEST(metrics_live, a_request_on_the_previous_model_does_not_reset_the_new_models_portfolio) {
    server_options o;
    app_state app{o, 1};
    auto load = [&](const std::string& text) {
        const std::string path = write_model_file("router_test_live_model.json", text);
        auto s = app.load(path);
        std::remove(path.c_str());
        if (!s) throw std::runtime_error(s.err().message());
        return *s;
    };
    auto old_model = load(loanrisk::testing::small_model);
    auto new_model = load(loanrisk::testing::small_model_with("\"intercept\": -1", "\"intercept\": 0.75"));
    auto one_loan = [](const model_state& s) {
        auto p = metrics_registry::live_accumulator(s);
        p.count = 1;
        p.decisions[0] = 1;
        return p;
    };
    app.metrics().record_portfolio(*new_model, one_loan(*new_model));
    app.metrics().record_portfolio(*old_model, one_loan(*old_model));  // began before the reload
    app.metrics().record_portfolio(*new_model, one_loan(*new_model));
    const std::string stats = app.metrics().stats_json(*new_model);
    EXPECT_NE(stats.find("\"loans_scored_total\":3"), std::string::npos) << stats;
    EXPECT_NE(stats.find("\"live\":{\"count\":2"), std::string::npos) << stats;
}


// libFuzzer: the whole request path in process, bytes in -> responses out. The input is what a client
// sends on one connection (pipelined requests, any framing); it goes through Beast's parser with the
// server's limits, the router (streamed bodies chunk by chunk, as on a socket) and the response writer
// (http_wire.hpp, shared with http_server.cpp). Properties: bad input never gets a 5xx, every response
// is well-formed JSON-or-asset with a status line, and the handler never crashes.
#include <boost/beast/core/flat_buffer.hpp>

#include "app_state.hpp"
#include "fuzz_support.hpp"
#include "http_wire.hpp"
#include "router.hpp"

using namespace loanrisk;
namespace http = boost::beast::http;

namespace {

server::app_state& app() {
    static server::app_state* state = [] {
        server::server_options o;
        o.max_body_bytes = 1 << 20;  // small limits, so the fuzzer reaches them
        o.max_header_bytes = 4 << 10;
        o.score_threads = 1;
        o.model_path = LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json";
        auto* s = new server::app_state(o, 1);  // never destroyed: libFuzzer exits without unwinding
        auto loaded = s->load(o.model_path);
        if (!loaded) fuzz::fail("the shipped model does not load");
        s->install(*loaded);
        return s;
    }();
    return *state;
}

void check(const server::response& res) {
    fuzz::require(res.status >= 200 && res.status < 500, "no input makes the server answer 5xx");
    fuzz::require(!res.content_type.empty(), "every response has a content type");
}

// One request from the front of `in` (consumed); false when the connection would close.
bool serve_one(std::string_view& in, std::string& out) {
    auto& state = app();
    const auto& o = state.options();
    boost::beast::error_code ec;
    http::request_parser<http::empty_body> head;
    server::wire::apply_limits(head, o);
    head.eager(false);
    while (!head.is_header_done() && !in.empty()) {
        std::size_t used = head.put(boost::asio::buffer(in.data(), in.size()), ec);
        in.remove_prefix(used);
        if (ec == http::error::need_more) {
            if (used == 0) break;  // the rest of the header never arrives: the connection times out
            ec = {};
            continue;
        }
        if (ec) break;
    }
    if (!head.is_header_done()) {
        if (auto res = server::wire::parse_failure(ec, server::route_id::not_found, o)) {
            check(*res);
            out += server::wire::response_head(*res, false, false) + res->body;
        }
        return false;
    }
    server::request req = server::wire::request_from(head.get());
    const bool keep = head.get().keep_alive();
    if (auto bad = server::wire::framing_failure(head.get(), server::route_of(req.target))) {
        check(*bad);
        out += server::wire::response_head(*bad, false, false) + bad->body;
        return false;
    }
    std::optional<server::response> res;
    if (auto sink = server::open_stream(req, state)) {
        http::request_parser<http::buffer_body> body(std::move(head));
        body.eager(true);
        char chunk[4096];
        bool bad = false;
        while (!body.is_done() && !bad && !res) {
            body.get().body().data = chunk;
            body.get().body().size = sizeof chunk;
            std::size_t used = body.put(boost::asio::buffer(in.data(), in.size()), ec);
            in.remove_prefix(used);
            if (ec == http::error::need_buffer) ec = {};
            if (ec == http::error::need_more && used == 0) return false;  // truncated body: times out
            if (ec == http::error::need_more) ec = {};
            if (ec) {
                res = server::wire::parse_failure(ec, server::route_id::batch_predict, o);
                if (!res) return false;
                break;
            }
            std::size_t got = sizeof chunk - body.get().body().size;
            if (got && !sink->feed(std::string_view(chunk, got))) bad = true;
            if (used == 0 && got == 0 && !body.is_done()) return false;
        }
        if (!res) res = sink->finish();
        if (bad) res->close = true;
    } else {
        http::request_parser<server::wire::padded_body> body(std::move(head));
        body.eager(true);
        while (!body.is_done()) {
            std::size_t used = body.put(boost::asio::buffer(in.data(), in.size()), ec);
            in.remove_prefix(used);
            if (ec == http::error::need_more) ec = {};
            if (ec) break;
            if (used == 0) return false;  // a truncated body: the connection times out
        }
        if (ec) {
            res = server::wire::parse_failure(ec, server::route_of(req.target), o);
            if (!res) return false;
            res->close = true;
        } else {
            req.body = std::move(body.get().body());
            res = server::handle_request(req, state);
        }
    }
    check(*res);
    const bool more = keep && !res->close;
    out += server::wire::response_head(*res, more, false);
    out += res->body;
    return more;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::text(data, size);
    std::string out;
    for (int requests = 0; requests < 16 && !in.empty(); ++requests)
        if (!serve_one(in, out)) break;
    return 0;
}

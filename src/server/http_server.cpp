// The I/O edge: listeners, one coroutine per connection (Beast's awaitable server), TLS, signals and
// graceful drain. Everything Beast/Asio lives in this one translation unit; requests are handed to
// router.cpp as plain structs.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <list>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <type_traits>
#include <vector>

#include "app_state.hpp"
#include "heap.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/server.hpp"
#include "http_wire.hpp"
#include "router.hpp"

namespace loanrisk::server {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// A client closing its connection is an error_code, not an exception per close.
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t stream_chunk_bytes = 256 << 10;
constexpr std::size_t first_read_bytes = 16 << 10;

std::chrono::milliseconds millis(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// The deadline of a request body's next read. Each read must bring bytes within --read-timeout, so a slow
// client that keeps sending is not cut off mid-body; and past its first --read-timeout the body must have
// kept up --min-body-rate bytes a second on average, so a client trickling a byte at a time is cut off like
// one that stopped (slowloris).
struct body_deadline {
    clock_type::time_point start;
    double read_timeout, min_rate;
    std::uint64_t received = 0;  // bytes read off the connection for this body
    clock_type::time_point next() const {
        // At most a year past the start: a huge body at a tiny rate would overflow the clock's nanoseconds.
        const double seconds = std::min(read_timeout + static_cast<double>(received) / std::max(min_rate, 1.0), 3.2e7);
        const auto by_rate = start + millis(seconds);
        return std::min(clock_type::now() + millis(read_timeout), by_rate);
    }
};

// A connection as the drain sees it: idle ones (waiting for their next request) are closed at once,
// busy ones finish their request and then close.
struct connection_slot {
    beast::tcp_stream* tcp = nullptr;
    bool busy = false;
};

// One io_context per thread, each with its own listener (SO_REUSEPORT) or fed by worker 0's.
// Member order matters: destroying ioc destroys suspended sessions, which unregister from `connections`.
struct worker {
    std::list<connection_slot*> connections;  // touched only on this worker's thread
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> keep_running = asio::make_work_guard(ioc);
    std::optional<tcp::acceptor> acceptor;
};

struct server_context {
    app_state& app;
    const server_options& options;
    std::vector<std::unique_ptr<worker>> workers;
    std::optional<ssl::context> tls;
    std::atomic<std::size_t> active{0};
    std::atomic<std::size_t> next_worker{0};
    std::atomic<std::uint64_t> large_requests{0};  // ended so far (large_request_bytes)
};

// A request whose body or results reach this leaves large blocks to free: while such requests keep coming,
// the server keeps what they free for the next ones (release_memory_when_idle).
constexpr std::size_t large_request_bytes = 1 << 20;

// Logs an I/O failure on stderr, except the ordinary ends of a connection: a client that went away (also
// mid-body: partial_message), a timeout, a reset.
void report(std::string_view what, const beast::error_code& ec) {
    if (ec == asio::error::operation_aborted || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated)
        return;
    std::cerr << "loanrisk serve: " << what << ": " << ec.message() << '\n';
}

struct request_meta {
    clock_type::time_point start;
    std::string method, target;
    std::string remote;
};

// One line per request: time, client, "method target" (quotes and backslashes in it escaped, so a line
// always parses), status, body bytes sent, duration.
void access_log(const server_context& ctx, const request_meta& m, int status, std::size_t bytes, double seconds) {
    if (!ctx.options.access_log) return;
    std::string line = iso_time(std::chrono::system_clock::now()) + " " + m.remote + " \"" + m.method + " ";
    for (char c : m.target) {
        if (c == '"' || c == '\\') line += '\\';
        line += c;
    }
    line += "\" " + std::to_string(status) + " " + std::to_string(bytes) + " " + std::to_string(seconds * 1000) + "ms\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

// Writes `res`, records it in the metrics, and says whether the connection may serve another request.
// The status line and headers are formatted here and sent with the body in one gathered write: cheaper
// than Beast's serializer on the /predict hot path, and the body is never copied.
template <class Stream>
asio::awaitable<bool> send(Stream& stream, beast::tcp_stream& raw, server_context& ctx, response res, bool keep_alive,
                           bool http10, const request_meta& meta) {
    const bool keep = keep_alive && !res.close && !ctx.app.draining();
    const std::string head = wire::response_head(res, keep, http10);
    raw.expires_after(millis(ctx.options.read_timeout));
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        const std::array<asio::const_buffer, 2> buffers = {asio::buffer(head),
                                                           asio::buffer(res.body.data(), res.omit_body ? 0 : res.body.size())};
        auto [wec, n] = co_await asio::async_write(stream, buffers, use_tuple);
        ec = wec;
    } else if (res.omit_body) {
        auto [wec, n] = co_await asio::async_write(stream, asio::buffer(head), use_tuple);
        ec = wec;
    } else {
        // TLS: Beast's serializer (a gathered write over beast::ssl_stream stalled on bodies past one
        // 16 KiB record in Boost 1.81 here; the serializer's writes do not).
        http::response<http::string_body> out{static_cast<http::status>(res.status), 11};
        out.set(http::field::server, "loanrisk/" LOANRISK_VERSION);
        out.set(http::field::content_type, res.content_type);
        for (const auto& [name, value] : res.headers) out.set(name, value);
        out.keep_alive(keep);
        if (keep && http10) out.set(http::field::connection, "keep-alive");
        out.body() = std::move(res.body);
        out.prepare_payload();
        auto [wec, n] = co_await http::async_write(stream, out, use_tuple);
        ec = wec;
        res.body = std::move(out.body());
    }
    double seconds = std::chrono::duration<double>(clock_type::now() - meta.start).count();
    ctx.app.metrics().record_request(res.route, res.status, seconds);
    access_log(ctx, meta, res.status, res.omit_body ? 0 : res.body.size(), seconds);
    if (ec) {
        report("write", ec);
        co_return false;
    }
    co_return keep;
}

template <class Stream>
void close_stream(Stream& stream) {
    beast::error_code ec;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
}

// After a response sent with part of its request unread (a body over the limit, a bad row mid-body): with
// the send side shut, what the client still sends is read and dropped until it stops (linger_read_seconds
// without a byte) or linger_seconds have passed, and only then is the socket closed. Closed at once with
// bytes unread, the kernel answers them with a reset, and a client still sending its body loses the
// response it has not read yet (nginx's lingering close).
constexpr auto linger_read_seconds = std::chrono::seconds(5);
constexpr auto linger_seconds = std::chrono::seconds(30);

asio::awaitable<void> linger(beast::tcp_stream& raw) {
    std::vector<char> dropped(64 << 10);
    const auto until = std::chrono::steady_clock::now() + linger_seconds;
    for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
        raw.expires_after(std::min<std::chrono::steady_clock::duration>(until - now, linger_read_seconds));
        auto [ec, n] = co_await raw.async_read_some(asio::buffer(dropped), use_tuple);
        if (ec) break;  // the client closed (or reset), or stopped sending
    }
}

// Serves the connection's requests. On plain TCP, when it ends with a response sent before its request was
// read whole (an error found in the head or mid-body), it lingers before returning.
template <class Stream>
asio::awaitable<void> serve_connection(Stream& stream, beast::tcp_stream& raw, server_context& ctx, worker& w,
                                       std::string remote) {
    connection_slot slot{&raw, false};
    auto it = w.connections.insert(w.connections.end(), &slot);
    struct unregister {
        worker& w;
        std::list<connection_slot*>::iterator it;
        ~unregister() { w.connections.erase(it); }
    } guard{w, it};

    app_state& app = ctx.app;
    const server_options& o = ctx.options;
    constexpr bool plain = std::is_same_v<Stream, beast::tcp_stream>;  // not TLS: no lingering close under TLS
    beast::flat_buffer buffer(wire::read_buffer_limit(o));
    std::vector<char> chunk;
    bool unread = false;
    for (;;) {
        slot.busy = false;
        if (app.draining()) break;
        // Idle until the first bytes of the next request; then the read timeout covers the rest, so a
        // client trickling its headers a byte at a time is cut after --read-timeout, not --idle-timeout.
        if (buffer.size() == 0) {
            raw.expires_after(millis(o.idle_timeout));
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(first_read_bytes), use_tuple);
            if (ec) {
                report("read", ec);
                break;
            }
            buffer.commit(n);
        }
        // A request has begun arriving: a drain lets it finish (only idle connections are closed).
        slot.busy = true;
        raw.expires_after(millis(o.read_timeout));
        http::request_parser<http::empty_body> head_parser;
        wire::apply_limits(head_parser, o);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, head_parser, use_tuple);
        // Beast applies the header limit to each parse of what has arrived, so a head that came in parts
        // could pass it nearly twice over: the whole head is held to it here.
        if (!ec && n > o.max_header_bytes) ec = http::error::header_limit;
        request_meta meta{clock_type::now(), {}, {}, remote};
        if (ec) {
            if (auto res = wire::parse_failure(ec, route_id::not_found, o)) {
                if (head_parser.is_header_done()) {
                    meta.method = std::string(head_parser.get().method_string());
                    meta.target = std::string(head_parser.get().target());
                    res->route = route_of(meta.target);
                }
                unread = true;
                co_await send(stream, raw, ctx, std::move(*res), false, false, meta);
            } else {
                report("read", ec);
            }
            break;
        }
        const auto& h = head_parser.get();
        request req = wire::request_from(h);
        meta.method = req.method;
        meta.target = req.target;
        const bool keep_alive = h.keep_alive();
        const bool http10 = h.version() == 10;
        if (auto bad = wire::framing_failure(h, route_of(req.target))) {
            unread = true;
            co_await send(stream, raw, ctx, std::move(*bad), false, http10, meta);
            break;
        }

        // An error the body cannot change is answered before a body still to come is read (and instead of a
        // 100 Continue); the connection then closes, lingering over what the client still sends. A body of a
        // Content-Length that came whole with the head is read as usual, and the connection kept. Under TLS
        // (no lingering close) only when the client waits for a 100 Continue before sending its body.
        const auto length = head_parser.content_length();
        const bool expects_continue = beast::iequals(h[http::field::expect], "100-continue");
        if ((plain || expects_continue) && (h.chunked() || (length && *length > buffer.size()))) {
            if (auto early = wire::refuse_guarded(req, app)) {
                unread = true;
                early->close = true;
                co_await send(stream, raw, ctx, std::move(*early), false, http10, meta);
                break;
            }
        }

        if (expects_continue) {
            http::response<http::empty_body> cont{http::status::continue_, 11};
            auto [ec2, n2] = co_await http::async_write(stream, cont, use_tuple);
            if (ec2) break;
        }

        std::optional<response> res;
        // Counted once this request's blocks are freed, however it ends.
        struct large_request_count {
            std::atomic<std::uint64_t>& counter;
            std::size_t bytes = 0;  // the larger of its body and its results
            ~large_request_count() {
                if (bytes >= large_request_bytes) ++counter;
            }
        } large{ctx.large_requests};
        raw.expires_after(millis(o.read_timeout));
        if (auto sink = open_stream(req, app)) {
            // Streamed body: decoded and scored chunk by chunk, never held whole.
            http::request_parser<http::buffer_body> body_parser(std::move(head_parser));
            chunk.resize(stream_chunk_bytes);
            bool bad_body = false;
            body_deadline deadline{clock_type::now(), o.read_timeout, o.min_body_rate};
            while (!body_parser.is_done()) {
                // A chunk filled read by read, each read within the body's deadline.
                beast::error_code ec2;
                std::size_t got = 0;
                while (!body_parser.is_done() && got < chunk.size()) {
                    body_parser.get().body().data = chunk.data() + got;
                    body_parser.get().body().size = chunk.size() - got;
                    raw.expires_at(deadline.next());
                    auto [ec3, n3] = co_await http::async_read_some(stream, buffer, body_parser, use_tuple);
                    deadline.received += n3;
                    got = chunk.size() - body_parser.get().body().size;
                    if (ec3 == http::error::need_buffer) continue;
                    if ((ec2 = ec3)) break;
                }
                if (ec2) {
                    res = wire::parse_failure(ec2, route_id::batch_predict, o);
                    if (!res) report("read body", ec2);
                    break;
                }
                large.bytes += got;
                bool fed = true;
                try {
                    fed = !got || sink->feed(std::string_view(chunk.data(), got));
                } catch (const std::exception& e) {
                    res = wire::internal_error(req, e);
                    break;
                }
                if (!fed) {
                    bad_body = true;
                    break;
                }
            }
            if (res) {
                res->close = true;
                unread = !body_parser.is_done();
            } else if (bad_body || body_parser.is_done()) {
                res = wire::finish_guarded(req, *sink);
                if (bad_body) res->close = unread = !body_parser.is_done();  // the rest of the body is never read
            } else {
                break;  // the client went away mid-body
            }
        } else {
            http::request_parser<wire::padded_body> body_parser(std::move(head_parser));
            // A small body usually arrived with its headers: parse it from the buffer in place, and go
            // to the socket only for what is missing.
            beast::error_code ec2;
            while (!body_parser.is_done() && buffer.size()) {
                std::size_t used = body_parser.put(buffer.data(), ec2);
                buffer.consume(used);
                if (ec2 == http::error::need_more) ec2 = {};
                if (ec2 || used == 0) break;
            }
            body_deadline deadline{clock_type::now(), o.read_timeout, o.min_body_rate};
            while (!ec2 && !body_parser.is_done()) {  // each read within the body's deadline
                raw.expires_at(deadline.next());
                auto [ec3, n3] = co_await http::async_read_some(stream, buffer, body_parser, use_tuple);
                deadline.received += n3;
                ec2 = ec3;
            }
            large.bytes = body_parser.get().body().size();
            if (ec2) {
                res = wire::parse_failure(ec2, route_of(req.target), o);
                if (!res) {
                    report("read body", ec2);
                    break;
                }
                res->close = unread = true;
            } else {
                req.body = std::move(body_parser.get().body());
                res = wire::handle_guarded(req, app);
            }
        }
        large.bytes = std::max(large.bytes, res->body.size());
        if (!co_await send(stream, raw, ctx, std::move(*res), keep_alive, http10, meta)) break;
    }
    if constexpr (plain) {  // under TLS the session's shutdown follows
        if (unread && !app.draining()) {
            slot.busy = false;  // a drain cancels it like an idle connection
            close_stream(raw);
            co_await linger(raw);
        }
    }
}

asio::awaitable<void> session(tcp::socket socket, server_context& ctx, worker& w) {
    struct counted {
        server_context& ctx;
        ~counted() { --ctx.active; }
    } count{ctx};
    beast::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    std::string remote = ec ? "-" : endpoint.address().to_string();
    beast::tcp_stream raw(std::move(socket));
    if (!ctx.tls) {
        co_await serve_connection(raw, raw, ctx, w, std::move(remote));
        close_stream(raw);
        co_return;
    }
    beast::ssl_stream<beast::tcp_stream> tls(std::move(raw), *ctx.tls);
    beast::tcp_stream& lower = beast::get_lowest_layer(tls);
    lower.expires_after(millis(ctx.options.read_timeout));
    auto [hec] = co_await tls.async_handshake(ssl::stream_base::server, use_tuple);
    if (hec) {
        report("TLS handshake", hec);
        co_return;
    }
    co_await serve_connection(tls, lower, ctx, w, std::move(remote));
    lower.expires_after(std::chrono::seconds(2));
    auto [sec] = co_await tls.async_shutdown(use_tuple);
    (void)sec;
}

// Over the connection cap: a short 503 and close, without reading the request.
asio::awaitable<void> refuse(tcp::socket socket) {
    static const std::string body = R"({"error":"too_many_connections","detail":"connection cap reached"})";
    static const std::string text =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
        "Retry-After: 1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(text), use_tuple);
    (void)ec, (void)n;
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> listen(server_context& ctx, worker& w, bool shared_listener) {
    for (;;) {
        // A shared listener hands connections to the workers in turn.
        worker& target = shared_listener ? *ctx.workers[ctx.next_worker++ % ctx.workers.size()] : w;
        auto [ec, socket] = co_await w.acceptor->async_accept(target.ioc, use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) co_return;
            report("accept", ec);
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
                asio::steady_timer pause(w.ioc, std::chrono::milliseconds(50));  // let connections close
                co_await pause.async_wait(use_tuple);
            }
            continue;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (ctx.active.load() >= ctx.options.max_connections || ctx.app.draining()) {
            ctx.app.metrics().record_refused_connection();
            asio::co_spawn(target.ioc, refuse(std::move(socket)), asio::detached);
            continue;
        }
        ++ctx.active;
        asio::co_spawn(target.ioc, session(std::move(socket), ctx, target), asio::detached);
    }
}

tcp::acceptor open_acceptor(asio::io_context& ioc, const tcp::endpoint& at, bool reuse_port) {
    tcp::acceptor a(ioc);
    a.open(at.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    if (reuse_port) a.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    a.bind(at);
    a.listen(asio::socket_base::max_listen_connections);
    return a;
}

// SIGTERM/SIGINT: /ready turns 503, listeners close, idle connections close, busy ones finish their
// request (responses say Connection: close) until the drain deadline; then every io_context stops.
void start_drain(server_context& ctx) {
    if (ctx.app.draining()) return;
    ctx.app.start_draining();
    std::cerr << "loanrisk serve: draining (" << ctx.active.load() << " connections open)\n";
    for (auto& wp : ctx.workers) {
        worker& w = *wp;
        asio::post(w.ioc, [&w] {
            beast::error_code ec;
            if (w.acceptor) w.acceptor->close(ec);
            for (connection_slot* c : w.connections)
                if (!c->busy) c->tcp->socket().cancel(ec);
        });
    }
    worker& first = *ctx.workers.front();
    asio::co_spawn(first.ioc, [&ctx]() -> asio::awaitable<void> {
        auto deadline = clock_type::now() + millis(ctx.options.drain_timeout);
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (ctx.active.load() > 0 && clock_type::now() < deadline) {
            t.expires_after(std::chrono::milliseconds(10));
            co_await t.async_wait(use_tuple);
        }
        if (ctx.active.load() > 0)
            std::cerr << "loanrisk serve: drain deadline reached, closing " << ctx.active.load() << " connections\n";
        for (auto& wp : ctx.workers) wp->ioc.stop();
    }, asio::detached);
}

// Gives freed memory back to the kernel once no large request (large_request_bytes) has ended for
// --release-memory-after seconds, if one did since the last time (heap.hpp: until then it is kept for the
// next ones). Small requests (probes, /stats polls, /predict) do not hold it, and neither does a large
// request still arriving: what it holds is in use, not free, and a trim now costs it nothing.
asio::awaitable<void> release_memory_when_idle(server_context& ctx) {
    const auto after = millis(ctx.options.release_memory_after);
    const auto tick = std::clamp<clock_type::duration>(after / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
    asio::steady_timer t(co_await asio::this_coro::executor);
    std::uint64_t seen = ctx.large_requests.load(), released = seen;
    auto quiet_since = clock_type::now();
    for (;;) {
        t.expires_after(tick);
        auto [ec] = co_await t.async_wait(use_tuple);
        if (ec || ctx.app.draining()) co_return;
        const auto now = clock_type::now();
        if (const std::uint64_t ended = ctx.large_requests.load(); ended != seen) {
            seen = ended;
            quiet_since = now;
        } else if (ended != released && now - quiet_since >= after) {
            heap::release_freed_memory();
            released = ended;
        }
    }
}

asio::awaitable<void> handle_signals(server_context& ctx, asio::signal_set& signals) {
    for (;;) {
        auto [ec, sig] = co_await signals.async_wait(use_tuple);
        if (ec) co_return;
        if (sig == SIGHUP) {
            const std::string& path = ctx.options.model_path;
            if (auto st = ctx.app.reload(path); st)
                std::cerr << "loanrisk serve: SIGHUP: reloaded " << path << ", model "
                          << ctx.app.current()->model->model_version << '\n';
            else
                std::cerr << "loanrisk serve: SIGHUP: reload of " << path << " failed, old model keeps serving: "
                          << st.err().message() << '\n';
            continue;
        }
        start_drain(ctx);
        co_return;
    }
}

}  // namespace

int run(const server_options& options_in) {
    server_options options = options_in;
    if (options.release_memory_after > 0)  // before any thread starts
        if (const std::string note = heap::keep_freed_memory(); !note.empty())
            std::cerr << "loanrisk serve: " << note << '\n';
    const unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    app_state app(options, threads);
    auto loaded = app.load(options.model_path);
    if (!loaded) throw std::runtime_error(loaded.err().message());
    app.install(*loaded);

    server_context ctx{app, app.options(), {}, {}, {}, {}};
    for (unsigned i = 0; i < threads; ++i) ctx.workers.push_back(std::make_unique<worker>());

    if (!options.tls_cert.empty() || !options.tls_key.empty()) {
        if (options.tls_cert.empty() || options.tls_key.empty())
            throw std::runtime_error("--tls-cert and --tls-key go together");
        ctx.tls.emplace(ssl::context::tls_server);
        ctx.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
        beast::error_code ec;
        ctx.tls->use_certificate_chain_file(options.tls_cert, ec);
        if (ec) throw std::runtime_error(options.tls_cert + ": cannot use certificate: " + ec.message());
        ctx.tls->use_private_key_file(options.tls_key, ssl::context::pem, ec);
        if (ec) throw std::runtime_error(options.tls_key + ": cannot use private key: " + ec.message());
    }

    beast::error_code ec;
    auto address = asio::ip::make_address(options.host, ec);
    if (ec) throw std::runtime_error("--host: '" + options.host + "' is not an IP address");
    tcp::endpoint at(address, options.port);
    bool shared_listener = !options.reuse_port || threads == 1;
    try {
        ctx.workers[0]->acceptor.emplace(open_acceptor(ctx.workers[0]->ioc, at, !shared_listener));
        at.port(ctx.workers[0]->acceptor->local_endpoint().port());  // port 0: the others share the chosen one
        for (unsigned i = 1; i < threads && !shared_listener; ++i)
            ctx.workers[i]->acceptor.emplace(open_acceptor(ctx.workers[i]->ioc, at, true));
    } catch (const boost::system::system_error& e) {
        if (!shared_listener && e.code() == asio::error::no_protocol_option) {
            // No SO_REUSEPORT here: one listener feeds every worker.
            for (auto& w : ctx.workers) w->acceptor.reset();
            ctx.workers[0]->acceptor.emplace(open_acceptor(ctx.workers[0]->ioc, at, false));
            shared_listener = true;
        } else {
            throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                                     e.code().message());
        }
    }
    for (auto& w : ctx.workers)
        if (w->acceptor) asio::co_spawn(w->ioc, listen(ctx, *w, shared_listener), asio::detached);

    // Optional so it can go before the io_context it was made on (ASan caught it outliving it).
    std::optional<asio::signal_set> signals(std::in_place, ctx.workers[0]->ioc, SIGINT, SIGTERM, SIGHUP);
    asio::co_spawn(ctx.workers[0]->ioc, handle_signals(ctx, *signals), asio::detached);
    if (options.release_memory_after > 0)
        asio::co_spawn(ctx.workers[0]->ioc, release_memory_when_idle(ctx), asio::detached);
    std::signal(SIGPIPE, SIG_IGN);

    const auto& m = *app.current()->model;
    // One write: std::cerr is unbuffered, and a reader of the log (tests read it for the port) must never see
    // half of the line.
    std::ostringstream start;
    start << "loanrisk serve: " << (ctx.tls ? "https" : "http") << "://" << options.host << ':' << at.port()
          << " model " << m.model_version << " (" << options.model_path << "), kernel " << core::best_kernel()
          << ", " << threads << " threads" << (shared_listener ? "" : " (SO_REUSEPORT)") << ", policy approve < "
          << options.rules.approve_max << " <= review < " << options.rules.reject_min << " <= reject, LGD "
          << options.rules.lgd << ", admin " << (options.admin_token.empty() ? "disabled" : "enabled") << '\n';
    std::cerr << start.str() << std::flush;

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i)
        pool.emplace_back([&ctx, i] {
            metrics_registry::set_thread_shard(i);
            ctx.workers[i]->ioc.run();
        });
    metrics_registry::set_thread_shard(0);
    ctx.workers[0]->ioc.run();
    for (auto& t : pool) t.join();
    signals.reset();
    ctx.workers.clear();  // suspended sessions go before the TLS context and counters they reference
    std::cerr << "loanrisk serve: stopped\n";
    return 0;
}

}  // namespace loanrisk::server

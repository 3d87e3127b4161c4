// Open-loop load at a fixed rate, for latency at a given load: request i is due at start + i / rate, and its
// latency runs from that due time to the end of its response. When every connection is busy, a due request
// waits for one and the wait counts (no coordinated omission). wrk's paced mode (a 1 ms pause per
// connection) fires connections in bursts on its millisecond timer ticks, so it measures its own bursts.
//
//   loanrisk_paced_load HOST PORT PATH BODY_FILE RATE SECONDS [CONNECTIONS] [CONTENT_TYPE] [TIMEOUT_MS]
//
// POSTs the file's bytes (GET when BODY_FILE is "-") over keep-alive HTTP/1.1 connections, one request at a
// time each, and prints the achieved rate, the latency percentiles and any failures (non-2xx, I/O errors).
#include <boost/asio.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct run_state {
    std::string request;
    clock_type::time_point start;
    clock_type::duration period;
    std::size_t total = 0, next = 0;
    std::vector<double> latency_us;  // per request, in due order; < 0 when it failed
    std::chrono::milliseconds timeout{10000};  // a response not complete by then is an I/O error
    std::size_t non_2xx = 0, io_errors = 0, timeouts = 0;
};

bool header_is(std::string_view line, std::string_view lowercase_name, std::string_view& value) {
    if (line.size() <= lowercase_name.size() ||
        !std::equal(lowercase_name.begin(), lowercase_name.end(), line.begin(),
                    [](char a, char b) { return a == (b | 0x20); }))
        return false;
    value = line.substr(lowercase_name.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return true;
}

// Status code and total length (headers + Content-Length body) of the response at the start of `buf`, or
// 0 length while the headers are incomplete; `close` when the server will close the connection after it.
std::size_t response_length(std::string_view buf, int& status, bool& close) {
    const std::size_t head_end = buf.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return 0;
    if (buf.size() < 12) return 0;
    std::from_chars(buf.data() + 9, buf.data() + 12, status);
    std::size_t body = 0;
    std::string_view head = buf.substr(0, head_end);
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
        std::string_view line = head.substr(at + 2, head.find("\r\n", at + 2) - (at + 2)), v;
        if (header_is(line, "content-length:", v)) std::from_chars(v.data(), v.data() + v.size(), body);
        else if (header_is(line, "connection:", v)) close = (v.size() == 5 && (v[0] | 0x20) == 'c');
    }
    return head_end + 4 + body;
}

asio::awaitable<void> connection(tcp::endpoint server, run_state& run) {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket socket(ex);
    asio::steady_timer timer(ex), watchdog(ex);
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t watching = none;
    bool timed_out = false;
    std::string buf;
    auto token = asio::as_tuple(asio::use_awaitable);
    bool connected = false;
    while (run.next < run.total) {
        const std::size_t i = run.next++;
        const auto due = run.start + run.period * static_cast<long>(i);
        if (clock_type::now() < due) {
            timer.expires_at(due);
            co_await timer.async_wait(token);
        }
        if (!connected) {
            auto [ec] = co_await socket.async_connect(server, token);
            if (ec) {
                ++run.io_errors;
                run.latency_us[i] = -1;
                socket = tcp::socket(ex);
                continue;
            }
            socket.set_option(tcp::no_delay(true));
            connected = true;
        }
        // A server that never answers must not hang the run: past the timeout the socket is closed, which
        // ends the pending read with an error.
        // (`watching` names the request the timer is for: a timer that fired as its response completed must
        // not close the connection under the next request.)
        timed_out = false;
        watching = i;
        watchdog.expires_after(run.timeout);
        watchdog.async_wait([&, i](boost::system::error_code ec) {
            if (ec || watching != i) return;
            timed_out = true;
            boost::system::error_code ignored;
            socket.close(ignored);
        });
        auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(run.request), token);
        int status = 0;
        bool close = false;
        std::size_t length = 0;
        buf.clear();
        boost::system::error_code rec = wec;
        while (!rec && (length == 0 || buf.size() < length)) {
            char chunk[16384];
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), token);
            rec = ec;
            buf.append(chunk, n);
            if (length == 0) length = response_length(buf, status, close);
        }
        watching = none;
        watchdog.cancel();
        if (rec) {
            ++run.io_errors;
            run.timeouts += timed_out ? 1 : 0;
            run.latency_us[i] = -1;
            socket = tcp::socket(ex);
            connected = false;
            continue;
        }
        run.latency_us[i] = std::chrono::duration<double, std::micro>(clock_type::now() - due).count();
        if (status < 200 || status > 299) ++run.non_2xx;
        if (close) {  // the server said so: the next request goes on a new connection
            socket = tcp::socket(ex);
            connected = false;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s HOST PORT PATH BODY_FILE|- RATE SECONDS [CONNECTIONS] [CONTENT_TYPE] [TIMEOUT_MS]\n",
                     argv[0]);
        return 2;
    }
    const std::string host = argv[1], path = argv[3], body_file = argv[4];
    const double rate = std::stod(argv[5]), seconds = std::stod(argv[6]);
    const int connections = argc > 7 ? std::stoi(argv[7]) : 32;
    const std::string content_type = argc > 8 ? argv[8] : "application/json";
    const long timeout_ms = argc > 9 ? std::stol(argv[9]) : 10000;
    if (rate <= 0 || seconds <= 0 || connections <= 0 || timeout_ms <= 0) {
        std::fprintf(stderr, "RATE, SECONDS, CONNECTIONS and TIMEOUT_MS must be positive\n");
        return 2;
    }

    run_state run;
    run.timeout = std::chrono::milliseconds(timeout_ms);
    if (body_file == "-") {
        run.request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    } else {
        std::ifstream in(body_file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "cannot read %s\n", body_file.c_str());
            return 2;
        }
        const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        run.request = "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: " + content_type +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    run.total = static_cast<std::size_t>(rate * seconds);
    run.latency_us.assign(run.total, 0);
    run.period = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / rate));

    asio::io_context io(1);
    const tcp::endpoint server(asio::ip::make_address(host), static_cast<unsigned short>(std::stoi(argv[2])));
    run.start = clock_type::now() + std::chrono::milliseconds(50);
    for (int c = 0; c < connections; ++c) asio::co_spawn(io, connection(server, run), asio::detached);
    io.run();
    const double elapsed = std::chrono::duration<double>(clock_type::now() - run.start).count();

    std::vector<double> ok;
    ok.reserve(run.total);
    for (double l : run.latency_us)
        if (l >= 0) ok.push_back(l);
    std::sort(ok.begin(), ok.end());
    auto pct = [&](double p) {
        if (ok.empty()) return 0.0;
        return ok[std::min(ok.size() - 1, static_cast<std::size_t>(p / 100 * static_cast<double>(ok.size())))];
    };
    std::printf("requests %zu in %.2f s = %.0f req/s (target %.0f), connections %d\n", run.total, elapsed,
                static_cast<double>(run.total) / elapsed, rate, connections);
    std::printf("latency p50 %.0f us, p90 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n", pct(50), pct(90),
                pct(99), pct(99.9), ok.empty() ? 0.0 : ok.back());
    std::printf("failures: %zu non-2xx, %zu I/O errors (%zu of them timeouts after %lld ms)\n", run.non_2xx,
                run.io_errors, run.timeouts, static_cast<long long>(run.timeout.count()));
    return run.non_2xx + run.io_errors == 0 ? 0 : 1;
}

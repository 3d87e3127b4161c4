// `loanrisk serve`: the HTTP scoring server's settings and entry point (src/server/).
#pragma once

#include <cstddef>
#include <string>

#include "loanrisk/policy.hpp"

namespace loanrisk::server {

struct server_options {
    std::string host = "0.0.0.0";
    unsigned short port = 8080;
    unsigned threads = 0;  // I/O threads; 0 = one per core
    std::string model_path = "models/credit_risk_pd.json";
    core::policy rules;
    std::size_t max_body_bytes = std::size_t{256} << 20;
    std::size_t max_response_bytes = std::size_t{1} << 30;  // a /batch_predict's results, built whole before sending
    std::size_t max_items = 50'000'000;                     // loans per /batch_predict body
    std::size_t max_header_bytes = 16 << 10;
    std::size_t max_connections = 10'000;
    double read_timeout = 30;   // seconds for a request to arrive once started, and per body read
    double min_body_rate = 1024;  // bytes/s a body must average once it has taken longer than read_timeout
    double idle_timeout = 75;   // seconds a keep-alive connection may wait for its next request
    double drain_timeout = 15;  // seconds in-flight requests get on SIGTERM/SIGINT
    // Seconds after the last large request (body or results of 1 MiB or more) after which the memory requests
    // freed goes back to the kernel; until then it is kept for the next ones. 0: glibc's own policy.
    double release_memory_after = 10;
    unsigned score_threads = 0; // threads scoring one large batch; 0 = one per core
    std::string tls_cert, tls_key;  // both set: HTTPS
    std::string admin_token;        // "" disables /admin/reload
    bool access_log = false;
    bool reuse_port = true;  // one listener per I/O thread (SO_REUSEPORT)
};

// Loads the model, listens, serves until SIGTERM/SIGINT, drains and returns the exit code (0).
// Throws std::runtime_error for start-up failures (bad model, port in use, unreadable certificate).
int run(const server_options& options);

}  // namespace loanrisk::server

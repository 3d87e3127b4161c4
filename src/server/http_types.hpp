// The server's own request and response: what the router sees of HTTP, with no Beast or socket in
// sight, so request handling compiles fast and is unit-testable (http_server.cpp converts).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics.hpp"

namespace loanrisk::server {

struct request {
    std::string method;        // "GET", "POST", ...
    std::string target;        // path and query as sent: "/batch_predict?results=false"
    std::string content_type;  // the Content-Type header ("" when absent)
    std::string accept;        // the Accept header
    std::string authorization; // the Authorization header
    std::string if_none_match;  // the If-None-Match header (ETags of the dashboard's files)
    std::string accept_encoding;  // the Accept-Encoding header (gzip for the dashboard's files)
    std::string body;          // empty for streamed bodies (see router.hpp: open_stream)

    std::string_view path() const;   // target without the query
    std::string_view query() const;  // after '?', or ""
};

struct response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
    route_id route = route_id::not_found;                      // metrics label
    bool close = false;  // the connection must close after this response (e.g. an unread body)
    bool omit_body = false;  // HEAD: the headers (Content-Length of the body included) without the body
};

// Decoded value of query parameter `name` ("%2C" -> ","; "+" -> " "), or nullopt-like `found = false`.
bool query_param(std::string_view query, std::string_view name, std::string& value);

}  // namespace loanrisk::server

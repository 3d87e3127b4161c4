// Between Beast's parser and the router: a parsed request header becomes the server's own `request`,
// parser errors become SPEC section 4 responses, and a `response` becomes its status line and headers.
// Shared by the sockets (http_server.cpp) and the in-process request fuzzer (tests/fuzz), so both run
// the same bytes -> response path. Include only where Beast is already paid for.
#pragma once

#include <boost/beast/http.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "http_types.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/server.hpp"
#include "router.hpp"

#ifndef LOANRISK_VERSION
#define LOANRISK_VERSION "unknown"
#endif

namespace loanrisk::server::wire {

namespace http = boost::beast::http;

// A request body held whole (Beast's string_body, made for the decoders): room for the JSON parser's
// padding after it is reserved from Content-Length, so that the body is parsed in place, not copied; and
// arriving bytes are appended, where string_body zero-fills the room first and copies over it (a memset
// of every byte: ~3% of the server's CPU on a /batch_predict of 100,000 loans).
struct padded_body {
    using value_type = std::string;

    class reader {
    public:
        template <bool isRequest, class Fields>
        reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

        void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
            ec = {};
            if (!length) return;  // chunked: grows as it arrives
            if (*length > body_.max_size() - io::json_padding) {  // the parser's body limit is far below
                ec = http::error::body_limit;
                return;
            }
            body_.reserve(static_cast<std::size_t>(*length) + io::json_padding);
        }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
            ec = {};
            const std::size_t before = body_.size();
            for (auto b : boost::beast::buffers_range_ref(buffers)) body_.append(static_cast<const char*>(b.data()), b.size());
            return body_.size() - before;
        }

        void finish(boost::beast::error_code& ec) { ec = {}; }

    private:
        value_type& body_;
    };
};

// A head parser with the configured limits (431 / 413 past them).
template <class Body>
void apply_limits(http::request_parser<Body>& p, const server_options& o) {
    p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(o.max_header_bytes, UINT32_MAX)));
    p.body_limit(o.max_body_bytes);
}

// The connection's read buffer holds a request head, or a chunk header or the trailers of a chunked body,
// plus one read: past this the parser fails (buffer_overflow, a 400), so chunk extensions and trailers,
// which Beast's header limit does not cover, cannot grow without bound.
inline std::size_t read_buffer_limit(const server_options& o) { return o.max_header_bytes + (64 << 10); }

// Framing Beast accepts but this server refuses: a Transfer-Encoding other than exactly "chunked". When
// chunked is not the final coding the body's length cannot be known (RFC 9112 section 6.3) and Beast reads
// the request as bodiless, so its body would be parsed as the next request (request smuggling); other
// codings (gzip, chunked) are not supported.
//
// A body with a Content-Encoding (gzip, br...) is refused too (a request without a body may name one), 415
// with Accept-Encoding: identity (RFC 9110 section 15.5.16): read as plain text, a gzipped CSV would fail with
// a misleading error, and a body labelled br but sent plain would be scored though the client meant
// something else.
template <class Fields>
std::optional<response> framing_failure(const http::request_header<Fields>& h, route_id route) {
    const bool body = h.count(http::field::transfer_encoding) > 0 ||
                      (h.count(http::field::content_length) > 0 && h[http::field::content_length] != "0");
    for (const auto& f : h) {
        if (!body || f.name() != http::field::content_encoding) continue;
        const std::string_view coding = io::trim_blanks(f.value());
        if (coding.empty() || boost::beast::iequals(coding, "identity")) continue;
        response res = error_response(415, "unsupported_media_type",
                                      "unsupported Content-Encoding '" + std::string(coding) +
                                          "': send the body uncompressed",
                                      route);
        res.headers.emplace_back("Accept-Encoding", "identity");
        return res;
    }
    if (h.count(http::field::transfer_encoding) == 0) return std::nullopt;
    const std::string_view te = io::trim_blanks(h[http::field::transfer_encoding]);
    if (h.count(http::field::transfer_encoding) == 1 && boost::beast::iequals(te, "chunked"))
        return std::nullopt;
    return error_response(400, "bad_request",
                          "unsupported Transfer-Encoding '" + std::string(te) + "': only 'chunked' is accepted", route);
}

// The router's view of a request whose headers are in (body still to come).
template <class Fields>
request request_from(const http::request_header<Fields>& h) {
    request req;
    req.method = std::string(h.method_string());
    req.target = std::string(h.target());
    // One pass over the fields, by the name code the parser gave each (h[name] is a search with a
    // case-insensitive compare per step, per name). A repeated field: its first value, as h[name] gives.
    std::string* const wanted[] = {&req.content_type, &req.accept, &req.authorization, &req.if_none_match,
                                   &req.accept_encoding};
    bool seen[std::size(wanted)] = {};
    for (const auto& f : h) {
        std::size_t k = 0;
        switch (f.name()) {
            case http::field::content_type: k = 0; break;
            case http::field::accept: k = 1; break;
            case http::field::authorization: k = 2; break;
            case http::field::if_none_match: k = 3; break;
            case http::field::accept_encoding: k = 4; break;
            default: continue;
        }
        // Accept, If-None-Match and Accept-Encoding are lists: repeated lines are one list (RFC 9110 5.3).
        const bool list = k == 1 || k == 3 || k == 4;
        if (!seen[k]) *wanted[k] = std::string(f.value());
        else if (list) (*wanted[k] += ", ") += f.value();
        seen[k] = true;
    }
    return req;
}

// Errors found by the HTTP parser, mapped to SPEC section 4; nullopt for the ones that are not the
// client's request being bad (end of stream, partial message: the connection just ends).
inline std::optional<response> parse_failure(const boost::beast::error_code& ec, route_id route,
                                             const server_options& o) {
    if (ec == http::error::body_limit)
        return error_response(413, "payload_too_large",
                              "the body exceeds the limit of " + std::to_string(o.max_body_bytes) + " bytes", route);
    if (ec == http::error::buffer_overflow)
        return error_response(400, "bad_request",
                              "a chunk header or the trailers exceed the " + std::to_string(read_buffer_limit(o)) +
                                  "-byte read buffer",
                              route);
    if (ec == http::error::header_limit)
        return error_response(431, "headers_too_large",
                              "the request headers exceed " + std::to_string(o.max_header_bytes) + " bytes", route);
    if (ec.category() == http::make_error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
        ec != http::error::partial_message && ec != http::error::need_buffer && ec != http::error::need_more)
        return error_response(400, "bad_request", "malformed HTTP request: " + ec.message(), route);
    return std::nullopt;
}

// Status line and headers of `res` (Content-Length from its body), ending with the blank line. A 304 or 204
// has no body and no Content-Length: a 304's would have to be the full response's (RFC 9110 section 8.6).
inline std::string response_head(const response& res, bool keep, bool http10) {
    std::string head;
    head.reserve(192);
    head += "HTTP/1.1 ";
    head += std::to_string(res.status);
    head += ' ';
    head += std::string_view(http::obsolete_reason(static_cast<http::status>(res.status)));
    head += "\r\nServer: loanrisk/" LOANRISK_VERSION "\r\nContent-Type: ";
    head += res.content_type;
    head += "\r\n";
    if (res.status != 304 && res.status != 204) {
        head += "Content-Length: ";
        head += std::to_string(res.body.size());
        head += "\r\n";
    }
    for (const auto& [name, value] : res.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    if (!keep) head += "Connection: close\r\n";
    else if (http10) head += "Connection: keep-alive\r\n";
    head += "\r\n";
    return head;
}

// An exception out of the router (out of memory and the like) fails this request with a 500, not the
// server; bad input never gets here (the router returns 4xx values).
inline response internal_error(const request& req, const std::exception& e) {
    std::cerr << "loanrisk serve: " << req.method << ' ' << req.target << ": " << e.what() << '\n';
    return error_response(500, "internal_error", "the server could not complete this request", route_of(req.target));
}

inline response handle_guarded(const request& req, app_state& app) {
    try {
        return handle_request(req, app);
    } catch (const std::exception& e) {
        return internal_error(req, e);
    }
}

inline std::optional<response> refuse_guarded(const request& req, app_state& app) {
    try {
        return refuse_before_body(req, app);
    } catch (const std::exception& e) {
        return internal_error(req, e);
    }
}

inline response finish_guarded(const request& req, body_sink& sink) {
    try {
        return sink.finish();
    } catch (const std::exception& e) {
        return internal_error(req, e);
    }
}

}  // namespace loanrisk::server::wire

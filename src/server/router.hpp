// Request handling: a plain function from request to response (no sockets, no Beast), plus a streaming
// variant for /batch_predict bodies in NDJSON or CSV, which are decoded and scored chunk by chunk as
// they arrive, in bounded memory.
#pragma once

#include <memory>
#include <string_view>

#include "app_state.hpp"
#include "http_types.hpp"

namespace loanrisk::server {

response handle_request(const request& req, app_state& app);

// A request body consumed chunk by chunk. feed() returns false once the body is known to be bad (the
// caller stops reading; finish() then returns the error response).
class body_sink {
public:
    virtual ~body_sink() = default;
    virtual bool feed(std::string_view chunk) = 0;
    virtual response finish() = 0;
};

// For a request whose headers are in (req.body empty): a sink when the route streams this body
// (POST /batch_predict with an NDJSON or CSV body), or nullptr when handle_request wants the whole body.
std::unique_ptr<body_sink> open_stream(const request& head, app_state& app);

// For a request whose headers are in: the error its body cannot change (unknown route 404, wrong method 405,
// a Content-Type the route does not take 415, bad /batch_predict query options 422, no model 503), answered
// before the body is read (and before a 100 Continue); nullopt when the body decides.
std::optional<response> refuse_before_body(const request& head, app_state& app);

// The route a path belongs to (metrics label for errors raised before routing, e.g. 413).
route_id route_of(std::string_view path);

// {"error": code, "detail": detail} with the given status.
response error_response(int status, std::string_view code, std::string_view detail, route_id route);

}  // namespace loanrisk::server

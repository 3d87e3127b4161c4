// Routes of SPEC section 3 and the errors of section 4: request bytes -> io decoders -> core scorer ->
// io writers -> response bytes. Knows nothing of sockets; http_server.cpp moves the bytes.
#include "router.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <optional>
#include <string>
#include <variant>

#include "documents.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/explain.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/response_writer.hpp"
#include "loanrisk/scorer.hpp"

namespace loanrisk::server {

// ---- request helpers ----------------------------------------------------------------------------------

std::string_view request::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

std::string_view request::query() const {
    std::string_view t = target;
    auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string url_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() + 0 && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

bool query_param(std::string_view query, std::string_view name, std::string& value) {
    bool found = false;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        auto eq = pair.find('=');
        if (url_decode(pair.substr(0, eq)) != name) continue;
        value = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
        found = true;  // the last occurrence wins
    }
    return found;
}

namespace {

struct route_entry {
    std::string_view path;
    route_id id;
    std::string_view method;
};

constexpr route_entry routes[] = {
    {"/health", route_id::health, "GET"},          {"/ready", route_id::ready, "GET"},
    {"/predict", route_id::predict, "POST"},       {"/batch_predict", route_id::batch_predict, "POST"},
    {"/model", route_id::model, "GET"},            {"/metrics", route_id::metrics, "GET"},
    {"/openapi.json", route_id::openapi, "GET"},   {"/stats", route_id::stats, "GET"},
    {"/", route_id::dashboard, "GET"},             {"/admin/reload", route_id::admin_reload, "POST"},
    // The API reference, under both names the reference FastAPI service gives its documentation pages.
    {"/docs", route_id::docs, "GET"},              {"/redoc", route_id::docs, "GET"},
};

const route_entry* find_route(std::string_view path) {
    // A trailing slash is tolerated ("/health/"), as FastAPI redirects it.
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    for (const auto& r : routes)
        if (r.path == path) return &r;
    return nullptr;
}

// ASCII only, as HTTP's case-insensitive names are (std::tolower is a locale call per byte).
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

// "Application/JSON; charset=utf-8" -> "Application/JSON": a view, compared with is_media (no copy on
// /predict's path).
std::string_view media_type(std::string_view header) {
    auto semi = header.find(';');
    return io::trim_blanks(header.substr(0, semi));
}

// Media types are case-insensitive: `t` against a lower-case name.
bool is_media(std::string_view t, std::string_view lower_name) {
    return std::equal(t.begin(), t.end(), lower_name.begin(), lower_name.end(), [](char a, char b) {
        return ascii_lower(a) == b;
    });
}

enum class format { json, ndjson, csv, unsupported };

format body_format(std::string_view content_type) {
    const std::string_view t = media_type(content_type);
    auto is = [t](std::string_view name) { return is_media(t, name); };
    if (t.empty() || is("application/json") || is("text/json")) return format::json;
    if (is("application/x-ndjson") || is("application/ndjson") || is("application/jsonl") ||
        is("application/x-jsonlines") || is("application/jsonlines"))
        return format::ndjson;
    if (is("text/csv") || is("application/csv")) return format::csv;
    return format::unsupported;
}

// A media range's weight: its q parameter (RFC 9110 12.4.2), 1 when it has none; nullopt when the q is
// not a number from 0 to 1 (the range is then ignored, not taken as a first choice).
std::optional<double> accept_weight(std::string_view range) {
    for (std::size_t semi = range.find(';'); semi != std::string_view::npos; semi = range.find(';', semi + 1)) {
        std::string_view p = io::trim_blanks(range.substr(semi + 1, range.find(';', semi + 1) - semi - 1));
        const std::size_t equals = p.find('=');
        const std::string_view name = io::trim_blanks(p.substr(0, equals));
        if (name.size() != 1 || ascii_lower(name[0]) != 'q') continue;  // another parameter (qs=1)
        if (equals != 1) return std::nullopt;                           // "q = 0": not the grammar
        p.remove_prefix(2);
        double q = 1;
        const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), q);
        if (ec != std::errc() || end != p.data() + p.size() || !(q >= 0 && q <= 1)) return std::nullopt;
        return q;
    }
    return 1.0;
}

// The format Accept prefers among those we produce (RFC 9110 12.5.1): each format weighs what the most
// specific range matching it gives (its type, then type/x, then x/x, x a star), 0 when none matches; the
// heaviest wins, of equal weights the one whose range comes first (then JSON, CSV, NDJSON). JSON when
// every weight is 0.
format result_format(std::string_view accept) {
    struct candidate {
        format f;
        std::string_view names[2];  // lower-case media types
        std::string_view any_subtype;
        double weight = 0;
        int specificity = 0;  // of the range that set the weight: 3 its type, 2 type/x, 1 x/x, 0 none
        std::size_t position = 0;
    };
    candidate candidates[] = {{format::json, {"application/json", ""}, "application/*"},
                              {format::csv, {"text/csv", ""}, "text/*"},
                              {format::ndjson, {"application/x-ndjson", "application/ndjson"}, "application/*"}};
    for (std::size_t position = 0; !accept.empty(); ++position) {
        auto comma = accept.find(',');
        const std::string_view range = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
        const std::string_view t = media_type(range);
        const std::optional<double> weight = accept_weight(range);
        if (t.empty() || !weight) continue;
        for (candidate& c : candidates) {
            const int specificity = is_media(t, c.names[0]) || (!c.names[1].empty() && is_media(t, c.names[1])) ? 3
                                    : is_media(t, c.any_subtype)                                                   ? 2
                                    : is_media(t, "*/*")                                                           ? 1
                                                                                                                   : 0;
            // Two names of one format (NDJSON's) at the same specificity: the better of their weights.
            if (specificity > c.specificity || (specificity == c.specificity && specificity > 0 && *weight > c.weight))
                c.weight = *weight, c.specificity = specificity, c.position = position;
        }
    }
    const candidate* best = nullptr;
    for (const candidate& c : candidates)
        if (c.weight > 0 && (!best || c.weight > best->weight || (c.weight == best->weight && c.position < best->position)))
            best = &c;
    return best ? best->f : format::json;
}

response json_response(int status, std::string body, route_id r) {
    response res;
    res.status = status;
    res.body = std::move(body);
    res.route = r;
    return res;
}

response error_with(int status, const error& e, route_id r) {
    std::string body = "{\"error\":";
    io::append_string(body, e.code.empty() ? std::string_view("invalid_request") : std::string_view(e.code));
    if (!e.where.empty()) {
        body += ",\"path\":";
        io::append_string(body, e.where);
    }
    body += ",\"detail\":";
    io::append_string(body, e.what);
    if (e.code == "malformed_json" || e.code == "malformed_csv") {
        body += ",\"offset\":";
        io::append_integer(body, static_cast<std::int64_t>(e.offset));
    }
    body += '}';
    return json_response(status, std::move(body), r);
}

// A decoder's error value -> SPEC section 4's status: malformed input 400, limits 413, the rest 422.
response decode_error(const error& e, route_id r) {
    int status = 422;
    if (e.code == "malformed_json" || e.code == "malformed_csv") status = 400;
    else if (e.code == "too_many_items" || e.code == "line_too_long" || e.code == "response_too_large") status = 413;
    return error_with(status, e, r);
}

response unsupported_type(std::string_view content_type, std::string_view accepted, route_id r) {
    return error_response(415, "unsupported_media_type",
                          "Content-Type '" + std::string(content_type) + "' is not accepted here; send " +
                              std::string(accepted),
                          r);
}

response not_ready(route_id r) {
    response res = error_response(503, "not_ready", "no model is loaded", r);
    res.headers.emplace_back("Retry-After", "1");
    return res;
}

// ---- /health, /ready ----------------------------------------------------------------------------------

response health(app_state& app) {
    const model_state* s = app.serving();
    std::string body = "{\"status\":\"ok\",\"api_version\":";
    io::append_string(body, api_version);
    body += ",\"model_version\":";
    if (s) io::append_string(body, s->model->model_version);
    else body += "null";
    body += '}';
    return json_response(200, std::move(body), route_id::health);
}

response ready(app_state& app) {
    const model_state* s = app.serving();
    if (!s || app.draining()) {  // (not app.ready(): a first install between the two reads would leave s null)
        response res = json_response(503, app.draining() ? R"({"status":"draining"})" : R"({"status":"loading"})",
                                     route_id::ready);
        res.headers.emplace_back("Retry-After", "1");
        return res;
    }
    std::string body = "{\"status\":\"ready\",\"model_version\":";
    io::append_string(body, s->model->model_version);
    body += '}';
    return json_response(200, std::move(body), route_id::ready);
}

// ---- /predict -----------------------------------------------------------------------------------------

// Room for a usual /predict response (~470 bytes; an application id over ~130 bytes takes more), within
// glibc's small requests (up to 1,000 bytes): a larger request consolidates the allocator's fast bins
// first (see append_score_and_reasons).
constexpr std::size_t predict_body_room = 960;

// One loan: decode, kernel, policy and explanation on a per-thread batch reshaped only when the model
// changes, so the hot path allocates nothing but the response.
// /predict's checks of its head alone: a JSON Content-Type, a model (into `s`). The error, or nullopt.
std::optional<response> check_predict_head(const request& req, app_state& app, const model_state*& s) {
    if (body_format(req.content_type) != format::json)
        return unsupported_type(req.content_type, "application/json", route_id::predict);
    s = app.serving();
    if (!s) return not_ready(route_id::predict);
    return std::nullopt;
}

response predict(const request& req, app_state& app) {
    const model_state* s = nullptr;
    if (auto bad = check_predict_head(req, app, s)) return std::move(*bad);
    const core::compiled_model& m = s->compiled;

    struct scratch {
        std::uint64_t generation = ~std::uint64_t{0};
        core::loan_batch batch;
        core::scored_batch scored;
        core::kernel_binding kernel;  // to the batch's columns, which never move: room for the one loan is reserved
    };
    thread_local scratch t;
    if (t.generation != s->generation) {
        t.batch.reset(m, true);
        t.batch.reserve(1);
        t.scored.resize(1);
        t.kernel.bind(m, t.batch);
        t.generation = s->generation;
    } else {
        t.batch.clear();
    }
    if (auto st = io::decode_json_single(req.body, m, t.batch, req.body.capacity()); !st) return decode_error(st.err(), route_id::predict);

    core::compute_pd(t.kernel, 0, 1, t.scored.pd.data());
    core::policy_args a = s->policy_args;
    a.exposure = t.batch.exposure.data();
    a.age = t.batch.age.data();
    core::block_totals totals;
    core::apply_policy(a, t.scored.pd.data(), 1, reinterpret_cast<std::uint8_t*>(t.scored.decisions.data()),
                       t.scored.expected_loss.data(), totals);
    core::explanation e = core::explain(m, t.batch, 0);
    app.metrics().record_one(*s, totals, t.batch, t.scored.expected_loss.data());

    response res = json_response(200, {}, route_id::predict);
    res.body.reserve(predict_body_room);
    io::append_predict_response_json(res.body, m, t.batch, t.scored, 0, e, app.options().rules);
    return res;
}

// ---- /batch_predict -----------------------------------------------------------------------------------

struct batch_options {
    bool results = true;
    bool explain = false;
    core::summary_options summary;
    format out = format::json;
};

std::optional<error> parse_bool(std::string_view query, std::string_view name, bool& value) {
    std::string v;
    if (!query_param(query, name, v)) return std::nullopt;
    std::string l = lower(v);
    if (l == "true" || l == "1" || l == "yes" || l.empty()) value = true;
    else if (l == "false" || l == "0" || l == "no") value = false;
    else return error{"expected true or false, got '" + v + "'", "query." + std::string(name), 0, "invalid_request"};
    return std::nullopt;
}

std::optional<error> parse_batch_options(const request& req, const core::compiled_model& m, batch_options& o) {
    std::string_view q = req.query();
    if (auto e = parse_bool(q, "results", o.results)) return e;
    if (auto e = parse_bool(q, "explain", o.explain)) return e;
    std::string groups;
    if (query_param(q, "group_by", groups)) {
        std::vector<std::string> names;
        for (std::string_view rest = groups; !rest.empty();) {
            const auto comma = rest.find(',');
            names.emplace_back(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
        auto checked = core::checked_group_by(m, names);
        if (!checked) return error{checked.err().what, "query.group_by", 0, "invalid_request"};
        o.summary.group_by = std::move(*checked);
    }
    o.out = result_format(req.accept);
    return std::nullopt;
}

// Scores a growing batch chunk by chunk and writes the response in the requested format. JSON: the
// reference's {"results", "count", "assumptions", "model_version", "summary"}. NDJSON: one result per
// line, then one last line {"summary", "count", "assumptions", "model_version"}. CSV: results only;
// count and model version in response headers (the summary is one ?results=false request away).
class batch_job {
public:
    batch_job(std::shared_ptr<const model_state> s, batch_options o, app_state& app)
        : state_(std::move(s)), options_(std::move(o)), app_(app) {
        batch_.reset(state_->compiled, options_.explain);
        acc_.reset(state_->compiled, options_.summary);
        scored_so_far_ = metrics_registry::live_accumulator(*state_);
        score_.rules = app.options().rules;
        score_.threads = app.options().score_threads;
        if (!options_.results) return;
        if (options_.out == format::json) body_ += "{\"results\":[";
        else if (options_.out == format::csv) io::append_results_csv_header(body_, options_.explain);
    }

    const core::compiled_model& model() const { return state_->compiled; }
    core::loan_batch& batch() { return batch_; }

    // The results written past --max-response-bytes: the request fails with this (a response is built
    // whole before it is sent, and results can be many times the size of the body that asked for them).
    const std::optional<error>& too_large() const { return too_large_; }

    // Scores what the batch holds, appends its results and empties it. The results are written a slice at a
    // time, the response limit checked after each: a whole JSON body is one flush, and its results can be
    // a hundred times its size (`[{},{},...]` with ?explain=true).
    void flush() {
        if (!batch_.size || too_large_) return;
        const core::compiled_model& m = state_->compiled;
        core::score_batch(m, batch_, score_, scored_, acc_);
        scored_so_far_.add_groups(batch_, 0, batch_.size, scored_.expected_loss.data());
        for (std::size_t begin = 0; options_.results && begin < batch_.size; begin += write_slice_loans) {
            const std::size_t end = std::min(batch_.size, begin + write_slice_loans);
            if (options_.out == format::json) {
                if (count_ || begin) body_ += ',';
                io::append_results_json(body_, m, batch_, scored_, begin, end, options_.explain);
            } else if (options_.out == format::ndjson) {
                io::append_results_ndjson(body_, m, batch_, scored_, begin, end, options_.explain);
            } else {
                io::append_results_csv(body_, m, batch_, scored_, begin, end, options_.explain);
            }
            if (body_.size() > app_.options().max_response_bytes) {
                too_large_ = error{"the results of " + std::to_string(count_ + end) +
                                       " loans exceed the response limit of " +
                                       std::to_string(app_.options().max_response_bytes) +
                                       " bytes (--max-response-bytes): ask ?results=false for the summary alone, "
                                       "split the batch, or score the file with loanrisk score",
                                   "", 0, "response_too_large"};
                body_ = std::string();  // its memory goes back now
                return;
            }
        }
        count_ += batch_.size;
        batch_.clear();
    }

    response finish() {
        flush();
        if (too_large_) return decode_error(*too_large_, route_id::batch_predict);  // no loans counted
        scored_so_far_.merge_totals(acc_);
        app_.metrics().record_portfolio(*state_, scored_so_far_);
        response res = json_response(200, {}, route_id::batch_predict);
        const core::compiled_model& m = state_->compiled;
        core::portfolio_summary summary = core::summarize(m, acc_, options_.summary);
        auto tail = [&](std::string& out) {
            out += "\"count\":";
            io::append_integer(out, static_cast<std::int64_t>(count_));
            out += ",\"assumptions\":";
            io::append_assumptions(out, score_.rules);
            out += ",\"model_version\":";
            io::append_string(out, m.source->model_version);
            out += ",\"summary\":";
            io::append_summary_json(out, summary);
            out += '}';
        };
        if (!options_.results || options_.out == format::json) {
            body_ += options_.results ? "]," : "{";
            tail(body_);
        } else if (options_.out == format::ndjson) {
            res.content_type = "application/x-ndjson";
            body_ += '{';
            tail(body_);
            body_ += '\n';
        } else {
            res.content_type = "text/csv; charset=utf-8";
            res.headers.emplace_back("X-Loanrisk-Count", std::to_string(count_));
            res.headers.emplace_back("X-Loanrisk-Model-Version", m.source->model_version);
        }
        res.body = std::move(body_);
        return res;
    }

private:
    std::shared_ptr<const model_state> state_;
    batch_options options_;
    app_state& app_;
    core::score_options score_;
    core::loan_batch batch_;
    core::scored_batch scored_;
    core::portfolio_accumulator acc_;
    // For the metrics, in the live portfolio's shape: each chunk's loans grouped as it is scored, the
    // totals taken from acc_ when the request succeeds.
    core::portfolio_accumulator scored_so_far_;
    std::string body_;
    std::size_t count_ = 0;
    std::optional<error> too_large_;
    static constexpr std::size_t write_slice_loans = 1 << 16;
};

// Large bodies are decoded on as many cores as scoring uses (--score-threads), up to --max-items loans.
io::decode_limits limits_for(const app_state& app) {
    io::decode_limits limits;
    limits.threads = app.options().score_threads;
    limits.max_items = app.options().max_items;
    return limits;
}

// /batch_predict's checks of its head alone: a Content-Type it takes, a model (into `s`), valid query options
// (into `o`). The error, or nullopt.
std::optional<response> check_batch_head(const request& req, app_state& app, std::shared_ptr<const model_state>& s,
                                         batch_options& o) {
    if (body_format(req.content_type) == format::unsupported)
        return unsupported_type(req.content_type, "application/json, application/x-ndjson or text/csv",
                                route_id::batch_predict);
    s = app.current();
    if (!s) return not_ready(route_id::batch_predict);
    if (auto e = parse_batch_options(req, s->compiled, o)) return error_with(422, *e, route_id::batch_predict);
    return std::nullopt;
}

response batch_predict(const request& req, app_state& app) {
    std::shared_ptr<const model_state> s;
    batch_options o;
    if (auto bad = check_batch_head(req, app, s, o)) return std::move(*bad);
    const format in = body_format(req.content_type);
    batch_job job(s, std::move(o), app);
    status st = ok();
    if (in == format::json) {
        st = io::decode_json_batch(req.body, job.model(), job.batch(), limits_for(app), req.body.capacity());
    } else if (in == format::ndjson) {
        io::ndjson_decoder d(job.model(), limits_for(app));
        st = d.feed(req.body, job.batch());
        if (st) st = d.finish(job.batch());
    } else {
        io::csv_decoder d(job.model(), limits_for(app));
        st = d.feed(req.body, job.batch());
        if (st) st = d.finish(job.batch());
    }
    if (!st) return decode_error(st.err(), route_id::batch_predict);
    return job.finish();  // the response limit's error, if the results went past it
}

// NDJSON / CSV bodies scored as they stream: decoded per chunk, scored every stream_flush_loans loans.
constexpr std::size_t stream_flush_loans = 1 << 16;

class batch_stream final : public body_sink {
public:
    batch_stream(std::shared_ptr<const model_state> s, batch_options o, format in, app_state& app)
        : job_(s, std::move(o), app) {
        if (in == format::ndjson) decoder_.emplace<io::ndjson_decoder>(job_.model(), limits_for(app));
        else decoder_.emplace<io::csv_decoder>(job_.model(), limits_for(app));
    }

    bool feed(std::string_view chunk) override {
        if (failed_) return false;
        status st = std::visit([&](auto& d) -> status {
            if constexpr (std::is_same_v<std::decay_t<decltype(d)>, std::monostate>) return ok();
            else return d.feed(chunk, job_.batch());
        }, decoder_);
        if (!st) {
            failed_ = st.err();
            return false;
        }
        if (job_.batch().size >= stream_flush_loans) job_.flush();
        if (job_.too_large()) {
            failed_ = *job_.too_large();
            return false;
        }
        return true;
    }

    response finish() override {
        if (!failed_) {
            status st = std::visit([&](auto& d) -> status {
                if constexpr (std::is_same_v<std::decay_t<decltype(d)>, std::monostate>) return ok();
                else return d.finish(job_.batch());
            }, decoder_);
            if (!st) failed_ = st.err();
        }
        if (failed_) return decode_error(*failed_, route_id::batch_predict);
        return job_.finish();
    }

private:
    batch_job job_;
    std::variant<std::monostate, io::ndjson_decoder, io::csv_decoder> decoder_;
    std::optional<error> failed_;
};

// ---- /admin/reload ------------------------------------------------------------------------------------

// Compares in time independent of where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < b.size(); ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ static_cast<unsigned char>(b[i])));
    }
    return diff == 0;
}

response admin_reload(const request& req, app_state& app) {
    const std::string& token = app.options().admin_token;
    if (token.empty()) {  // no token is the right one: 401 as SPEC section 4 has it, with the reason
        response res = error_response(401, "admin_disabled", "set LOANRISK_ADMIN_TOKEN to enable /admin/reload",
                                      route_id::admin_reload);
        res.headers.emplace_back("WWW-Authenticate", "Bearer");
        return res;
    }
    std::string_view auth = req.authorization;
    constexpr std::string_view bearer = "Bearer ";
    bool authorized = auth.size() > bearer.size() && lower(auth.substr(0, bearer.size())) == "bearer " &&
                      constant_time_equal(auth.substr(bearer.size()), token);
    if (!authorized) {
        response res = error_response(401, "unauthorized", "a valid 'Authorization: Bearer <token>' is required",
                                      route_id::admin_reload);
        res.headers.emplace_back("WWW-Authenticate", "Bearer");
        return res;
    }
    std::string path = app.options().model_path;
    if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
        if (body_format(req.content_type) != format::json)
            return unsupported_type(req.content_type, "application/json", route_id::admin_reload);
        simdjson::ondemand::parser parser;
        simdjson::padded_string text(req.body);
        simdjson::ondemand::document doc;
        simdjson::ondemand::object obj;
        if (parser.iterate(text).get(doc) || doc.get_object().get(obj))
            return error_with(400, {"expected a JSON object {\"model\": \"path\"}", "", 0, "malformed_json"},
                              route_id::admin_reload);
        std::string_view given;
        auto field = obj.find_field_unordered("model");
        if (field.error() == simdjson::NO_SUCH_FIELD) {
            // {} reloads the start-up file
        } else if (field.get_string().get(given) || given.empty()) {
            return error_with(422, {"expected a non-empty string", "model", 0, "invalid_field"}, route_id::admin_reload);
        } else {
            path = std::string(given);
        }
    }
    auto before = app.current();
    if (auto st = app.reload(path); !st) {
        error e = st.err();
        // Loading errors name the file already; compiling ones name only the place in it.
        e.what = e.message().starts_with(path) ? e.message() : path + ": " + e.message();
        e.where.clear();
        e.code = "invalid_model";
        return error_with(422, e, route_id::admin_reload);
    }
    auto now = app.current();
    std::string body = "{\"status\":\"reloaded\",\"model_version\":";
    io::append_string(body, now->model->model_version);
    body += ",\"previous_model_version\":";
    if (before) io::append_string(body, before->model->model_version);
    else body += "null";
    body += ",\"path\":";
    io::append_string(body, path);
    body += '}';
    return json_response(200, std::move(body), route_id::admin_reload);
}

// ---- / and /static/<name>: the dashboard's embedded files -----------------------------------------------

constexpr std::string_view static_prefix = "/static/";

bool is_static_path(std::string_view path) { return path.substr(0, static_prefix.size()) == static_prefix; }

// True when the header lists `tag` or "*" (weak validators compare equal too: RFC 9110 13.1.2).
bool etag_matches(std::string_view header, std::string_view tag) {
    while (!header.empty()) {
        auto comma = header.find(',');
        std::string_view t = io::trim_blanks(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        if (t.substr(0, 2) == "W/") t.remove_prefix(2);
        if (t == "*" || t == tag) return true;
    }
    return false;
}

// Accept-Encoding names gzip (or *) without q=0.
bool accepts_gzip(std::string_view header) {
    while (!header.empty()) {
        auto comma = header.find(',');
        std::string item = lower(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        const std::string_view coding = media_type(item);
        if (coding != "gzip" && coding != "x-gzip" && coding != "*") continue;
        auto q = item.find("q=");
        if (q == std::string::npos) return true;
        std::string_view v = std::string_view(item).substr(q + 2);
        return v.find_first_not_of("0. ") != std::string_view::npos;
    }
    return false;
}

// An embedded file by name from a fixed table (a path never reaches the file system), revalidated by its
// content-hash ETag (304), gzipped where the client accepts it. The gzipped bytes are another representation,
// so their strong ETag differs ("...-gzip": RFC 9110 section 8.8.3); either tag revalidates, since both name
// the same content.
response static_file(const request& req, std::string_view name, route_id route = route_id::dashboard) {
    const static_asset* a = find_asset(name);
    if (!a) return error_response(404, "not_found", "no route " + std::string(req.path()), route_id::not_found);
    if (req.method != "GET") {
        response res = error_response(405, "method_not_allowed",
                                      std::string(req.path()) + " accepts GET (and HEAD) only", route);
        res.headers.emplace_back("Allow", "GET, HEAD");
        return res;
    }
    response res;
    res.route = route;
    res.content_type = std::string(a->content_type);
    const bool gzip = !a->gzip.empty() && accepts_gzip(req.accept_encoding);
    std::string gzip_etag(a->etag);
    gzip_etag.insert(gzip_etag.size() - 1, "-gzip");  // inside the closing quote
    const bool held_plain = etag_matches(req.if_none_match, a->etag);
    const bool held_gzip = !a->gzip.empty() && etag_matches(req.if_none_match, gzip_etag);
    // A 304 names the representation the client holds (RFC 9111 section 4.3.4); a 200, the one sent.
    const bool tag_gzip = held_plain || held_gzip ? !held_plain : gzip;
    res.headers.emplace_back("ETag", tag_gzip ? gzip_etag : std::string(a->etag));
    res.headers.emplace_back("Cache-Control", "no-cache");  // revalidate each time: a new binary, a new page
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    if (a->content_type.starts_with("text/html")) {
        // The pages load scripts, styles and data from this server alone and are framed by no site (the
        // docs page has a field for the admin token).
        res.headers.emplace_back("Content-Security-Policy",
                                 "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                 "form-action 'self'; frame-ancestors 'none'");
        res.headers.emplace_back("X-Frame-Options", "DENY");
    }
    if (!a->gzip.empty()) res.headers.emplace_back("Vary", "Accept-Encoding");
    if (held_plain || held_gzip) {
        res.status = 304;
        return res;
    }
    if (gzip) {
        res.headers.emplace_back("Content-Encoding", "gzip");
        res.body = std::string(a->gzip);
    } else {
        res.body = std::string(a->body);
    }
    return res;
}

}  // namespace

// ---- dispatch -----------------------------------------------------------------------------------------

route_id route_of(std::string_view path) {
    if (is_static_path(path)) return route_id::dashboard;
    const route_entry* r = find_route(path.substr(0, path.find('?')));
    return r ? r->id : route_id::not_found;
}

response error_response(int status, std::string_view code, std::string_view detail, route_id route) {
    std::string body = "{\"error\":";
    io::append_string(body, code);
    body += ",\"detail\":";
    io::append_string(body, detail);
    body += '}';
    return json_response(status, std::move(body), route);
}

response handle_request(const request& req, app_state& app) {
    if (req.method == "HEAD") {  // a GET without its body: same status and headers (RFC 9110 section 9.3.2)
        request get = req;
        get.method = "GET";
        response res = handle_request(get, app);
        res.omit_body = true;
        return res;
    }
    if (is_static_path(req.path())) return static_file(req, req.path().substr(static_prefix.size()));
    const route_entry* r = find_route(req.path());
    if (!r) return error_response(404, "not_found", "no route " + std::string(req.path()), route_id::not_found);
    if (req.method != r->method) {
        const std::string allow = r->method == "GET" ? "GET, HEAD" : std::string(r->method);
        response res = error_response(405, "method_not_allowed", std::string(r->path) + " accepts " + allow + " only",
                                      r->id);
        res.headers.emplace_back("Allow", allow);
        return res;
    }
    switch (r->id) {
    case route_id::health: return health(app);
    case route_id::ready: return ready(app);
    case route_id::predict: return predict(req, app);
    case route_id::batch_predict: return batch_predict(req, app);
    case route_id::admin_reload: return admin_reload(req, app);
    case route_id::dashboard: return static_file(req, "index.html");  // needs no model: the page says so
    case route_id::docs: return static_file(req, "docs.html", route_id::docs);  // says so too
    default: break;
    }
    auto s = app.current();
    if (!s) return not_ready(r->id);
    response res = json_response(200, {}, r->id);
    switch (r->id) {
    case route_id::model: res.body = model_card_json(*s, app.options().rules); break;
    case route_id::openapi: res.body = openapi_json(*s, app.options().rules); break;
    case route_id::stats:
        res.body = app.metrics().stats_json(*s);
        res.headers.emplace_back("Cache-Control", "no-store");
        break;
    case route_id::metrics:
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        res.body = app.metrics().prometheus(*s, app.ready());
        break;
    default: break;
    }
    return res;
}

std::optional<response> refuse_before_body(const request& head, app_state& app) {
    if (head.method == "HEAD" || is_static_path(head.path())) return std::nullopt;  // no body to wait for
    const route_entry* r = find_route(head.path());
    if (!r || head.method != r->method) return handle_request(head, app);  // 404, 405: the body changes nothing
    if (r->id == route_id::predict) {
        const model_state* s = nullptr;
        return check_predict_head(head, app, s);
    }
    if (r->id == route_id::batch_predict) {
        std::shared_ptr<const model_state> s;
        batch_options o;
        return check_batch_head(head, app, s, o);
    }
    return std::nullopt;
}

std::unique_ptr<body_sink> open_stream(const request& head, app_state& app) {
    const route_entry* r = find_route(head.path());
    if (!r || r->id != route_id::batch_predict || head.method != r->method) return nullptr;
    const format in = body_format(head.content_type);
    if (in != format::ndjson && in != format::csv) return nullptr;
    std::shared_ptr<const model_state> s;
    batch_options o;
    if (check_batch_head(head, app, s, o)) return nullptr;  // handle_request reports it
    return std::make_unique<batch_stream>(std::move(s), std::move(o), in, app);
}

}  // namespace loanrisk::server

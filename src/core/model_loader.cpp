// Reads a model artifact (JSON, simdjson DOM) into core::model and validates every part of it, so that
// a bad file is refused at start-up or reload with one line naming the JSON path, never half-served.
#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "loanrisk/model.hpp"

namespace loanrisk::core {

std::string default_age_field(const model& m) {
    const std::size_t at = m.find("person_age");
    return at != model::npos && m.features[at].type == feature_type::numeric ? "person_age" : "";
}

std::size_t model::find(std::string_view name) const {
    for (std::size_t i = 0; i < features.size(); ++i)
        if (features[i].name == name) return i;
    return npos;
}

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Validation failures unwind to parse_model(), which turns them into an error value; they never
// leave this file.
struct invalid_model {
    std::string where;
    std::string what;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw invalid_model{where, what}; }

std::string at(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string at(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

simdjson::dom::object as_object(element e, const std::string& path) {
    simdjson::dom::object o;
    if (e.get_object().get(o)) fail(path, "expected an object");
    return o;
}

element member(simdjson::dom::object o, const std::string& path, std::string_view key) {
    element e;
    if (o.at_key(key).get(e)) fail(at(path, key), "missing");
    return e;
}

bool has(simdjson::dom::object o, std::string_view key) {
    element e;
    return !o.at_key(key).get(e);
}

double finite_number(element e, const std::string& path) {
    double d = 0;
    if (e.get_double().get(d)) fail(path, "expected a number");
    if (!std::isfinite(d)) fail(path, "must be finite");
    return d;
}

std::string text(element e, const std::string& path) {
    std::string_view s;
    if (e.get_string().get(s)) fail(path, "expected a string");
    return std::string(s);
}

std::string nonempty_text(element e, const std::string& path) {
    std::string s = text(e, path);
    if (s.empty()) fail(path, "must not be empty");
    return s;
}

// A feature's name as requests carry it. CSV headers are read with surrounding spaces and tabs trimmed,
// so a name that has them could never be matched (and " a" would be read as a's column).
std::string field_name(element e, const std::string& path) {
    std::string s = nonempty_text(e, path);
    if (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t')
        fail(path, "must not start or end with a space or tab (CSV header names are trimmed)");
    return s;
}

simdjson::dom::array as_array(element e, const std::string& path) {
    simdjson::dom::array a;
    if (e.get_array().get(a)) fail(path, "expected an array");
    return a;
}

std::vector<double> number_array(element e, const std::string& path) {
    std::vector<double> out;
    std::size_t i = 0;
    for (element x : as_array(e, path)) out.push_back(finite_number(x, at(path, i++)));
    return out;
}

void require_increasing(const std::vector<double>& v, const std::string& path) {
    for (std::size_t i = 1; i < v.size(); ++i)
        if (!(v[i] > v[i - 1])) fail(at(path, i), "must be greater than the previous value (strictly increasing)");
}

// A bound that may be null (unbounded on that side).
double bound(simdjson::dom::object o, const std::string& path, std::string_view key, double unbounded) {
    element e;
    if (o.at_key(key).get(e) || e.is_null()) return unbounded;
    return finite_number(e, at(path, key));
}

value_range range(element e, const std::string& path) {
    auto o = as_object(e, path);
    value_range r{bound(o, path, "min", -INFINITY), bound(o, path, "max", INFINITY)};
    if (r.min > r.max) fail(path, "min must not exceed max");
    return r;
}

void read_numeric(feature& f, simdjson::dom::object o, const std::string& path) {
    f.domain = range(member(o, path, "domain"), at(path, "domain"));
    if (has(o, "training_range")) {
        f.training_range = range(member(o, path, "training_range"), at(path, "training_range"));
        // Values seen in training passed the domain; a range outside it is a corrupt artifact. (A null
        // bound, as written for a model without one, is no claim.)
        const auto outside = [&](double x) { return std::isfinite(x) && !f.domain.contains(x); };
        if (outside(f.training_range.min) || outside(f.training_range.max))
            fail(at(path, "training_range"), "must lie within the feature's domain");
    }
    std::string tpath = at(path, "transform");
    auto t = as_object(member(o, path, "transform"), tpath);
    std::string kind = text(member(t, tpath, "kind"), at(tpath, "kind"));
    if (kind == "standardize") {
        f.transform = numeric_transform::standardize;
        f.impute = finite_number(member(t, tpath, "impute"), at(tpath, "impute"));
        f.mean = finite_number(member(t, tpath, "mean"), at(tpath, "mean"));
        f.scale = finite_number(member(t, tpath, "scale"), at(tpath, "scale"));
        if (!(f.scale > 0)) fail(at(tpath, "scale"), "must be > 0");
        f.weight = finite_number(member(t, tpath, "weight"), at(tpath, "weight"));
        if (!f.domain.contains(f.impute)) fail(at(tpath, "impute"), "must lie within the feature's domain");
    } else if (kind == "bins") {
        f.transform = numeric_transform::bins;
        f.edges = number_array(member(t, tpath, "edges"), at(tpath, "edges"));
        require_increasing(f.edges, at(tpath, "edges"));
        f.bin_weights = number_array(member(t, tpath, "weights"), at(tpath, "weights"));
        if (f.bin_weights.size() != f.edges.size() + 1)
            fail(at(tpath, "weights"), "must hold one weight per bin (" + std::to_string(f.edges.size() + 1) +
                                           " for " + std::to_string(f.edges.size()) + " edges), not " +
                                           std::to_string(f.bin_weights.size()));
        f.missing_weight = finite_number(member(t, tpath, "missing_weight"), at(tpath, "missing_weight"));
    } else {
        fail(at(tpath, "kind"), "unknown transform '" + kind + "' (expected standardize or bins)");
    }
}

void read_categorical(feature& f, simdjson::dom::object o, const std::string& path) {
    std::set<std::string, std::less<>> seen;
    std::size_t i = 0;
    std::string cpath = at(path, "categories");
    for (element c : as_array(member(o, path, "categories"), cpath)) {
        std::string name = text(c, at(cpath, i));
        if (!seen.insert(name).second) fail(at(cpath, i), "duplicate category '" + name + "'");
        f.categories.push_back(std::move(name));
        ++i;
    }
    if (f.categories.empty()) fail(cpath, "must list at least one category");
    f.category_weights = number_array(member(o, path, "weights"), at(path, "weights"));
    if (f.category_weights.size() != f.categories.size())
        fail(at(path, "weights"), "must hold one weight per category (" + std::to_string(f.categories.size()) + ")");
    f.missing_weight = finite_number(member(o, path, "missing_weight"), at(path, "missing_weight"));
}

std::uint32_t category_code(const feature& f, std::string_view name, const std::string& path) {
    for (std::size_t i = 0; i < f.categories.size(); ++i)
        if (f.categories[i] == name) return static_cast<std::uint32_t>(i);
    fail(path, "'" + std::string(name) + "' is not a category of " + f.name);
}

// Crosses refer to categorical features by name; resolved once every feature has been read.
void read_cross(model& m, feature& f, simdjson::dom::object o, const std::string& path) {
    std::string opath = at(path, "of");
    auto of = as_array(member(o, path, "of"), opath);
    if (of.size() != 2) fail(opath, "a cross names exactly two categorical features");
    for (std::size_t k = 0; k < 2; ++k) {
        std::string input = text(of.at(k).value(), at(opath, k));
        std::size_t idx = m.find(input);
        if (idx == model::npos) fail(at(opath, k), "no feature named '" + input + "' (list inputs before the cross)");
        if (m.features[idx].type != feature_type::categorical)
            fail(at(opath, k), "'" + input + "' is not a categorical feature");
        f.cross_of[k] = idx;
    }
    if (f.cross_of[0] == f.cross_of[1]) fail(opath, "a cross needs two different features");
    std::string ppath = at(path, "pairs");
    std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
    std::size_t i = 0;
    for (element p : as_array(member(o, path, "pairs"), ppath)) {
        std::string pp = at(ppath, i);
        auto pair = as_array(p, pp);
        if (pair.size() != 2) fail(pp, "expected [category, category]");
        std::uint32_t c0 = category_code(m.features[f.cross_of[0]], text(pair.at(0).value(), at(pp, 0)), at(pp, 0));
        std::uint32_t c1 = category_code(m.features[f.cross_of[1]], text(pair.at(1).value(), at(pp, 1)), at(pp, 1));
        if (!seen.insert({c0, c1}).second) fail(pp, "duplicate pair");
        f.pair_codes[0].push_back(c0);
        f.pair_codes[1].push_back(c1);
        ++i;
    }
    f.pair_weights = number_array(member(o, path, "weights"), at(path, "weights"));
    if (f.pair_weights.size() != f.pair_codes[0].size())
        fail(at(path, "weights"), "must hold one weight per pair (" + std::to_string(f.pair_codes[0].size()) + ")");
}

// The card's free parts must be objects; kept verbatim (minified) for /model.
std::string card_part(simdjson::dom::object o, std::string_view key) {
    std::string path(key);
    element e = member(o, "", key);
    as_object(e, path);
    return simdjson::minify(e);
}

model read_model(element root) {
    model m;
    auto o = as_object(root, "");
    double version = finite_number(member(o, "", "schema_version"), "schema_version");
    if (version != model_schema_version)
        fail("schema_version", "unsupported schema version " + std::to_string(static_cast<long long>(version)) +
                                   " (this build reads " + std::to_string(model_schema_version) + ")");
    m.model_version = text(member(o, "", "model_version"), "model_version");
    m.kind = nonempty_text(member(o, "", "kind"), "kind");
    m.target = text(member(o, "", "target"), "target");
    m.exposure_field = nonempty_text(member(o, "", "exposure_field"), "exposure_field");
    m.intercept = finite_number(member(o, "", "intercept"), "intercept");

    auto features = as_array(member(o, "", "features"), "features");
    if (features.size() == 0) fail("features", "must list at least one feature");
    std::size_t i = 0;
    for (element fe : features) {
        std::string path = at("features", i++);
        auto fo = as_object(fe, path);
        feature f;
        f.name = field_name(member(fo, path, "name"), at(path, "name"));
        if (m.find(f.name) != model::npos) fail(at(path, "name"), "duplicate feature '" + f.name + "'");
        std::string type = text(member(fo, path, "type"), at(path, "type"));
        if (type == "numeric") {
            f.type = feature_type::numeric;
            read_numeric(f, fo, path);
        } else if (type == "categorical") {
            f.type = feature_type::categorical;
            read_categorical(f, fo, path);
        } else if (type == "cross") {
            f.type = feature_type::cross;
            read_cross(m, f, fo, path);
        } else {
            fail(at(path, "type"), "unknown feature type '" + type + "' (expected numeric, categorical or cross)");
        }
        if (has(fo, "mean_contribution")) {
            f.mean_contribution = finite_number(member(fo, path, "mean_contribution"), at(path, "mean_contribution"));
            f.mean_contribution_written = true;
        }
        m.features.push_back(std::move(f));
    }
    std::size_t exposure = m.find(m.exposure_field);
    if (exposure != model::npos && m.features[exposure].type != feature_type::numeric)
        fail("exposure_field", "'" + m.exposure_field + "' must be a numeric feature");
    if (has(o, "age_field")) {
        m.age_field = text(member(o, "", "age_field"), "age_field");
        m.age_field_written = true;
        const std::size_t age = m.find(m.age_field);
        if (!m.age_field.empty() && (age == model::npos || m.features[age].type != feature_type::numeric))
            fail("age_field", "'" + m.age_field + "' must be a numeric feature (or \"\" for none)");
    } else {
        m.age_field = default_age_field(m);
    }

    std::string dpath = "training_pd_distribution";
    auto d = as_object(member(o, "", dpath), dpath);
    m.training_pd.edges = number_array(member(d, dpath, "edges"), at(dpath, "edges"));
    m.training_pd.fractions = number_array(member(d, dpath, "fractions"), at(dpath, "fractions"));
    const auto& edges = m.training_pd.edges;
    if (edges.size() < 2 || edges.front() != 0 || edges.back() != 1)
        fail(at(dpath, "edges"), "must run from 0 to 1 with at least one bin");
    require_increasing(edges, at(dpath, "edges"));
    if (edges.size() > 18) fail(at(dpath, "edges"), "at most 17 bins (the engine counts PSI bins in registers)");
    if (m.training_pd.fractions.size() != edges.size() - 1)
        fail(at(dpath, "fractions"), "must hold one fraction per bin (" + std::to_string(edges.size() - 1) + ")");
    double total = 0;
    for (std::size_t k = 0; k < m.training_pd.fractions.size(); ++k) {
        if (m.training_pd.fractions[k] < 0) fail(at(at(dpath, "fractions"), k), "must be >= 0");
        total += m.training_pd.fractions[k];
    }
    if (std::fabs(total - 1) > 1e-6) fail(at(dpath, "fractions"), "must sum to 1");

    if (has(o, "metrics")) m.metrics_json = card_part(o, "metrics");
    if (has(o, "training")) m.training_json = card_part(o, "training");
    return m;
}

}  // namespace

result<model> parse_model(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    element root;
    if (auto err = parser.parse(padded).get(root))
        return error{std::string("not valid JSON: ") + simdjson::error_message(err), ""};
    try {
        return read_model(root);
    } catch (const invalid_model& e) {
        return error{e.what, e.where};
    }
}

result<model> load_model(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error{"cannot open model file", path};
    std::ostringstream bytes;
    bytes << in.rdbuf();
    auto m = parse_model(bytes.str());
    if (!m) return error{m.err().what, path + (m.err().where.empty() ? "" : ": " + m.err().where)};
    // model_version is the content hash (docs/model-format.md): a file changed after it was written would
    // otherwise serve, and sign every decision, under the version of another model.
    const std::string content = content_version(*m);
    if (m->model_version != content)
        return error{"'" + m->model_version + "' is not the hash of the model's content (" + content +
                         "): the file was changed after it was written; re-train it, or review the change and set "
                         "model_version to " + content,
                     path + ": model_version"};
    return m;
}

}  // namespace loanrisk::core

// Serializes a model artifact deterministically (fixed key order, shortest round-trip numbers), so the
// same training run always produces the same bytes and the same content hash.
#include <cmath>

#include "loanrisk/json_writer.hpp"
#include "loanrisk/model.hpp"
#include "loanrisk/sha256.hpp"

namespace loanrisk::core {

namespace {

void write_range(io::json_writer& w, const value_range& r) {
    w.begin_object().key("min");
    std::isfinite(r.min) ? w.value(r.min) : w.null();
    w.key("max");
    std::isfinite(r.max) ? w.value(r.max) : w.null();
    w.end_object();
}

void write_feature(io::json_writer& w, const model& m, const feature& f) {
    w.begin_object().key("name").value(f.name);
    switch (f.type) {
    case feature_type::numeric:
        w.key("type").value("numeric");
        w.key("domain");
        write_range(w, f.domain);
        w.key("training_range");
        write_range(w, f.training_range);
        w.key("transform").begin_object();
        if (f.transform == numeric_transform::standardize) {
            w.key("kind").value("standardize");
            w.key("impute").value(f.impute).key("mean").value(f.mean).key("scale").value(f.scale);
            w.key("weight").value(f.weight);
        } else {
            w.key("kind").value("bins");
            w.key("edges").numbers(f.edges);
            w.key("weights").numbers(f.bin_weights);
            w.key("missing_weight").value(f.missing_weight);
        }
        w.end_object();
        break;
    case feature_type::categorical:
        w.key("type").value("categorical");
        w.key("categories").begin_array();
        for (const auto& c : f.categories) w.value(c);
        w.end_array();
        w.key("weights").numbers(f.category_weights);
        w.key("missing_weight").value(f.missing_weight);
        break;
    case feature_type::cross: {
        const feature& a = m.features[f.cross_of[0]];
        const feature& b = m.features[f.cross_of[1]];
        w.key("type").value("cross");
        w.key("of").begin_array().value(a.name).value(b.name).end_array();
        w.key("pairs").begin_array();
        for (std::size_t i = 0; i < f.pair_weights.size(); ++i) {
            std::string pair = "[";
            io::append_string(pair, a.categories[f.pair_codes[0][i]]);
            pair += ", ";
            io::append_string(pair, b.categories[f.pair_codes[1][i]]);
            pair += "]";
            w.raw(pair);
        }
        w.end_array();
        w.key("weights").numbers(f.pair_weights);
        break;
    }
    }
    // Written back as read: an artifact without the key (from before it) must write back to its own bytes,
    // or its model_version would no longer be the hash of its content and it would not load.
    if (f.mean_contribution_written) w.key("mean_contribution").value(f.mean_contribution);
    w.end_object();
}

std::string write_with_version(const model& m, const std::string& version) {
    io::json_writer w(/*pretty=*/true);
    w.begin_object();
    w.key("schema_version").value(m.schema_version);
    w.key("model_version").value(version);
    w.key("kind").value(m.kind);
    w.key("target").value(m.target);
    w.key("exposure_field").value(m.exposure_field);
    if (m.age_field_written) w.key("age_field").value(m.age_field);  // as mean_contribution
    w.key("intercept").value(m.intercept);
    w.key("features").begin_array();
    for (const auto& f : m.features) write_feature(w, m, f);
    w.end_array();
    w.key("training_pd_distribution").begin_object();
    w.key("edges").numbers(m.training_pd.edges);
    w.key("fractions").numbers(m.training_pd.fractions);
    w.end_object();
    w.key("metrics").raw(m.metrics_json);
    w.key("training").raw(m.training_json);
    w.end_object();
    std::string out = w.take();
    out += '\n';
    return out;
}

}  // namespace

std::string write_model(const model& m) { return write_with_version(m, m.model_version); }

std::string content_version(const model& m) { return io::sha256_hex(write_with_version(m, "")).substr(0, 16); }

}  // namespace loanrisk::core

// The model artifact as the engine sees it: features, transforms, weights, intercept, exposure field and
// the training PD distribution. Loaded from one JSON file (docs/model-format.md) and validated up front,
// so nothing downstream re-checks it and nothing about a particular data set is hard-coded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/result.hpp"

namespace loanrisk::core {

inline constexpr int model_schema_version = 1;

enum class feature_type { numeric, categorical, cross };
enum class numeric_transform { standardize, bins };

// Values a numeric input may take at all; outside it a request is rejected (422).
struct value_range {
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool contains(double x) const { return x >= min && x <= max; }
};

struct feature {
    std::string name;
    feature_type type = feature_type::numeric;

    // numeric
    value_range domain;          // valid values
    value_range training_range;  // values seen in training; outside is scored but flagged
    numeric_transform transform = numeric_transform::bins;
    double impute = 0, mean = 0, scale = 1, weight = 0;  // standardize: weight * ((x or impute) - mean) / scale
    std::vector<double> edges;        // bins: bin k holds edges[k-1] <= x < edges[k]; edges.size() + 1 bins
    std::vector<double> bin_weights;  // bins: one per bin

    // categorical: weights parallel to categories; an unknown category contributes 0
    std::vector<std::string> categories;
    std::vector<double> category_weights;

    // cross of two categorical features: weight per observed pair, 0 for any other pair
    std::size_t cross_of[2] = {0, 0};  // indices into model::features
    std::vector<std::uint32_t> pair_codes[2];  // category index in each input, parallel to pair_weights
    std::vector<double> pair_weights;

    // numeric and categorical: contribution of a missing value (0 when training saw none)
    double missing_weight = 0;

    // The average of its contribution over the training rows: the average applicant's, which reason codes
    // measure a loan's contribution from (0 in an artifact without it: reasons then measure from zero).
    double mean_contribution = 0;
    bool mean_contribution_written = false;  // the artifact has the key (written back as read)
};

// Training-set PD distribution in bins (deciles of the training PDs), the baseline for PSI.
struct pd_distribution {
    std::vector<double> edges;      // edges.front() == 0, edges.back() == 1, increasing
    std::vector<double> fractions;  // edges.size() - 1 entries, summing to 1
};

struct model {
    int schema_version = model_schema_version;
    std::string model_version;  // content hash of the artifact
    std::string kind;           // "scorecard" or "plain": how it was trained, informative only
    std::string target;
    std::string exposure_field;  // numeric input multiplied into Expected Loss
    // Numeric feature placing a loan in an age band for the summary's approval rates and disparate-impact
    // ratio; "" for none. An artifact without the key means person_age where the model has that numeric
    // feature (the artifacts written before the key), else none.
    std::string age_field;
    bool age_field_written = false;  // the artifact has the key (written back as read)
    double intercept = 0;
    std::vector<feature> features;
    pd_distribution training_pd;
    // The model card's free parts, kept as compact JSON text: the engine never interprets them.
    std::string metrics_json = "{}";
    std::string training_json = "{}";

    // Index of the feature called `name`, or npos.
    std::size_t find(std::string_view name) const;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

// The age field an artifact without the key means: person_age where the model has that numeric feature.
std::string default_age_field(const model& m);

// Parses and validates an artifact. Errors name the JSON path: "features[3].edges: must be increasing".
result<model> parse_model(std::string_view json);
// The artifact in a file (what serve, score, evaluate and bench load): also refused when its model_version
// is not the hash of its content (content_version), i.e. the file was changed after it was written.
result<model> load_model(const std::string& path);

// Serializes deterministically (same model -> same bytes). model_version is written as given.
std::string write_model(const model& m);
// The content hash that write_model(m) should carry as model_version: SHA-256 (first 16 hex digits) of
// the artifact written with an empty model_version.
std::string content_version(const model& m);

}  // namespace loanrisk::core

// Pins the model loader: a valid artifact loads whole, and each kind of defect is refused with the JSON
// path of the offending value.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>

#include "../model_fixture.hpp"
#include "loanrisk/batch.hpp"
#include "loanrisk/model.hpp"

using loanrisk::core::parse_model;
using loanrisk::testing::small_model;
using loanrisk::testing::small_model_with;

namespace {

std::string failure(const std::string& json) {
    auto m = parse_model(json);
    return m ? "loaded" : m.err().message();
}

}  // namespace

TEST(model_loader, loads_every_part_of_a_valid_artifact) {
    auto m = parse_model(small_model);
    ASSERT_TRUE(m) << m.err().message();
    EXPECT_EQ(m->model_version, "test");
    EXPECT_EQ(m->exposure_field, "amount");
    EXPECT_EQ(m->intercept, -1);
    ASSERT_EQ(m->features.size(), 5u);
    EXPECT_EQ(m->features[0].edges, (std::vector<double>{200, 500}));
    EXPECT_EQ(m->features[0].missing_weight, 0.15);
    EXPECT_EQ(m->features[0].domain.min, 0);
    EXPECT_TRUE(std::isinf(m->features[0].domain.max));
    EXPECT_EQ(m->features[1].transform, loanrisk::core::numeric_transform::standardize);
    EXPECT_EQ(m->features[1].scale, 2);
    EXPECT_EQ(m->features[2].categories, (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(m->features[4].cross_of[0], 2u);
    EXPECT_EQ(m->features[4].cross_of[1], 3u);
    EXPECT_EQ(m->features[4].pair_codes[1], (std::vector<std::uint32_t>{0, 1}));
    EXPECT_EQ(m->training_pd.fractions, (std::vector<double>{0.6, 0.4}));
    EXPECT_EQ(m->metrics_json, R"({"holdout":{"roc_auc":0.8}})");
    EXPECT_EQ(m->find("home"), 3u);
    EXPECT_EQ(m->find("nope"), loanrisk::core::model::npos);
}

TEST(model_loader, write_then_parse_round_trips_to_the_same_bytes) {
    auto m = parse_model(small_model);
    ASSERT_TRUE(m);
    std::string once = loanrisk::core::write_model(*m);
    auto again = parse_model(once);
    ASSERT_TRUE(again) << again.err().message();
    EXPECT_EQ(loanrisk::core::write_model(*again), once);
}

TEST(model_loader, content_version_changes_with_any_weight) {
    auto a = parse_model(small_model);
    auto b = parse_model(small_model_with("0.3]", "0.31]"));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(loanrisk::core::content_version(*a).size(), 16u);
    EXPECT_NE(loanrisk::core::content_version(*a), loanrisk::core::content_version(*b));
    b->model_version = "other";
    auto c = parse_model(small_model_with("0.3]", "0.31]"));
    EXPECT_EQ(loanrisk::core::content_version(*b), loanrisk::core::content_version(*c));
}

TEST(model_loader, rejects_text_that_is_not_json) {
    EXPECT_EQ(failure("{\"schema_version\": 1,"), "not valid JSON: The JSON document has an improper structure: missing or superfluous commas, braces, missing keys, etc.");
}

TEST(model_loader, rejects_an_unknown_schema_version) {
    EXPECT_EQ(failure(small_model_with("\"schema_version\": 1", "\"schema_version\": 7")),
              "schema_version: unsupported schema version 7 (this build reads 1)");
}

TEST(model_loader, rejects_a_missing_exposure_field) {
    EXPECT_EQ(failure(small_model_with("\"exposure_field\": \"amount\",", "")), "exposure_field: missing");
}

TEST(model_loader, rejects_an_exposure_field_that_is_categorical) {
    EXPECT_EQ(failure(small_model_with("\"exposure_field\": \"amount\"", "\"exposure_field\": \"grade\"")),
              "exposure_field: 'grade' must be a numeric feature");
}

TEST(model_loader, rejects_a_weight_of_the_wrong_type) {
    EXPECT_EQ(failure(small_model_with("[0.1, 0.2, 0.3]", "[0.1, \"0.2\", 0.3]")),
              "features[0].transform.weights[1]: expected a number");
}

TEST(model_loader, rejects_nan_weights) {
    EXPECT_EQ(failure(small_model_with("[0.1, 0.2, 0.3]", "[0.1, NaN, 0.3]")).rfind("not valid JSON", 0), 0u);
    EXPECT_EQ(failure(small_model_with("[0.1, 0.2, 0.3]", "[0.1, null, 0.3]")),
              "features[0].transform.weights[1]: expected a number");
}

// age_field is optional: without the key person_age where the model has that numeric feature, else none
// (""); "" for none, else a numeric feature, which compile() uses for the summary's age bands.
TEST(model_loader, reads_an_optional_age_field_that_names_a_numeric_feature) {
    auto without = parse_model(small_model);
    ASSERT_TRUE(without);
    EXPECT_EQ(without->age_field, "");
    auto person_age = parse_model(small_model_with("\"name\": \"rate\"", "\"name\": \"person_age\""));
    ASSERT_TRUE(person_age) << person_age.err().message();
    EXPECT_EQ(person_age->age_field, "person_age");
    auto amount = parse_model(small_model_with("\"intercept\"", "\"age_field\": \"amount\", \"intercept\""));
    ASSERT_TRUE(amount) << amount.err().message();
    EXPECT_EQ(amount->age_field, "amount");
    auto compiled = loanrisk::core::compile(std::make_shared<const loanrisk::core::model>(*amount));
    ASSERT_TRUE(compiled);
    EXPECT_EQ(compiled->age_field, "amount");
    auto none = parse_model(small_model_with("\"intercept\"", "\"age_field\": \"\", \"intercept\""));
    ASSERT_TRUE(none);
    EXPECT_EQ(loanrisk::core::compile(std::make_shared<const loanrisk::core::model>(*none))->age_input, -1);
    EXPECT_EQ(failure(small_model_with("\"intercept\"", "\"age_field\": \"grade\", \"intercept\"")),
              "age_field: 'grade' must be a numeric feature (or \"\" for none)");
    EXPECT_EQ(failure(small_model_with("\"intercept\"", "\"age_field\": \"age\", \"intercept\"")),
              "age_field: 'age' must be a numeric feature (or \"\" for none)");
}

// An artifact written before mean_contribution and age_field existed (the shipped model of 2026-11-26,
// 14ade601516c5660) still loads: written back it gives its own bytes, so its model_version is still the hash
// of its content; its reasons measure from 0 and its age bands read person_age.
TEST(model_loader, an_artifact_from_before_the_optional_keys_still_loads) {
    const std::string path = LOANRISK_SOURCE_DIR "/tests/unit/core/data/artifact_before_mean_contribution.json";
    auto m = loanrisk::core::load_model(path);
    ASSERT_TRUE(m) << m.err().message();
    EXPECT_EQ(m->model_version, "14ade601516c5660");
    EXPECT_EQ(m->age_field, "person_age");
    for (const auto& f : m->features) EXPECT_EQ(f.mean_contribution, 0) << f.name;
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(loanrisk::core::write_model(*m) == bytes);
}

// The optional keys are written back as read, whatever their value: an artifact naming the default age
// field, or a mean contribution of 0, keeps its bytes (and so its content hash) through parse and write.
TEST(model_loader, optional_keys_are_written_back_as_read) {
    std::string text = small_model_with("\"intercept\"", "\"age_field\": \"\", \"intercept\"");
    text.replace(text.find("\"missing_weight\": 0.15}}"), 24, "\"missing_weight\": 0.15}, \"mean_contribution\": 0}");
    auto m = parse_model(text);
    ASSERT_TRUE(m) << m.err().message();
    const std::string once = loanrisk::core::write_model(*m);
    EXPECT_NE(once.find("\"age_field\": \"\""), std::string::npos) << once;
    EXPECT_NE(once.find("\"mean_contribution\": 0"), std::string::npos) << once;
    auto again = parse_model(once);
    ASSERT_TRUE(again);
    EXPECT_EQ(loanrisk::core::write_model(*again), once);
}

// mean_contribution (reason codes' reference) is optional, 0 when absent, and a finite number when given.
TEST(model_loader, reads_an_optional_mean_contribution) {
    auto without = parse_model(small_model);
    ASSERT_TRUE(without);
    for (const auto& f : without->features) EXPECT_EQ(f.mean_contribution, 0);
    auto with = parse_model(small_model_with("\"missing_weight\": 0.25}", "\"missing_weight\": 0.25, \"mean_contribution\": -0.125}"));
    ASSERT_TRUE(with) << with.err().message();
    EXPECT_EQ(with->features[2].mean_contribution, -0.125);
    EXPECT_EQ(failure(small_model_with("\"missing_weight\": 0.25}", "\"missing_weight\": 0.25, \"mean_contribution\": null}")),
              "features[2].mean_contribution: expected a number");
}

TEST(model_loader, rejects_bin_edges_that_do_not_increase) {
    EXPECT_EQ(failure(small_model_with("[200, 500]", "[500, 500]")),
              "features[0].transform.edges[1]: must be greater than the previous value (strictly increasing)");
}

TEST(model_loader, rejects_a_bin_weight_count_that_does_not_match_the_edges) {
    EXPECT_EQ(failure(small_model_with("[0.1, 0.2, 0.3]", "[0.1, 0.2]")),
              "features[0].transform.weights: must hold one weight per bin (3 for 2 edges), not 2");
}

TEST(model_loader, rejects_duplicate_features) {
    EXPECT_EQ(failure(small_model_with("\"name\": \"rate\"", "\"name\": \"amount\"")),
              "features[1].name: duplicate feature 'amount'");
}

// Found by the model_loader fuzzer: " amount" and "amount" both loaded, and a CSV header (whose names are
// trimmed) then named the same column twice.
TEST(model_loader, rejects_a_feature_name_with_surrounding_space) {
    EXPECT_EQ(failure(small_model_with("\"name\": \"rate\"", "\"name\": \" rate\"")),
              "features[1].name: must not start or end with a space or tab (CSV header names are trimmed)");
    EXPECT_EQ(failure(small_model_with("\"name\": \"rate\"", "\"name\": \"rate\\t\"")),
              "features[1].name: must not start or end with a space or tab (CSV header names are trimmed)");
}

TEST(model_loader, rejects_an_unknown_feature_type) {
    EXPECT_EQ(failure(small_model_with("\"type\": \"categorical\"", "\"type\": \"ordinal\"")),
              "features[2].type: unknown feature type 'ordinal' (expected numeric, categorical or cross)");
}

TEST(model_loader, rejects_an_unknown_transform) {
    EXPECT_EQ(failure(small_model_with("\"kind\": \"bins\"", "\"kind\": \"spline\"")),
              "features[0].transform.kind: unknown transform 'spline' (expected standardize or bins)");
}

TEST(model_loader, rejects_a_zero_scale) {
    EXPECT_EQ(failure(small_model_with("\"scale\": 2", "\"scale\": 0")), "features[1].transform.scale: must be > 0");
}

TEST(model_loader, rejects_a_domain_with_min_above_max) {
    EXPECT_EQ(failure(small_model_with("\"domain\": {\"min\": 0, \"max\": 100}", "\"domain\": {\"min\": 101, \"max\": 100}")),
              "features[1].domain: min must not exceed max");
}

// Found by the model-loader fuzzer: such an artifact loaded, and loans drawn from its training range
// (the server's warm-up, `loanrisk bench`) were then refused by its own domain.
TEST(model_loader, rejects_a_training_range_outside_the_domain) {
    EXPECT_EQ(failure(small_model_with("\"training_range\": {\"min\": 5, \"max\": 25}",
                                       "\"training_range\": {\"min\": 5, \"max\": 125}")),
              "features[1].training_range: must lie within the feature's domain");
    EXPECT_EQ(failure(small_model_with("\"training_range\": {\"min\": 100,", "\"training_range\": {\"min\": -1,")),
              "features[0].training_range: must lie within the feature's domain");
}

TEST(model_loader, rejects_duplicate_categories) {
    EXPECT_EQ(failure(small_model_with("[\"A\", \"B\"]", "[\"A\", \"A\"]")),
              "features[2].categories[1]: duplicate category 'A'");
}

TEST(model_loader, rejects_a_category_weight_count_mismatch) {
    EXPECT_EQ(failure(small_model_with("[-0.5, 0.5]", "[-0.5]")), "features[2].weights: must hold one weight per category (2)");
}

TEST(model_loader, rejects_a_cross_of_an_unknown_feature) {
    EXPECT_EQ(failure(small_model_with("\"of\": [\"grade\", \"home\"]", "\"of\": [\"grade\", \"town\"]")),
              "features[4].of[1]: no feature named 'town' (list inputs before the cross)");
}

TEST(model_loader, rejects_a_cross_of_a_numeric_feature) {
    EXPECT_EQ(failure(small_model_with("\"of\": [\"grade\", \"home\"]", "\"of\": [\"grade\", \"rate\"]")),
              "features[4].of[1]: 'rate' is not a categorical feature");
}

TEST(model_loader, rejects_a_cross_pair_naming_an_unknown_category) {
    EXPECT_EQ(failure(small_model_with("[\"B\", \"OWN\"]", "[\"C\", \"OWN\"]")),
              "features[4].pairs[1][0]: 'C' is not a category of grade");
}

TEST(model_loader, rejects_a_pd_distribution_that_does_not_sum_to_one) {
    EXPECT_EQ(failure(small_model_with("[0.6, 0.4]", "[0.6, 0.5]")), "training_pd_distribution.fractions: must sum to 1");
}

TEST(model_loader, rejects_a_pd_distribution_not_spanning_zero_to_one) {
    EXPECT_EQ(failure(small_model_with("\"edges\": [0, 0.5, 1]", "\"edges\": [0, 0.5, 0.9]")),
              "training_pd_distribution.edges: must run from 0 to 1 with at least one bin");
}

TEST(model_loader, rejects_a_model_without_features) {
    std::string s = small_model;
    auto a = s.find("\"features\": [") + 13, b = s.find("\"training_pd_distribution\"");
    s.replace(a, b - a, "],\n  ");
    EXPECT_EQ(failure(s), "features: must list at least one feature");
}

TEST(model_loader, load_model_names_the_file_in_its_errors) {
    auto m = loanrisk::core::load_model("/nonexistent/model.json");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.err().message(), "/nonexistent/model.json: cannot open model file");
}

TEST(model_loader, loads_the_shipped_model) {
    auto m = loanrisk::core::load_model(LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json");
    ASSERT_TRUE(m) << m.err().message();
    EXPECT_EQ(m->exposure_field, "loan_amnt");
    EXPECT_EQ(loanrisk::core::content_version(*m), m->model_version);
}

TEST(model_loader, rejects_a_categorical_without_categories) {
    // Regression: an empty category list passed validation and crashed the server's warm-up.
    EXPECT_EQ(failure(small_model_with("\"categories\": [\"RENT\", \"OWN\"], \"weights\": [0.2, -0.2]",
                                       "\"categories\": [], \"weights\": []")),
              "features[3].categories: must list at least one category");
}

TEST(model_loader, rejects_more_pd_bins_than_the_engine_counts) {
    std::string edges = "[0", fractions = "[";
    for (int i = 1; i <= 18; ++i) edges += "," + std::to_string(i / 18.0);
    for (int i = 0; i < 18; ++i) fractions += (i ? "," : "") + std::string(i < 17 ? "0.05" : "0.15");
    std::string json = small_model_with("\"edges\": [0, 0.5, 1], \"fractions\": [0.6, 0.4]",
                                        "\"edges\": " + edges + "], \"fractions\": " + fractions + "]");
    EXPECT_EQ(failure(json), "training_pd_distribution.edges: at most 17 bins (the engine counts PSI bins in registers)");
}

// Pins the trainer: the split, determinism, artifacts that load back, the plain pipeline matching
// scikit-learn, the shipped model meeting its quality goals, and the leakage warning.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>

#include "loanrisk/reference_scorer.hpp"
#include "loanrisk/trainer.hpp"

using namespace loanrisk;
using namespace loanrisk::train;

namespace {

const std::string real_data = LOANRISK_DATA_DIR "/credit_risk_dataset.csv";
const std::string reference_design_data = LOANRISK_DATA_DIR "/Loan_Default_first14867rows.csv";

// Real-data tests skip where the data is absent (a user's machine) but fail in CI, which sets
// LOANRISK_REQUIRE_DATA=1.
bool have(const std::string& path) {
    if (std::ifstream(path)) return true;
    if (std::getenv("LOANRISK_REQUIRE_DATA")) ADD_FAILURE() << path << " is required but missing";
    return false;
}

// A small synthetic portfolio: amount, rate (some missing), grade, home, and a 0/1 target that depends
// on all of them.
std::string synthetic_csv(std::size_t rows, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    const char* grades[] = {"A", "B", "C"};
    const char* homes[] = {"RENT", "OWN"};
    std::string csv = "id,amount,rate,grade,home,bad\n";
    for (std::size_t i = 0; i < rows; ++i) {
        double amount = std::floor(500 + u(rng) * 20000);
        double rate = 5 + u(rng) * 15;
        int g = static_cast<int>(u(rng) * 3), h = static_cast<int>(u(rng) * 2);
        bool rate_missing = u(rng) < 0.1;
        double eta = -2 + amount / 10000 + (rate - 10) / 5 + g * 0.7 - h * 0.4;
        int bad = u(rng) < 1 / (1 + std::exp(-eta)) ? 1 : 0;
        csv += std::to_string(i) + "," + std::to_string(static_cast<int>(amount)) + "," +
               (rate_missing ? "" : std::to_string(rate)) + "," + grades[g] + "," + homes[h] + "," + std::to_string(bad) + "\n";
    }
    return csv;
}

train_options synthetic_options() {
    train_options o;
    o.target = "bad";
    o.exposure = "amount";
    o.bins = 8;
    o.l2 = 1;
    o.tune_crosses = false;
    o.crosses = {{"grade", "home"}};
    return o;
}

}  // namespace

TEST(trainer, holdout_is_every_fifth_row_starting_at_index_4) {
    EXPECT_FALSE(is_holdout(0));
    EXPECT_TRUE(is_holdout(4));
    EXPECT_TRUE(is_holdout(9));
    std::size_t held = 0;
    for (std::size_t i = 0; i < 32581; ++i) held += is_holdout(i);
    EXPECT_EQ(held, 6516u);
}

TEST(trainer, writes_a_model_that_loads_back_and_scores_like_the_report) {
    auto data = parse_dataset(synthetic_csv(3000, 1));
    ASSERT_TRUE(data);
    auto report = train_model(*data, synthetic_options());
    ASSERT_TRUE(report) << report.err().message();
    const core::model& m = report->model;
    EXPECT_EQ(m.model_version, core::content_version(m));
    auto loaded = core::parse_model(core::write_model(m));
    ASSERT_TRUE(loaded) << loaded.err().message();
    EXPECT_EQ(core::write_model(*loaded), core::write_model(m));
    // The id column is never a feature; the cross comes last.
    ASSERT_EQ(m.features.size(), 5u);
    EXPECT_EQ(m.features[0].name, "amount");
    EXPECT_EQ(m.features[4].name, "grade x home");
    EXPECT_EQ(m.features[1].domain.min, 0);  // rate: non-negative, and a percentage scale
    EXPECT_EQ(m.features[1].domain.max, 100);
    EXPECT_NE(m.features[1].missing_weight, 0);  // rate had missing values: its own bin
    EXPECT_EQ(report->holdout.count, 600u);
    EXPECT_GT(report->holdout.roc_auc, 0.7);
}

// Each feature's mean_contribution (reason codes' reference) is its contribution averaged over the
// training rows, as the reference scorer computes it, to the 10 digits weights are stored with.
TEST(trainer, mean_contributions_are_the_training_rows_averages) {
    auto data = parse_dataset(synthetic_csv(3000, 1));
    ASSERT_TRUE(data);
    auto report = train_model(*data, synthetic_options());
    ASSERT_TRUE(report) << report.err().message();
    const core::model& m = report->model;
    std::vector<double> sums(m.features.size(), 0.0);
    std::size_t rows = 0;
    for (std::size_t r = 0; r < data->rows(); ++r) {
        if (is_holdout(r)) continue;
        core::loan_fields loan;
        for (const auto& c : data->columns) {
            if (c.numeric && !std::isnan(c.numbers[r])) loan.emplace(c.name, c.numbers[r]);
            else if (!c.numeric && !c.text[r].empty()) loan.emplace(c.name, c.text[r]);
        }
        auto s = core::score_reference(m, loan);
        ASSERT_TRUE(s) << s.err().message();
        for (std::size_t k = 0; k < sums.size(); ++k) sums[k] += s->contributions[k];
        ++rows;
    }
    bool any_nonzero = false;
    for (std::size_t k = 0; k < sums.size(); ++k) {
        EXPECT_NEAR(m.features[k].mean_contribution, sums[k] / static_cast<double>(rows), 1e-9) << m.features[k].name;
        any_nonzero = any_nonzero || m.features[k].mean_contribution != 0;
    }
    EXPECT_TRUE(any_nonzero);
}

// A domain is inferred from the training rows (the holdout decides nothing): a holdout value outside it (a
// negative amount where no training row has one) is refused before the fit, with its line and how to declare
// the range; declared, the range takes it.
TEST(trainer, a_holdout_value_outside_the_inferred_domain_is_refused_with_a_hint) {
    std::string csv = synthetic_csv(1000, 3);
    const std::size_t row4 = [&] {  // the start of data row 4 (line 6), the first held out
        std::size_t at = 0;
        for (int line = 0; line < 5; ++line) at = csv.find('\n', at) + 1;
        return at;
    }();
    const std::size_t amount = csv.find(',', row4) + 1;
    csv.insert(amount, "-");
    auto data = parse_dataset(csv);
    ASSERT_TRUE(data);
    auto refused = train_model(*data, synthetic_options());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.err().where, "line 6, column amount");
    EXPECT_NE(refused.err().what.find("is outside the range inferred from the training rows (values >= 0): declare the "
                                      "column's valid range with --domain amount=MIN:MAX"),
              std::string::npos) << refused.err().what;
    auto o = synthetic_options();
    o.domains = {{"amount", core::value_range{}}};
    auto report = train_model(*data, o);
    ASSERT_TRUE(report) << report.err().message();
    EXPECT_TRUE(std::isinf(report->model.features[0].domain.min));
    EXPECT_EQ(report->holdout.count, 200u);
}

// What would make an artifact no one can load, or a model not worth lending on, is refused or left out
// with a message: the same cross twice (either way round), a domain on a categorical column, a column
// with too many categories (an identifier); a column without a value in the training rows is not used;
// with no holdout row the holdout metrics are undefined (NaN, written null), not 0.
TEST(trainer, refuses_or_leaves_out_what_would_make_a_bad_artifact) {
    auto data = parse_dataset(synthetic_csv(600, 4));
    ASSERT_TRUE(data);
    auto o = synthetic_options();
    o.crosses = {{"grade", "home"}, {"home", "grade"}};
    auto twice = train_model(*data, o);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.err().message(), "--cross: the cross of home and grade is given twice");
    o = synthetic_options();
    o.domains = {{"grade", core::value_range{0, 1}}};
    auto domain = train_model(*data, o);
    ASSERT_FALSE(domain);
    EXPECT_EQ(domain.err().message(), "--domain: 'grade' is a categorical column: a domain bounds numbers");
    o = synthetic_options();
    o.max_categories = 2;  // grade has three
    auto many = train_model(*data, o);
    ASSERT_FALSE(many);
    EXPECT_NE(many.err().message().find("column grade has 3 distinct values in the training rows, more than 2"),
              std::string::npos) << many.err().message();

    // Two columns with values on holdout rows only: one numeric, one text.
    std::string csv = synthetic_csv(600, 4), with_empty;
    for (std::size_t at = 0, line = 0; at < csv.size(); ++line) {
        const std::size_t end = csv.find('\n', at);
        const bool held = line > 0 && is_holdout(line - 1);
        with_empty += csv.substr(at, end - at) + (line == 0 ? ",empty,blank_text\n" : held ? ",7,x\n" : ",,\n");
        at = end + 1;
    }
    auto empty = parse_dataset(with_empty);
    ASSERT_TRUE(empty);
    std::vector<std::string> said;
    o = synthetic_options();
    o.log = [&](std::string_view line) { said.emplace_back(line); };
    auto left_out = train_model(*empty, o);
    ASSERT_TRUE(left_out) << left_out.err().message();
    EXPECT_EQ(left_out->model.find("empty"), core::model::npos);
    EXPECT_EQ(left_out->model.find("blank_text"), core::model::npos);
    EXPECT_TRUE(empty->find("empty")->numeric);
    EXPECT_FALSE(empty->find("blank_text")->numeric);
    for (const char* name : {"empty", "blank_text"})
        EXPECT_NE(std::find(said.begin(), said.end(), "WARNING: column " + std::string(name) + " has no value in the training rows: not used"),
                  said.end()) << name;
    ASSERT_TRUE(core::parse_model(core::write_model(left_out->model)));

    auto four = parse_dataset(  // rows 0-3: no holdout row
        "id,amount,rate,grade,home,bad\n0,1000,10,A,RENT,0\n1,2000,12,B,OWN,1\n2,3000,14,C,RENT,0\n3,4000,16,A,OWN,1\n");
    ASSERT_TRUE(four);
    o = synthetic_options();
    o.bins = 2;
    auto no_holdout = train_model(*four, o);
    ASSERT_TRUE(no_holdout) << no_holdout.err().message();
    EXPECT_EQ(no_holdout->holdout.count, 0u);
    EXPECT_TRUE(std::isnan(no_holdout->holdout.roc_auc));
    EXPECT_TRUE(std::isnan(no_holdout->holdout.brier));
    EXPECT_NE(no_holdout->model.metrics_json.find("\"roc_auc\":null"), std::string::npos) << no_holdout->model.metrics_json;
}

// The summary's age field: person_age where the model has it (not in this data: none), or the numeric
// feature --age-field names; a column that is not one is refused before the fit.
TEST(trainer, the_age_field_is_a_numeric_feature_or_none) {
    auto data = parse_dataset(synthetic_csv(600, 7));
    ASSERT_TRUE(data);
    auto o = synthetic_options();
    auto plain = train_model(*data, o);
    ASSERT_TRUE(plain) << plain.err().message();
    EXPECT_EQ(plain->model.age_field, "");
    o.age_field = "rate";
    auto rate = train_model(*data, o);
    ASSERT_TRUE(rate) << rate.err().message();
    EXPECT_EQ(rate->model.age_field, "rate");
    ASSERT_TRUE(core::parse_model(core::write_model(rate->model)));
    // A person_age column: the default, which the artifact then need not name.
    std::string csv = synthetic_csv(600, 7);
    csv.replace(0, csv.find(','), "person_age");
    for (std::size_t at = csv.find('\n') + 1, r = 0; at < csv.size(); at = csv.find('\n', at) + 1, ++r) {
        const std::string age = std::to_string(20 + r % 50);
        csv.replace(at, csv.find(',', at) - at, age);
    }
    auto with_age = parse_dataset(csv);
    ASSERT_TRUE(with_age);
    auto aged = train_model(*with_age, synthetic_options());
    ASSERT_TRUE(aged) << aged.err().message();
    EXPECT_EQ(aged->model.age_field, "person_age");
    EXPECT_EQ(core::write_model(aged->model).find("\"age_field\""), std::string::npos);
    o.age_field = "grade";
    auto grade = train_model(*data, o);
    ASSERT_FALSE(grade);
    EXPECT_EQ(grade.err().message(), "--age-field: 'grade' is not a numeric feature column: the age bands read the model's own input");
}

// The plain pipeline standardizes a column whose values are near the largest doubles (their squares
// overflow): the scale is finite and the artifact loads back.
TEST(trainer, plain_standardizes_values_whose_squares_overflow) {
    std::string csv = synthetic_csv(500, 6);
    const std::size_t row2 = [&] {
        std::size_t at = 0;
        for (int line = 0; line < 3; ++line) at = csv.find('\n', at) + 1;
        return at;
    }();
    const std::size_t amount = csv.find(',', row2) + 1;
    csv.replace(amount, csv.find(',', amount) - amount, "1e200");
    auto data = parse_dataset(csv);
    ASSERT_TRUE(data);
    auto o = synthetic_options();
    o.kind = "plain";
    auto report = train_model(*data, o);
    ASSERT_TRUE(report) << report.err().message();
    EXPECT_TRUE(std::isfinite(report->model.features[0].scale));
    EXPECT_GT(report->model.features[0].scale, 1e197);
    ASSERT_TRUE(core::parse_model(core::write_model(report->model)));
}

TEST(trainer, the_same_data_and_options_give_identical_bytes) {
    auto data = parse_dataset(synthetic_csv(2000, 2));
    ASSERT_TRUE(data);
    auto o = synthetic_options();
    o.bins = 0;  // tuned: the tuning must be deterministic too
    auto a = train_model(*data, o);
    auto b = train_model(*data, o);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(core::write_model(a->model), core::write_model(b->model));
}

TEST(trainer, holdout_labels_never_influence_the_weights) {
    std::string csv = synthetic_csv(2000, 3);
    auto data = parse_dataset(csv);
    ASSERT_TRUE(data);
    auto flipped = *data;
    auto& bad = flipped.columns.back().numbers;
    for (std::size_t r = 0; r < bad.size(); ++r)
        if (is_holdout(r)) bad[r] = 1 - bad[r];
    auto o = synthetic_options();
    o.bins = 0;
    auto a = train_model(*data, o), b = train_model(flipped, o);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->model.intercept, b->model.intercept);
    for (std::size_t k = 0; k < a->model.features.size(); ++k) {
        EXPECT_EQ(a->model.features[k].bin_weights, b->model.features[k].bin_weights);
        EXPECT_EQ(a->model.features[k].category_weights, b->model.features[k].category_weights);
        EXPECT_EQ(a->model.features[k].pair_weights, b->model.features[k].pair_weights);
    }
    EXPECT_NE(a->holdout.roc_auc, b->holdout.roc_auc);
}

TEST(trainer, refuses_a_target_that_is_not_zero_or_one) {
    auto data = parse_dataset("amount,bad\n100,0\n200,2\n");
    ASSERT_TRUE(data);
    auto o = synthetic_options();
    o.crosses.clear();
    auto r = train_model(*data, o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().message(), "line 3, column bad: target must be 0 or 1");
}

TEST(trainer, refuses_a_missing_target_or_exposure_column) {
    auto data = parse_dataset("amount,bad\n100,0\n200,1\n");
    ASSERT_TRUE(data);
    auto o = synthetic_options();
    o.target = "loan_status";
    EXPECT_EQ(train_model(*data, o).err().message(), "header: no target column 'loan_status' (pass --target)");
    o = synthetic_options();
    o.exposure = "loan_amnt";
    EXPECT_EQ(train_model(*data, o).err().message(), "header: no exposure column 'loan_amnt' (pass --exposure)");
}

TEST(trainer, warns_when_missingness_alone_separates_the_target) {
    std::string csv = "x,leak,bad\n";
    for (int i = 0; i < 400; ++i) csv += std::to_string(i % 7) + "," + (i % 3 ? "5" : "") + "," + (i % 3 ? "0" : "1") + "\n";
    auto data = parse_dataset(csv);
    ASSERT_TRUE(data);
    auto y = labels(*data, "bad");
    std::vector<std::uint32_t> rows;
    for (std::uint32_t r = 0; r < 400; ++r) rows.push_back(r);
    auto w = leakage_diagnostic(*data, *y, rows, {"x", "leak"});
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0], "possible target leakage: whether 'leak' is missing alone separates the target (AUC 1)");
}

TEST(trainer, plain_pipeline_matches_scikit_learn_on_the_real_data) {
    if (!have(real_data)) GTEST_SKIP() << real_data << " not found";
    auto data = load_dataset(real_data);
    ASSERT_TRUE(data) << data.err().message();
    train_options o;
    o.kind = "plain";
    auto r = train_model(*data, o);
    ASSERT_TRUE(r) << r.err().message();
    // scikit-learn 1.2 LogisticRegression(C=1) after median imputation, standardization and one-hot.
    EXPECT_NEAR(r->holdout.roc_auc, 0.8614, 0.003);
    EXPECT_NEAR(r->holdout.brier, 0.1027, 0.002);
    EXPECT_EQ(r->holdout.count, 6516u);
}

TEST(trainer, shipped_model_meets_its_holdout_goals) {
    if (!have(real_data)) GTEST_SKIP() << real_data << " not found";
    auto m = core::load_model(LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json");
    ASSERT_TRUE(m) << m.err().message();
    auto data = load_dataset(real_data, columns_for(*m));
    ASSERT_TRUE(data);
    auto y = labels(*data, m->target);
    ASSERT_TRUE(y);
    std::vector<std::uint32_t> rows;
    std::vector<std::uint8_t> holdout_y;
    for (std::uint32_t r = 0; r < data->rows(); ++r)
        if (is_holdout(r)) rows.push_back(r), holdout_y.push_back((*y)[r]);
    auto pd = score_rows(*m, *data, rows);
    ASSERT_TRUE(pd);
    auto e = evaluate(*pd, holdout_y);
    EXPECT_EQ(e.count, 6516u);
    EXPECT_GE(e.roc_auc, 0.895);
    EXPECT_LE(e.brier, 0.0928);
    EXPECT_LE(e.ece, 0.02);
}

TEST(trainer, flags_the_reference_designs_leaky_data_set) {
    if (!have(reference_design_data)) GTEST_SKIP() << reference_design_data << " not found";
    auto data = load_dataset(reference_design_data);
    ASSERT_TRUE(data) << data.err().message();
    auto y = labels(*data, "Status");
    ASSERT_TRUE(y);
    std::vector<std::uint32_t> rows;
    std::vector<std::string> features;
    for (std::uint32_t r = 0; r < data->rows(); ++r)
        if (!is_holdout(r)) rows.push_back(r);
    for (const auto& c : data->columns)
        if (c.name != "Status" && c.name != "ID") features.push_back(c.name);
    auto w = leakage_diagnostic(*data, *y, rows, features);
    bool rate_flagged = false;
    for (const auto& line : w) rate_flagged |= line.find("whether 'rate_of_interest' is missing") != std::string::npos;
    EXPECT_TRUE(rate_flagged) << ::testing::PrintToString(w);
}

// Pins the synthetic portfolio generator (`loanrisk bench`, the server's warm-up): whatever the model,
// what it draws decodes under that model.
#include <gtest/gtest.h>

#include "decoder_fixture.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/synthetic.hpp"

using namespace loanrisk;

namespace {

std::string decode_synthetic(const std::string& model_json, io::text_format format) {
    auto model = core::parse_model(model_json);
    if (!model) return model.err().message();
    const auto compiled = loanrisk::testing::compiled(model_json);
    const std::string body = io::synthetic_portfolio(*model, 2000, format, 3);
    auto b = loanrisk::testing::empty_batch(compiled);
    status st = ok();
    if (format == io::text_format::csv) {
        io::csv_decoder d(compiled);
        st = d.feed(body, b);
        if (st) st = d.finish(b);
    } else {
        st = io::decode_json_batch(body, compiled, b);
    }
    return st ? std::to_string(b.size) : st.err().message();
}

}  // namespace

TEST(synthetic, draws_loans_that_decode_under_their_model) {
    EXPECT_EQ(decode_synthetic(loanrisk::testing::small_model, io::text_format::csv), "2000");
    EXPECT_EQ(decode_synthetic(loanrisk::testing::small_model, io::text_format::json_batch), "2000");
}

// Found by the model-loader fuzzer: without a training range the generator drew from [0, 1], below a
// domain starting at 150, and the server's warm-up refused a valid model.
TEST(synthetic, draws_inside_the_domain_when_the_model_has_no_training_range) {
    const std::string m = loanrisk::testing::small_model_with(
        "\"domain\": {\"min\": 0, \"max\": null}, \"training_range\": {\"min\": 100, \"max\": 1000},",
        "\"domain\": {\"min\": 150.005, \"max\": 150.009},");
    EXPECT_EQ(decode_synthetic(m, io::text_format::csv), "2000");
}

// Found by the model-loader fuzzer: field names (and categories) are CSV fields, quoted when they hold a
// comma or a quote; written bare, the header had more columns than the records.
TEST(synthetic, quotes_names_that_need_it_in_csv) {
    const std::string m = loanrisk::testing::small_model_with("\"name\": \"rate\"", "\"name\": \"ra,\\\"te\"");
    EXPECT_EQ(decode_synthetic(m, io::text_format::csv), "2000");
}

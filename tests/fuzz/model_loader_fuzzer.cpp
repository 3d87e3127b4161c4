// libFuzzer: model artifacts (core::parse_model, compile). Any input: an error value naming the JSON
// path, or a model that writes back to the same text, compiles, and scores loans drawn from itself.
#include "fuzz_support.hpp"
#include "loanrisk/synthetic.hpp"

using namespace loanrisk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = core::parse_model(fuzz::text(data, size));
    if (!parsed) {
        fuzz::require(!parsed.err().what.empty(), "a refused model says why");
        return 0;
    }
    const std::string written = core::write_model(*parsed);
    auto again = core::parse_model(written);
    fuzz::require(bool(again), "a written model loads again");
    fuzz::require(core::write_model(*again) == written, "writing a loaded model is stable");
    auto model = std::make_shared<const core::model>(std::move(*parsed));
    auto compiled = core::compile(model);
    if (!compiled) return 0;  // e.g. no age field: still a valid artifact, refused by the server's start-up
    const std::string csv = io::synthetic_portfolio(*model, 16, io::text_format::csv, 7);
    core::loan_batch b;
    b.reset(*compiled);
    io::csv_decoder d(*compiled);
    auto st = d.feed(csv, b);
    if (st) st = d.finish(b);
    if (!st) {
        std::fprintf(stderr, "%s\n", st.err().message().c_str());
        fuzz::fail("loans drawn from a model decode under it");
    }
    fuzz::score_and_check(*compiled, b);
    return 0;
}

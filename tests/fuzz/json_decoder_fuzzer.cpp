// libFuzzer: /predict and /batch_predict JSON bodies (io::decode_json_single, io::decode_json_batch).
// Any input: an error value or a batch that scores within [0, 1] on every kernel; never a crash.
#include "fuzz_support.hpp"
#include "loanrisk/decode.hpp"

using namespace loanrisk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto body = fuzz::text(data, size);
    const auto& m = fuzz::shipped();
    core::loan_batch b;
    b.reset(m, true);
    if (io::decode_json_single(body, m, b)) {
        fuzz::require(b.size == 1, "a decoded /predict body is one loan");
        fuzz::score_and_check(m, b);
    }
    b.reset(m, true);
    if (io::decode_json_batch(body, m, b)) fuzz::score_and_check(m, b);
    return 0;
}

// libFuzzer: /predict and /batch_predict JSON bodies (io::decode_json_single, io::decode_json_batch).
// Any input: an error value or a batch that scores within [0, 1] on every kernel; never a crash. Decoded in
// pieces (the large-body path), the same outcome.
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
    const status whole = io::decode_json_batch(body, m, b);
    if (whole) fuzz::score_and_check(m, b);
    // In pieces of a few bytes on three threads (as a large body is): the same loans, error and loans kept.
    io::decode_limits pieces;
    pieces.threads = 3;
    pieces.json_piece_bytes = size ? 1 + data[0] % 48 : 1;
    core::loan_batch p;
    p.reset(m, true);
    const status in_pieces = io::decode_json_batch(body, m, p, pieces);
    fuzz::require(bool(whole) == bool(in_pieces), "decoding in pieces does not change success");
    fuzz::require(fuzz::same_batch(b, p), "decoding in pieces does not change the loans kept");
    if (!whole)
        fuzz::require(whole.err().message() == in_pieces.err().message() && whole.err().offset == in_pieces.err().offset,
                      "decoding in pieces does not change the error");
    return 0;
}

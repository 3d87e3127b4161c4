// libFuzzer: NDJSON bodies (io::ndjson_decoder), whole and cut in two at a point the input picks
// (fuzz_support.hpp: check_stream_decoder).
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return loanrisk::fuzz::check_stream_decoder<loanrisk::io::ndjson_decoder>(data, size);
}

// loanrisk_bare_pass FILE [RUNS]: the bare simdjson On-Demand pass (bench/common/bare_pass.hpp) over a
// {"items": [...]} body file on one core, RUNS times (default 5), each from a fresh padded copy of the body as
// a server's read makes it. Prints "items N median_ms M loans_per_s L" (the median run): bench/load/run.sh
// sets /batch_predict's loans/s against it, measured in the same run on the same body.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../common/bare_pass.hpp"

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
        return 2;
    }
    char* rest = nullptr;
    const long runs = argc == 3 ? std::strtol(argv[2], &rest, 10) : 5;
    if (runs < 1 || runs > 1000 || (rest && *rest)) {
        std::fprintf(stderr, "RUNS must be a whole number from 1 to 1000, got '%s'\n", argv[2]);
        return 2;
    }
    simdjson::padded_string body;
    if (auto e = simdjson::padded_string::load(argv[1]).get(body)) {
        std::fprintf(stderr, "%s: %s\n", argv[1], simdjson::error_message(e));
        return 1;
    }
    simdjson::ondemand::parser parser;
    std::vector<double> ms;
    std::size_t items = 0;
    double sink = 0;
    for (long r = 0; r < runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const simdjson::padded_string text(std::string_view(body.data(), body.size()));
        const loanrisk::bench::bare_pass_result pass = loanrisk::bench::bare_pass(parser, text);
        const auto t1 = std::chrono::steady_clock::now();
        if (pass.error) {
            std::fprintf(stderr, "%s: not a {\"items\": [...]} body of objects: %s\n", argv[1],
                         simdjson::error_message(pass.error));
            return 1;
        }
        items = pass.items;
        sink += pass.sum + static_cast<double>(pass.chars);
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    std::printf("items %zu median_ms %.2f loans_per_s %.0f\n", items, median,
                median > 0 ? static_cast<double>(items) / (median / 1000) : 0.0);
    volatile double keep = sink;  // the sums are used, so that no read is optimised away
    (void)keep;
    return 0;
}

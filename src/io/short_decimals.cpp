// short_decimals field by field, and the run-time choice of the AVX-512 version where the CPU has it (the
// kernel's choice).
#include "short_decimals.hpp"

#include <bit>
#include <limits>

#include "loanrisk/dataset.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/kernel.hpp"

namespace loanrisk::io::detail {

void short_decimals_scalar(const char* origin, std::size_t readable, const std::uint32_t* begin,
                           const std::uint32_t* end, std::size_t rows, double min, double max, double* values,
                           std::uint8_t* done) {
    for (std::size_t g = 0; g * 8 < rows; ++g) done[g] = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t n = end[r] - begin[r];
        bool ok = n == 0;
        if (ok) {
            values[r] = std::numeric_limits<double>::quiet_NaN();
        } else if (std::endian::native == std::endian::little && n <= 8 && readable - begin[r] >= 8) {  // as parse_number_within
            ok = train::detail::parse_short_decimal(origin + begin[r], n, values[r]) && values[r] >= min &&
                 values[r] <= max;
        }
        done[r / 8] = static_cast<std::uint8_t>(done[r / 8] | (ok ? 1u << (r % 8) : 0u));
    }
}

short_decimals_fn short_decimals_for_this_cpu() {
    // The kernel's run-time choice: its avx512 needs F, CD, DQ and BW, every extension the parser uses.
    static const short_decimals_fn chosen =
        core::best_kernel() == "avx512" ? &short_decimals_avx512 : &short_decimals_scalar;
    return chosen;
}

}  // namespace loanrisk::io::detail

namespace loanrisk::io {

std::string_view csv_number_parser() {
    return detail::short_decimals_for_this_cpu() == &detail::short_decimals_avx512 ? "avx512" : "scalar";
}

}  // namespace loanrisk::io

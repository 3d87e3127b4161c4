// The run-time choice of short_decimals (short_decimals.hpp): the AVX-512 parser where the CPU has it.
#include "short_decimals.hpp"

#include <xsimd/xsimd.hpp>

namespace loanrisk::io::detail {

short_decimals_fn short_decimals_for_this_cpu() {
    // xsimd counts avx512bw only with F, CD and DQ beside it: every extension the parser uses.
    static const short_decimals_fn chosen =
        xsimd::avx512bw::version() <= xsimd::available_architectures().best ? &short_decimals_avx512 : nullptr;
    return chosen;
}

}  // namespace loanrisk::io::detail

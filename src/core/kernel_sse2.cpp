// The PD and policy kernels instantiated for sse2; this file is compiled with that instruction set's
// flags (see CMakeLists.txt) and only ever called after a run-time check that the CPU has it.
#include "kernel_impl.hpp"

namespace loanrisk::core::detail {
template void pd_kernel::operator()<xsimd::sse2>(xsimd::sse2, const kernel_args&, std::size_t, std::size_t,
                                                   float*) const;
template void policy_kernel::operator()<xsimd::sse2>(xsimd::sse2, const policy_args&, const float*, std::size_t,
                                                       std::uint8_t*, double*, block_totals&) const;
}  // namespace loanrisk::core::detail

// The kernel, written once over the xsimd architecture. Included only by the kernel_<arch>.cpp files, each
// compiled with its instruction set's flags and instantiating pd_kernel for that architecture.
#pragma once

#include <xsimd/xsimd.hpp>

#include "loanrisk/kernel.hpp"

namespace loanrisk::core::detail {

struct pd_kernel {
    template <class Arch>
    void operator()(Arch, const kernel_args& a, std::size_t begin, std::size_t end, float* pd) const;
};

template <class Arch>
void pd_kernel::operator()(Arch, const kernel_args& a, std::size_t begin, std::size_t end, float* pd) const {
    using fbatch = xsimd::batch<float, Arch>;
    using ibatch = xsimd::batch<std::int32_t, Arch>;
    constexpr std::size_t width = fbatch::size;
    std::size_t i = begin;
    for (; i + width <= end; i += width) {
        fbatch logit(a.intercept);
        for (std::size_t t = 0; t < a.dense_terms; ++t)
            logit = xsimd::fma(fbatch(a.dense_weight[t]), fbatch::load_unaligned(a.dense[t] + i), logit);
        for (std::size_t t = 0; t < a.lookup_terms; ++t) {
            // Widen the uint16 codes to int32 lanes, then gather each lane's weight.
            ibatch idx = ibatch::load_unaligned(a.codes[t] + i);
            logit += fbatch::gather(a.tables[t], idx);
        }
        // sigmoid(x) = 1 / (1 + e^-x): exp overflows to inf for very negative logits, giving PD 0, as it should.
        fbatch p = fbatch(1.0f) / (fbatch(1.0f) + xsimd::exp(-logit));
        p.store_unaligned(pd + (i - begin));
    }
    // The tail (fewer loans than one vector): the same arithmetic, one lane at a time.
    for (; i < end; ++i) {
        float logit = a.intercept;
        for (std::size_t t = 0; t < a.dense_terms; ++t) logit = xsimd::fma(a.dense_weight[t], a.dense[t][i], logit);
        for (std::size_t t = 0; t < a.lookup_terms; ++t) logit += a.tables[t][a.codes[t][i]];
        pd[i - begin] = 1.0f / (1.0f + xsimd::exp(-logit));
    }
}

}  // namespace loanrisk::core::detail

// The kernel, written once over the xsimd architecture. Included only by the kernel_<arch>.cpp files, each
// compiled with its instruction set's flags and instantiating pd_kernel for that architecture.
#pragma once

#include <algorithm>
#include <xsimd/xsimd.hpp>

#include "loanrisk/kernel.hpp"

namespace loanrisk::core::detail {

struct pd_kernel {
    template <class Arch>
    void operator()(Arch, const kernel_args& a, std::size_t begin, std::size_t end, float* pd) const;
};

// Term-major over blocks of loans: for each term, one tight loop adds its weight to a block of logits held
// in L1. Independent iterations let the lookups of many loans overlap, instead of each loan waiting on a
// chain of dependent adds; the block then goes through the sigmoid.
template <class Arch>
void pd_kernel::operator()(Arch, const kernel_args& a, std::size_t begin, std::size_t end, float* pd) const {
    using fbatch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = fbatch::size;
    constexpr std::size_t block = 512;  // multiple of every width
    alignas(64) float logit[block];
    for (std::size_t start = begin; start < end; start += block) {
        const std::size_t n = std::min(block, end - start);
        const std::size_t vec_n = n / width * width;
        for (std::size_t j = 0; j < vec_n; j += width) fbatch(a.intercept).store_aligned(logit + j);
        for (std::size_t j = vec_n; j < n; ++j) logit[j] = a.intercept;
        for (std::size_t t = 0; t < a.dense_terms; ++t) {
            const float* x = a.dense[t] + start;
            const fbatch w(a.dense_weight[t]);
            for (std::size_t j = 0; j < vec_n; j += width)
                xsimd::fma(w, fbatch::load_unaligned(x + j), fbatch::load_aligned(logit + j)).store_aligned(logit + j);
            for (std::size_t j = vec_n; j < n; ++j) logit[j] = xsimd::fma(a.dense_weight[t], x[j], logit[j]);
        }
        // Table lookups, four terms per sweep over the block: one logit load/store per four lookups. Scalar
        // loads on purpose: hardware gathers measured slower than them on AMD Zen (bench/README.md).
        std::size_t t = 0;
        for (; t + 4 <= a.lookup_terms; t += 4) {
            const std::uint16_t *c0 = a.codes[t] + start, *c1 = a.codes[t + 1] + start, *c2 = a.codes[t + 2] + start,
                                *c3 = a.codes[t + 3] + start;
            const float *w0 = a.tables[t], *w1 = a.tables[t + 1], *w2 = a.tables[t + 2], *w3 = a.tables[t + 3];
            for (std::size_t j = 0; j < n; ++j) logit[j] += (w0[c0[j]] + w1[c1[j]]) + (w2[c2[j]] + w3[c3[j]]);
        }
        for (; t < a.lookup_terms; ++t) {
            const std::uint16_t* c0 = a.codes[t] + start;
            const float* w0 = a.tables[t];
            for (std::size_t j = 0; j < n; ++j) logit[j] += w0[c0[j]];
        }
        // sigmoid(x) = 1 / (1 + e^-x): e^-x overflows to inf for very negative logits, giving PD 0, as it should.
        float* out = pd + (start - begin);
        for (std::size_t j = 0; j < vec_n; j += width)
            (fbatch(1.0f) / (fbatch(1.0f) + xsimd::exp(-fbatch::load_aligned(logit + j)))).store_unaligned(out + j);
        for (std::size_t j = vec_n; j < n; ++j) out[j] = 1.0f / (1.0f + xsimd::exp(-logit[j]));
    }
}

}  // namespace loanrisk::core::detail

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

struct policy_kernel {
    template <class Arch>
    void operator()(Arch, const policy_args& a, const float* pd, std::size_t n, std::uint8_t* decision,
                    double* expected_loss, block_totals& t) const;
};

// One loan of the policy pass, also the tail of the vector loop: the same arithmetic lane by lane.
inline void policy_one(const policy_args& a, double p, std::size_t i, std::uint8_t* decision, double* expected_loss,
                       block_totals& t) {
    const bool review = p >= a.approve_max, reject = p >= a.reject_min;
    decision[i] = static_cast<std::uint8_t>(review + reject);
    t.review_or_worse += review;
    t.rejected += reject;
    t.pd_sum += p;
    for (std::size_t k = 0; k < 7; ++k) t.hist_ge[k] += p >= a.hist_edges[k];
    for (std::size_t k = 0; k < a.psi_edge_count; ++k) t.psi_ge[k] += p >= a.psi_edges[k];
    const double x = a.exposure[i], el = p * x * a.lgd;  // NaN exposure -> NaN Expected Loss
    expected_loss[i] = el;
    if (x == x) {
        t.exposure_sum += x;
        t.expected_loss_sum += el;
        t.with_exposure += 1;
    }
    const double age = a.age[i];  // NaN compares false: no band
    for (std::size_t k = 0; k < 5; ++k) {
        t.age_ge[k] += age >= a.age_edges[k];
        t.approved_age_ge[k] += (age >= a.age_edges[k]) && !review;
    }
}

// Vectorised over loans in double lanes (the PDs widen from float on load): every count is a masked add
// of 1.0 into a per-edge vector accumulator, summed across lanes once per call.
template <class Arch>
void policy_kernel::operator()(Arch, const policy_args& a, const float* pd, std::size_t n, std::uint8_t* decision,
                               double* expected_loss, block_totals& t) const {
    using dbatch = xsimd::batch<double, Arch>;
    constexpr std::size_t width = dbatch::size;
    const dbatch one(1.0), zero(0.0), approve_max(a.approve_max), reject_min(a.reject_min), lgd(a.lgd);
    dbatch review_or_worse = zero, rejected = zero, pd_sum = zero, exposure_sum = zero, el_sum = zero, with_exposure = zero;
    dbatch hist_ge[7], psi_ge[max_psi_edges], age_ge[5], approved_age_ge[5];
    for (auto& v : hist_ge) v = zero;
    for (auto& v : psi_ge) v = zero;
    for (auto& v : age_ge) v = zero;
    for (auto& v : approved_age_ge) v = zero;
    const std::size_t vec_n = n / width * width;
    alignas(64) double dec[width];
    for (std::size_t i = 0; i < vec_n; i += width) {
        const dbatch p = dbatch::load_unaligned(pd + i);
        const auto review = p >= approve_max, reject = p >= reject_min;
        const dbatch review_1 = xsimd::select(review, one, zero), reject_1 = xsimd::select(reject, one, zero);
        (review_1 + reject_1).store_aligned(dec);
        for (std::size_t l = 0; l < width; ++l) decision[i + l] = static_cast<std::uint8_t>(dec[l]);
        review_or_worse += review_1;
        rejected += reject_1;
        pd_sum += p;
        for (std::size_t k = 0; k < 7; ++k) hist_ge[k] += xsimd::select(p >= dbatch(a.hist_edges[k]), one, zero);
        for (std::size_t k = 0; k < a.psi_edge_count; ++k) psi_ge[k] += xsimd::select(p >= dbatch(a.psi_edges[k]), one, zero);
        const dbatch x = dbatch::load_unaligned(a.exposure + i);
        const dbatch el = p * x * lgd;
        el.store_unaligned(expected_loss + i);
        const auto has = x == x;
        exposure_sum += xsimd::select(has, x, zero);
        el_sum += xsimd::select(has, el, zero);
        with_exposure += xsimd::select(has, one, zero);
        const dbatch age = dbatch::load_unaligned(a.age + i);
        for (std::size_t k = 0; k < 5; ++k) {
            const auto in_band = age >= dbatch(a.age_edges[k]);
            age_ge[k] += xsimd::select(in_band, one, zero);
            approved_age_ge[k] += xsimd::select(in_band && !review, one, zero);
        }
    }
    t.review_or_worse += xsimd::hadd(review_or_worse);
    t.rejected += xsimd::hadd(rejected);
    t.pd_sum += xsimd::hadd(pd_sum);
    t.exposure_sum += xsimd::hadd(exposure_sum);
    t.expected_loss_sum += xsimd::hadd(el_sum);
    t.with_exposure += xsimd::hadd(with_exposure);
    for (std::size_t k = 0; k < 7; ++k) t.hist_ge[k] += xsimd::hadd(hist_ge[k]);
    for (std::size_t k = 0; k < a.psi_edge_count; ++k) t.psi_ge[k] += xsimd::hadd(psi_ge[k]);
    for (std::size_t k = 0; k < 5; ++k) {
        t.age_ge[k] += xsimd::hadd(age_ge[k]);
        t.approved_age_ge[k] += xsimd::hadd(approved_age_ge[k]);
    }
    for (std::size_t i = vec_n; i < n; ++i) policy_one(a, pd[i], i, decision, expected_loss, t);
}

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
        if (vec_n < n) {
            // The tail goes through the same vector sigmoid (scalar exp may differ in the last bit), so a
            // loan's PD never depends on where a block boundary fell.
            alignas(64) float tail[width] = {};
            std::copy(logit + vec_n, logit + n, tail);
            (fbatch(1.0f) / (fbatch(1.0f) + xsimd::exp(-fbatch::load_aligned(tail)))).store_aligned(tail);
            std::copy(tail, tail + (n - vec_n), out + vec_n);
        }
    }
}

}  // namespace loanrisk::core::detail

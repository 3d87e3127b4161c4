// The kernel, written once over the xsimd architecture. The kernel_<arch>.cpp files, each compiled with its
// instruction set's flags, instantiate pd_kernel for their architecture; kernel.cpp dispatches to them.
#pragma once

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <type_traits>
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
    if (n < width) {  // all tail (a /predict's one loan): no vector accumulators to zero and sum for nothing
        for (std::size_t i = 0; i < n; ++i) policy_one(a, pd[i], i, decision, expected_loss, t);
        return;
    }
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

inline constexpr std::size_t kernel_block = 256;  // loans per block: a multiple of every vector width

// x * y in 16-bit lanes. xsimd 8.1 has no SSE2 version of this (it multiplies lane by lane in scalar code),
// though SSE2 has the instruction.
template <class Arch>
xsimd::batch<std::uint16_t, Arch> mul16(xsimd::batch<std::uint16_t, Arch> x, xsimd::batch<std::uint16_t, Arch> y) {
    if constexpr (std::is_same_v<Arch, xsimd::sse2>) return _mm_mullo_epi16(x, y);
    else return x * y;
}

// out[j] (+)= sum of code * stride over the M column slots from `first`, for j < vec_n (a multiple of the
// width), the strides held in registers.
template <class Arch, std::size_t M>
void joint_columns(const kernel_args& a, std::size_t first, std::size_t start, std::size_t vec_n, bool add,
                   std::uint16_t* out) {
    using ubatch = xsimd::batch<std::uint16_t, Arch>;
    const std::uint16_t* code[M];
    ubatch stride[M];
    for (std::size_t k = 0; k < M; ++k) {
        code[k] = a.group_codes[first + k] + start;
        stride[k] = ubatch(a.group_strides[first + k]);
    }
    for (std::size_t j = 0; j < vec_n; j += ubatch::size) {
        ubatch sum = mul16<Arch>(ubatch::load_unaligned(code[0] + j), stride[0]);
        for (std::size_t k = 1; k < M; ++k) sum += mul16<Arch>(ubatch::load_unaligned(code[k] + j), stride[k]);
        if (add) sum += ubatch::load_aligned(out + j);
        sum.store_aligned(out + j);
    }
}

// The joint indices of group g for loans [start, start + n) (n <= kernel_block) into `out`: the sum of
// code * stride over the group's columns, in 16-bit lanes (a one-column group's stride is 1: a copy).
template <class Arch>
void joint_index(const kernel_args& a, std::size_t g, std::size_t start, std::size_t n, std::uint16_t* out) {
    using ubatch = xsimd::batch<std::uint16_t, Arch>;
    constexpr std::size_t width = ubatch::size;
    const std::size_t first = a.group_begin[g], last = a.group_begin[g + 1];
    const std::size_t vec_n = n / width * width;
    if (last - first == 1) {
        const std::uint16_t* code = a.group_codes[first] + start;
        for (std::size_t j = 0; j < vec_n; j += width) ubatch::load_unaligned(code + j).store_aligned(out + j);
        for (std::size_t j = vec_n; j < n; ++j) out[j] = code[j];
        return;
    }
    switch (last - first) {
    case 2: joint_columns<Arch, 2>(a, first, start, vec_n, false, out); break;
    case 3: joint_columns<Arch, 3>(a, first, start, vec_n, false, out); break;
    default:
        joint_columns<Arch, 4>(a, first, start, vec_n, false, out);
        for (std::size_t c = first + 4; c < last; ++c) joint_columns<Arch, 1>(a, c, start, vec_n, true, out);
    }
    for (std::size_t j = vec_n; j < n; ++j) {
        unsigned sum = 0;
        for (std::size_t c = first; c < last; ++c) sum += a.group_codes[c][start + j] * unsigned{a.group_strides[c]};
        out[j] = static_cast<std::uint16_t>(sum);
    }
}

// Adds the weights of groups [g, g + K) to a block's logits in one sweep. Scalar loads on purpose:
// hardware gathers measured slower than them on AMD Zen (bench/README.md). The load ports bound this
// loop, so the indices of four loans come in one 64-bit load and are taken apart in registers, and all
// index rows sit at fixed distances from one pointer (registers are scarce with five tables).
template <class Arch, std::size_t K>
void add_groups(const kernel_args& a, std::size_t g, std::size_t start, std::size_t n, bool first, float* logit) {
    alignas(64) std::uint16_t index[K * kernel_block];
    const float* w[K];
    for (std::size_t k = 0; k < K; ++k) {
        joint_index<Arch>(a, g + k, start, n, index + k * kernel_block);
        w[k] = a.group_tables[g + k];
    }
    const std::size_t quads = n / 4 * 4;
    for (std::size_t j = 0; j < quads; j += 4) {
        std::uint64_t four[K];
        for (std::size_t k = 0; k < K; ++k) std::memcpy(&four[k], index + k * kernel_block + j, sizeof four[k]);
        for (std::size_t q = 0; q < 4; ++q) {
            float sum = w[0][four[0] & 0xffff];
            for (std::size_t k = 1; k < K; ++k) sum += w[k][four[k] & 0xffff];
            logit[j + q] = (first ? a.intercept : logit[j + q]) + sum;
            for (std::size_t k = 0; k < K; ++k) four[k] >>= 16;
        }
    }
    for (std::size_t j = quads; j < n; ++j) {
        float sum = w[0][index[j]];
        for (std::size_t k = 1; k < K; ++k) sum += w[k][index[k * kernel_block + j]];
        logit[j] = (first ? a.intercept : logit[j]) + sum;
    }
}

// The intercept, when no lookup sweep will add it, and the dense terms into a block's logits.
template <class Arch>
void add_dense(const kernel_args& a, std::size_t start, std::size_t n, bool lookups_first, float* logit) {
    using fbatch = xsimd::batch<float, Arch>;
    const std::size_t vec_n = n / fbatch::size * fbatch::size;
    if (!lookups_first)
        for (std::size_t j = 0; j < n; ++j) logit[j] = a.intercept;
    for (std::size_t t = 0; t < a.dense_terms; ++t) {
        const float* x = a.dense[t] + start;
        const fbatch w(a.dense_weight[t]);
        for (std::size_t j = 0; j < vec_n; j += fbatch::size)
            xsimd::fma(w, fbatch::load_unaligned(x + j), fbatch::load_aligned(logit + j)).store_aligned(logit + j);
        for (std::size_t j = vec_n; j < n; ++j) logit[j] = xsimd::fma(a.dense_weight[t], x[j], logit[j]);
    }
}

// PD = sigmoid(logit) = 1 / (1 + e^-logit) for a block: e^-x overflows to inf for very negative logits,
// giving PD 0, as it should.
template <class Arch>
void sigmoid_block(const float* logit, std::size_t n, float* out) {
    using fbatch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = fbatch::size;
    const std::size_t vec_n = n / width * width;
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

// AVX-512 looks each register group up on its own when every group's table fits in eight registers
// (kernel_args::tables_in_registers): 16 loans per permute, and a two-column group's code made in registers
// from its columns.

#define LOANRISK_AVX512 __attribute__((target("avx512f,avx512bw")))

// 16 loans' weights from a table held in R registers: permutes (vpermps for a lone register, vpermt2ps for
// a pair) on the index's low five bits, blends on bits 5 and 6.
template <unsigned R, unsigned K>  // entries [16K, 16K + 32) of R registers
LOANRISK_AVX512 inline __m512 weights_from_pair(const __m512* r, __m512i idx) {
    if constexpr (K + 1 < R) return _mm512_permutex2var_ps(r[K], idx, r[K + 1]);
    else return _mm512_permutexvar_ps(idx, r[K]);
}

template <unsigned R>
LOANRISK_AVX512 inline __m512 weights_from_registers(const __m512* r, __m512i idx) {
    if constexpr (R <= 2) {
        return weights_from_pair<R, 0>(r, idx);
    } else {
        const __mmask16 bit5 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(32));
        const __m512 low = _mm512_mask_blend_ps(bit5, weights_from_pair<R, 0>(r, idx), weights_from_pair<R, 2>(r, idx));
        if constexpr (R <= 4) {
            return low;
        } else {
            __m512 high = weights_from_pair<R, 4>(r, idx);
            if constexpr (R > 6) high = _mm512_mask_blend_ps(bit5, high, weights_from_pair<R, 6>(r, idx));
            return _mm512_mask_blend_ps(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(64)), low, high);
        }
    }
}

// Adds one register group's weights to n logits (the intercept instead of the logits when First): 16 at a
// time with the table in R registers, the rest (all of a one-loan /predict) one by one from the table in
// memory, which adds the same float to the same float: a loan's PD does not depend on which way it went.
// Its codes are `codes`, or, for two columns (Cross), codes * stride + second.
template <unsigned R, bool First, bool Cross>
LOANRISK_AVX512 inline void add_term_from_registers(const float* table, unsigned regs, const std::uint16_t* codes,
                                                    const std::uint16_t* second, std::uint16_t stride,
                                                    std::size_t n, float intercept, float* logit) {
    const std::size_t vec_n = n / 16 * 16;
    if (vec_n) {
        __m512 r[R];  // registers past the table's own are zeros no code reaches
        for (unsigned k = 0; k < R; ++k) r[k] = k < regs ? _mm512_loadu_ps(table + 16 * k) : _mm512_setzero_ps();
        const __m512 base = _mm512_set1_ps(intercept);
        const __m256i stride16 = _mm256_set1_epi16(static_cast<short>(stride));
        for (std::size_t j = 0; j < vec_n; j += 16) {
            __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + j));
            if constexpr (Cross)
                c = _mm256_add_epi16(_mm256_mullo_epi16(c, stride16),
                                     _mm256_loadu_si256(reinterpret_cast<const __m256i*>(second + j)));
            const __m512 w = weights_from_registers<R>(r, _mm512_cvtepu16_epi32(c));
            _mm512_store_ps(logit + j, _mm512_add_ps(First ? base : _mm512_load_ps(logit + j), w));
        }
    }
    for (std::size_t j = vec_n; j < n; ++j) {
        const std::uint16_t code = Cross ? static_cast<std::uint16_t>(unsigned{codes[j]} * stride + second[j]) : codes[j];
        logit[j] = (First ? intercept : logit[j]) + table[code];
    }
}

// Every register group of loans [start, start + n) into the block's logits, one group at a time.
LOANRISK_AVX512 inline void add_terms_from_registers(const kernel_args& a, std::size_t start, std::size_t n,
                                                     bool first, float* logit) {
    for (std::size_t t = 0; t < a.register_groups; ++t) {
        const bool cross = a.register_second[t] != nullptr;
        const std::uint16_t* codes = a.register_first[t] + start;
        const std::uint16_t* second = cross ? a.register_second[t] + start : nullptr;
        const std::uint16_t stride = a.register_stride[t];
        const float* table = a.register_tables[t];
        // Tables of 3, or 5 to 7, registers take the 4- or 8-register permutes: exact ones (vpermps for the odd
        // register) measured 5-8% slower on Zen 4.
        const unsigned regs = a.register_entries[t] / 16;
        auto run = [&]<unsigned R, bool First>() {
            if (cross) add_term_from_registers<R, First, true>(table, regs, codes, second, stride, n, a.intercept, logit);
            else add_term_from_registers<R, First, false>(table, regs, codes, second, stride, n, a.intercept, logit);
        };
        auto sized = [&]<bool First>() {
            switch (regs) {
            case 1: run.template operator()<1, First>(); break;
            case 2: run.template operator()<2, First>(); break;
            case 3:
            case 4: run.template operator()<4, First>(); break;
            default: run.template operator()<8, First>(); break;
            }
        };
        if (first && t == 0) sized.template operator()<true>();
        else sized.template operator()<false>();
    }
}

#undef LOANRISK_AVX512

// The block's table lookups: avx512 from its tables in registers when they fit, else the lookup groups, up
// to five per sweep over the block (one logit store per sweep, and one load after the first).
template <class Arch>
void add_lookups(const kernel_args& a, std::size_t start, std::size_t n, bool lookups_first, float* logit) {
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>)
        if (a.tables_in_registers) return add_terms_from_registers(a, start, n, lookups_first, logit);
    std::size_t g = 0;
    for (; a.groups - g > 5; g += 4) add_groups<Arch, 4>(a, g, start, n, lookups_first && g == 0, logit);
    const bool first = lookups_first && g == 0;
    switch (a.groups - g) {
    case 5: add_groups<Arch, 5>(a, g, start, n, first, logit); break;
    case 4: add_groups<Arch, 4>(a, g, start, n, first, logit); break;
    case 3: add_groups<Arch, 3>(a, g, start, n, first, logit); break;
    case 2: add_groups<Arch, 2>(a, g, start, n, first, logit); break;
    case 1: add_groups<Arch, 1>(a, g, start, n, first, logit); break;
    default: break;
    }
}

// Term-major over blocks of loans: for each dense term, and for each sweep of lookup groups (or each
// register group, from registers), one tight loop adds to a block of logits held in L1. Independent iterations let the
// lookups of many loans overlap, instead of each loan waiting on a chain of dependent adds; the block then
// goes through the sigmoid. Blocks of 256 measured faster over 1M loans than 512 or 1024 (and, from
// registers on Zen 4, than 128 or 2048).
template <class Arch>
void pd_kernel::operator()(Arch, const kernel_args& a, std::size_t begin, std::size_t end, float* pd) const {
    // The intercept: added by the first lookup sweep when no dense term comes before it.
    const bool lookups_first = a.dense_terms == 0 && a.lookup_terms > 0;
    alignas(64) float logit[kernel_block];
    for (std::size_t start = begin; start < end; start += kernel_block) {
        const std::size_t n = std::min(kernel_block, end - start);
        add_dense<Arch>(a, start, n, lookups_first, logit);
        add_lookups<Arch>(a, start, n, lookups_first, logit);
        sigmoid_block<Arch>(logit, n, pd + (start - begin));
    }
}

}  // namespace loanrisk::core::detail

// store_bin_codes for AVX-512: bin_code's guess and its check on eight values at a time (the guess table's
// bytes and the fences around them gathered), so a block's column of binned values costs no branch per
// value; a value whose guess the fences do not confirm (a cell an edge cuts) is counted by bin_of alone.
// Compiled with the AVX-512 flags (CMakeLists.txt) and only called after a run-time check
// (detail::bin_codes_for_this_cpu).
#include <immintrin.h>

#include <cstdint>

#include "loanrisk/batch.hpp"

namespace loanrisk::core::detail {

void bin_codes_avx512(const input_field& in, const double* x, std::size_t n, std::uint16_t* codes) {
    // The guess table is read as 32-bit words ending at the byte wanted (or starting at the table's first
    // byte): never outside the table, which has at least four bytes here.
    if (in.bin_guess.size() < 4) return bin_codes_scalar(in, x, n, codes);
    const auto inner = static_cast<long long>(in.bin_guess.size()) - 2;
    const std::uint8_t* guess = in.bin_guess.data();
    const double* fence = in.fenced_edges.data();  // edge k at fence[k + 1], -inf and +inf around them
    const __m512d origin = _mm512_set1_pd(in.guess_origin), scale = _mm512_set1_pd(in.guess_scale);
    const __m512d last_cell = _mm512_set1_pd(static_cast<double>(inner)), zero = _mm512_setzero_pd();
    const __m512i one = _mm512_set1_epi64(1), three = _mm512_set1_epi64(3);
    for (std::size_t r = 0; r < n; r += 8) {
        const auto lanes = static_cast<__mmask8>(n - r >= 8 ? 0xff : (1u << (n - r)) - 1);
        const __m512d v = _mm512_maskz_loadu_pd(lanes, x + r);
        const __mmask8 present = _mm512_mask_cmp_pd_mask(lanes, v, v, _CMP_ORD_Q);  // NaN: missing, left as is
        // bin_code's cell: 0 below the first edge (and for t NaN), inner + 1 at or above the last, else t + 1.
        const __m512d t = _mm512_mul_pd(_mm512_sub_pd(v, origin), scale);
        const __mmask8 nonnegative = _mm512_cmp_pd_mask(t, zero, _CMP_GE_OQ);
        const __m512i cell = _mm512_maskz_add_epi64(nonnegative, _mm512_cvttpd_epi64(_mm512_min_pd(t, last_cell)), one);
        const __m512i word = _mm512_max_epi64(_mm512_sub_epi64(cell, three), _mm512_setzero_si512());
        const __m256i bytes = _mm512_i64gather_epi32(word, guess, 1);
        const __m256i shift = _mm512_cvtepi64_epi32(_mm512_slli_epi64(_mm512_sub_epi64(cell, word), 3));
        const __m512i c = _mm512_cvtepu32_epi64(_mm256_and_si256(_mm256_srlv_epi32(bytes, shift), _mm256_set1_epi32(0xff)));
        const __m512d below = _mm512_i64gather_pd(c, fence, 8), above = _mm512_i64gather_pd(_mm512_add_epi64(c, one), fence, 8);
        const __mmask8 confirmed = present & _mm512_cmp_pd_mask(below, v, _CMP_LE_OQ) & _mm512_cmp_pd_mask(v, above, _CMP_LT_OQ);
        _mm512_mask_cvtepi64_storeu_epi16(codes + r, confirmed, c);
        for (unsigned left = present & ~confirmed & 0xffu; left != 0; left &= left - 1) {
            const std::size_t k = r + static_cast<std::size_t>(__builtin_ctz(left));
            codes[k] = static_cast<std::uint16_t>(bin_of(in.edges, x[k]));
        }
    }
}

}  // namespace loanrisk::core::detail

// short_decimals for AVX-512: parse_short_decimal's steps on eight 64-bit lanes, one field per lane (a
// gathered little-endian word), and the domain check, so a block's column of numbers costs no branch per
// field. Compiled with
// the AVX-512 flags (CMakeLists.txt) and only called after a run-time check (short_decimals_for_this_cpu).
#include <immintrin.h>

#include <limits>

#include "short_decimals.hpp"

namespace loanrisk::io::detail {

void short_decimals_avx512(const char* origin, std::size_t readable, const std::uint32_t* begin,
                           const std::uint32_t* end, std::size_t rows, double min, double max, double* values,
                           std::uint8_t* done) {
    auto bytes = [](std::uint8_t b) { return _mm512_set1_epi64(static_cast<long long>(0x0101010101010101ULL * b)); };
    const __m512i ones = _mm512_set1_epi64(-1), one = _mm512_set1_epi64(1), eight = _mm512_set1_epi64(8);
    const __m512i point = bytes('.'), high_nibbles = bytes(0xf0), threes = bytes(0x30), sixes = bytes(0x06);
    const __m512i pairs = _mm512_set1_epi64(0x000000FF000000FFLL);
    const __m512i pairs_high = _mm512_set1_epi64(static_cast<long long>(100 + (1000000ULL << 32)));
    const __m512i pairs_low = _mm512_set1_epi64(static_cast<long long>(1 + (10000ULL << 32)));
    const __m512d powers_of_ten = _mm512_setr_pd(1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7);
    const __m512d smallest = _mm512_set1_pd(min), largest = _mm512_set1_pd(max);
    const __m512d missing = _mm512_set1_pd(std::numeric_limits<double>::quiet_NaN());
    // A field may be read as a word when 8 bytes from its start are readable.
    const __m512i last_start = _mm512_set1_epi64(readable >= 8 ? static_cast<long long>(readable - 8) : -1);
    for (std::size_t r = 0; r < rows; r += 8) {
        const auto lanes = static_cast<__mmask16>(rows - r >= 8 ? 0xff : (1u << (rows - r)) - 1);
        const __m256i first = _mm512_castsi512_si256(_mm512_maskz_loadu_epi32(lanes, begin + r));
        const __m256i past = _mm512_castsi512_si256(_mm512_maskz_loadu_epi32(lanes, end + r));
        const __m512i start = _mm512_cvtepu32_epi64(first);
        const __m512i n = _mm512_cvtepu32_epi64(_mm256_sub_epi32(past, first));
        // 1 to 8 bytes, readable as a word.
        const __mmask8 ok = static_cast<__mmask8>(lanes) & _mm512_cmple_epu64_mask(_mm512_sub_epi64(n, one), _mm512_set1_epi64(7)) &
                      (readable >= 8 ? _mm512_cmple_epi64_mask(start, last_start) : __mmask8{0});
        __m512i w = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), ok, first, origin, 1);
        const __m512i keep = _mm512_srlv_epi64(ones, _mm512_sub_epi64(_mm512_set1_epi64(64), _mm512_slli_epi64(n, 3)));
        // The point: 0x80 in its byte. At most one, neither first nor last.
        const __m512i dots = _mm512_and_si512(_mm512_maskz_mov_epi8(_mm512_cmpeq_epi8_mask(w, point), bytes(0x80)), keep);
        const __mmask8 has_dot = _mm512_test_epi64_mask(dots, dots);
        const __mmask8 one_dot = _mm512_testn_epi64_mask(dots, _mm512_sub_epi64(dots, one));
        // Its byte index: the lowest set bit's position (63 - lzcnt of it alone) / 8; 8 when there is none.
        const __m512i lowest = _mm512_and_si512(dots, _mm512_sub_epi64(_mm512_setzero_si512(), dots));
        const __m512i at = _mm512_mask_mov_epi64(eight, has_dot,
                                                 _mm512_srli_epi64(_mm512_sub_epi64(_mm512_set1_epi64(63), _mm512_lzcnt_epi64(lowest)), 3));
        const __mmask8 inside = _mm512_mask_cmpneq_epi64_mask(_mm512_cmpneq_epi64_mask(at, _mm512_setzero_si512()), at,
                                                              _mm512_sub_epi64(n, one));
        // The point taken out: the bytes above it moved down one.
        const __m512i below = _mm512_sub_epi64(_mm512_sllv_epi64(one, _mm512_slli_epi64(at, 3)), one);
        w = _mm512_mask_mov_epi64(w, has_dot, _mm512_or_si512(_mm512_and_si512(w, below),
                                                              _mm512_andnot_si512(below, _mm512_srli_epi64(w, 8))));
        const __m512i digits = _mm512_mask_sub_epi64(n, has_dot, n, one);
        const __m512i fraction = _mm512_maskz_sub_epi64(has_dot, _mm512_sub_epi64(n, one), at);
        // Every digit byte 0x30-0x39: high nibble 3, and still 3 after adding 6.
        const __m512i mask = _mm512_srlv_epi64(ones, _mm512_sub_epi64(_mm512_set1_epi64(64), _mm512_slli_epi64(digits, 3)));
        const __m512i high = _mm512_and_si512(mask, high_nibbles), three = _mm512_and_si512(mask, threes);
        const __mmask8 all_digits = _mm512_mask_cmpeq_epi64_mask(_mm512_cmpeq_epi64_mask(_mm512_and_si512(w, high), three),
                                                                 _mm512_and_si512(_mm512_add_epi64(w, sixes), high), three);
        // Digit values right-aligned as an 8-digit number, then combined as parse_short_decimal does.
        __m512i v = _mm512_sllv_epi64(_mm512_sub_epi64(_mm512_and_si512(w, mask), three),
                                      _mm512_slli_epi64(_mm512_sub_epi64(eight, digits), 3));
        v = _mm512_add_epi64(_mm512_add_epi64(_mm512_slli_epi64(v, 3), _mm512_slli_epi64(v, 1)), _mm512_srli_epi64(v, 8));
        v = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mullo_epi64(_mm512_and_si512(v, pairs), pairs_high),
                                               _mm512_mullo_epi64(_mm512_and_si512(_mm512_srli_epi64(v, 16), pairs), pairs_low)),
                              32);
        const __m512d x = _mm512_div_pd(_mm512_cvtepu64_pd(v), _mm512_permutexvar_pd(fraction, powers_of_ten));
        const __mmask8 in_domain = _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(x, smallest, _CMP_GE_OQ), x, largest, _CMP_LE_OQ);
        const __mmask8 empty = _mm512_mask_cmpeq_epi64_mask(static_cast<__mmask8>(lanes), n, _mm512_setzero_si512());
        _mm512_mask_storeu_pd(values + r, static_cast<__mmask8>(lanes), _mm512_mask_mov_pd(x, empty, missing));
        done[r / 8] = static_cast<std::uint8_t>(
            (ok & one_dot & (inside | static_cast<unsigned>(~has_dot)) & all_digits & in_domain) | empty);
    }
}

}  // namespace loanrisk::io::detail

// A block's column of CSV numbers decoded at once (csv_decoder's fill_plain): empty fields, and fields that
// are plain decimals of 1 to 8 bytes within the input's domain, as train::detail::parse_short_decimal reads
// them; eight fields at a time where the CPU allows.
#pragma once

#include <cstddef>
#include <cstdint>

namespace loanrisk::io::detail {

// The fields of rows [0, rows) of one column: field r is bytes [begin[r], end[r]) from `origin`, and
// `readable` bytes from origin may be read. Bit r % 8 of done[r / 8] is set for an empty field (values[r]
// NaN: missing) and for a field parse_short_decimal reads (1 to 8 bytes of digits with at most one point
// inside them, 8 bytes readable from its start) whose number lies in [min, max] (values[r] that number, to
// the bit); it is clear for every other row (values[r] unspecified), for the caller's full parse. `rows`
// <= 256; offsets below 2^31.
using short_decimals_fn = void (*)(const char* origin, std::size_t readable, const std::uint32_t* begin,
                                   const std::uint32_t* end, std::size_t rows, double min, double max,
                                   double* values, std::uint8_t* done);

// The fastest of those this CPU runs.
short_decimals_fn short_decimals_for_this_cpu();

// Field by field (every CPU).
void short_decimals_scalar(const char* origin, std::size_t readable, const std::uint32_t* begin,
                           const std::uint32_t* end, std::size_t rows, double min, double max, double* values,
                           std::uint8_t* done);

// Eight fields at a time with AVX-512 (F, BW, DQ, CD); call only where the CPU has it
// (short_decimals_avx512.cpp).
void short_decimals_avx512(const char* origin, std::size_t readable, const std::uint32_t* begin,
                           const std::uint32_t* end, std::size_t rows, double min, double max, double* values,
                           std::uint8_t* done);

}  // namespace loanrisk::io::detail

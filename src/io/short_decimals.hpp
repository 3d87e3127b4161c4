// Numbers of a CSV column parsed eight fields at a time where the CPU allows (csv_decoder's fill_plain):
// the fields that are plain decimals of 1 to 8 bytes, as train::detail::parse_short_decimal reads them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace loanrisk::io::detail {

// The fields of rows [0, rows) of one column: field r is bytes [begin[r], end[r]) from `origin`, and
// `readable` bytes from origin may be read. For each row whose field parse_short_decimal reads (1 to 8
// bytes of digits with at most one point inside them, 8 bytes readable from its start), values[r] is that
// number, to the bit, and bit r % 8 of parsed[r / 8] is set; every other row's bit is clear (its value is
// garbage), for the caller's scalar parse. `rows` <= 256; offsets below 2^31.
using short_decimals_fn = void (*)(const char* origin, std::size_t readable, const std::uint32_t* begin,
                                   const std::uint32_t* end, std::size_t rows, double* values, std::uint8_t* parsed);

// The fastest such parser this CPU runs, or nullptr when none beats the scalar loop (no AVX-512).
short_decimals_fn short_decimals_for_this_cpu();

// AVX-512 (F, BW, DQ, CD); call only where the CPU has it (short_decimals_avx512.cpp).
void short_decimals_avx512(const char* origin, std::size_t readable, const std::uint32_t* begin,
                           const std::uint32_t* end, std::size_t rows, double* values, std::uint8_t* parsed);

}  // namespace loanrisk::io::detail

// LoanBatch: loans as columns, the form decoders produce and the kernel consumes. Every model term is
// either a dense float column (standardized numerics, already imputed and standardized) or a uint16 code
// column looked up in a weight table (binned numerics, categories, crosses), so the kernel needs no
// knowledge of the original fields. Decoders compute codes in double precision, exactly as the
// reference scorer bins.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/model.hpp"
#include "loanrisk/result.hpp"

namespace loanrisk::core {

// One named input field that decoders look for (every non-cross model feature).
struct input_field {
    std::string name;
    bool numeric = true;
    value_range domain, training_range;
    // numeric, standardized: z = ((x or impute) - mean) / scale goes to dense column `column`
    // numeric, binned: code = number of edges <= x, or edges.size() + 1 when missing, to code column `column`
    bool standardized = false;
    double impute = 0, mean = 0, scale = 1;
    std::vector<double> edges;
    // Finding a value's bin without counting edges: `bin_guess` holds the bin of each of its equal cells over
    // [edges.front(), edges.back()] (a quarter of the closest two edges wide, at most 4096 of them), after
    // a cell for the values below and before one for those above; the edges on either side of the guess,
    // fenced by -inf and +inf, confirm it. Empty (bin_of counts) with fewer than 2 edges or more than 255.
    std::vector<std::uint8_t> bin_guess;
    double guess_origin = 0, guess_scale = 0;
    std::vector<double> fenced_edges;  // -inf, edges..., +inf
    // categorical: code = index in categories, categories.size() when unknown, + 1 when missing
    std::vector<std::string> categories;
    std::vector<std::uint64_t> category_keys;  // prefilter per category: its length and first 7 bytes
    // Open-addressing table over category_key: slot_code is the category's index + 1 (0: an empty slot).
    std::vector<std::uint64_t> slot_key;
    std::vector<std::uint16_t> slot_code;
    std::uint32_t column = 0;
    bool is_exposure = false;  // also copied to loan_batch::exposure
    bool is_age = false;       // also copied to loan_batch::age

    std::uint16_t missing_code() const {
        return static_cast<std::uint16_t>(numeric ? edges.size() + 1 : categories.size() + 1);
    }
    std::uint16_t unknown_code() const { return static_cast<std::uint16_t>(categories.size()); }
};

struct lookup_term {
    std::string name;       // the model feature's name (reason codes report it)
    std::size_t feature;    // index in model::features
    std::vector<float> table;  // weight per code; padded with zeros to a multiple of 16 entries
    double mean_contribution = 0;  // the feature's average contribution in training (reason codes' reference)
    // crosses: inputs (indices into compiled_model::inputs) and the partner's code count
    bool cross = false;
    std::uint32_t first_input = 0, second_input = 0, stride = 0;
};

struct dense_term {
    std::string name;
    std::size_t feature;
    float weight;
    double mean_contribution = 0;  // the feature's average contribution in training (reason codes' reference)
};

// The vector kernels' view of the lookup terms. Terms whose codes all come from a few small inputs are
// summed ahead of time into one joint table. A loan then costs one table load per group instead of one per
// term (a code load and a table load per term was what bounded the kernel). A loan's joint index is the sum
// of code * stride over the group's columns. Two plans (compiled_model):
// - groups, for the kernels that load weights from memory: every category and every cross of categories as
//   one group, binned numerics in pairs;
// - register_groups, for avx512 holding each table in registers (kernel_args::tables_in_registers): at most
//   max_register_table entries per table, so each cross over its two inputs with their single terms folded
//   in, the other terms alone.
struct lookup_group {
    std::vector<std::uint32_t> columns;  // loan_batch::codes columns read
    std::vector<std::uint16_t> strides;  // parallel to columns; the last is 1
    std::vector<float> table;            // per joint index: the covered terms' weights, summed in double
    std::vector<std::uint32_t> terms;    // the lookup terms covered (each term is in exactly one group)
};

// Limits on joint tables, so that a typical model's tables (the shipped one's: 4,115 entries, 16 KiB)
// stay in L1 together with the block being scored.
inline constexpr std::size_t max_categorical_group_entries = 4096;
inline constexpr std::size_t max_pair_group_entries = 1024;
// The largest table the avx512 kernel holds in registers: eight 16-float registers.
inline constexpr std::size_t max_register_table = 128;

// The model reduced to what decoders and the kernel need. Built once per model load.
struct compiled_model {
    std::shared_ptr<const model> source;
    std::vector<input_field> inputs;
    std::vector<dense_term> dense;
    std::vector<lookup_term> lookups;
    std::vector<lookup_group> groups;  // every lookup term, grouped for the vector kernels (see lookup_group)
    // Every lookup term grouped for avx512's registers, each table padded with zeros to a multiple of 16
    // entries; empty when one would pass max_register_table entries, or when there are no lookup terms.
    std::vector<lookup_group> register_groups;
    float intercept = 0;
    std::string exposure_field;
    int exposure_input = -1;  // index into inputs, or -1 when the exposure is not a feature
    std::string age_field;    // numeric input used for the age bands of the summary ("" = none)
    int age_input = -1;

    // Index into inputs by name, or -1.
    int find_input(std::string_view name) const;
};

// age_field: the field whose value places a loan in an age band for the summary (ignored when the model
// has no such numeric input); the model's own (model::age_field) without it. Fails (start-up error) only
// when a cross's code space exceeds 16 bits.
result<compiled_model> compile(std::shared_ptr<const model> m, std::string age_field);
result<compiled_model> compile(std::shared_ptr<const model> m);

struct loan_batch {
    std::size_t size = 0;
    std::vector<std::vector<float>> dense;          // [dense term][loan]
    std::vector<std::vector<std::uint16_t>> codes;  // [lookup term][loan]
    std::vector<double> exposure;                   // NaN when missing or not a number
    std::vector<double> age;                        // NaN when missing or no age field
    // Application ids, kept aside: text concatenated, end offsets, and whether one was given at all.
    std::string id_text;
    std::vector<std::size_t> id_end;  // 64-bit: a body over 4 GiB of ids must not wrap them
    std::vector<std::uint8_t> id_present;
    // Raw numeric inputs [input][loan] (NaN when missing), kept only when asked (explanations, warnings).
    bool keep_raw = false;
    std::vector<std::vector<double>> raw;

    // Shapes the columns for `m` and empties the batch.
    void reset(const compiled_model& m, bool keep_raw_values = false);
    void clear();  // size 0, same shape
    void reserve(std::size_t loans);
    std::string_view id(std::size_t i) const {
        const std::size_t begin = i ? id_end[i - 1] : 0;
        return std::string_view(id_text).substr(begin, id_end[i] - begin);
    }
    // Appends one loan whose columns the caller then fills through the setters below: codes default to
    // "missing", dense to the imputed value, exposure and age to NaN, no id. Returns its index.
    std::size_t push_default(const compiled_model& m);
    // Appends `n` such loans at once (a decoder filling rows by index); returns the first one's index.
    // Their id ends are not maintained: the decoder sets id_end of each row it fills.
    std::size_t grow(const compiled_model& m, std::size_t n);
    // Keeps the first `n` loans.
    void truncate(std::size_t n);
    // Removes the last loan (a decoder that hit an error part-way through an item).
    void pop_back();
    // Appends every loan of `other` (same model shape): batches decoded in parallel, joined in order.
    void append(const loan_batch& other);
};

// The slot of a category key in a power-of-two table of `slots` >= 2 (Fibonacci hashing: the top bits of
// a multiply mix the length and every byte of the key).
inline std::size_t category_slot(std::uint64_t key, std::size_t slots) {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> (64 - std::countr_zero(slots)));
}

// Number of edges <= x: the bin a value falls in (batch.cpp).
std::size_t bin_of(const std::vector<double>& edges, double x);

// A category's prefilter key: length in the top byte, first 7 bytes below. Equal keys and a length
// <= 7 mean equal strings.
inline std::uint64_t category_key(std::string_view s) {
    std::uint64_t k = static_cast<std::uint64_t>(std::min<std::size_t>(s.size(), 255)) << 56;
    const std::size_t n = s.size();
    if constexpr (std::endian::native == std::endian::little) {
        // Whole words instead of a byte loop (this runs per category value decoded): 8 bytes masked to 7,
        // or two 4-byte words overlapping in the middle (the shared bytes are the same on both sides).
        const char* p = s.data();
        if (n >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            return k | (w & 0x00ffffffffffffffULL);
        }
        if (n >= 4) {
            std::uint32_t lo, hi;
            std::memcpy(&lo, p, 4);
            std::memcpy(&hi, p + n - 4, 4);
            return k | lo | (static_cast<std::uint64_t>(hi) << (8 * (n - 4)));
        }
    }
    for (std::size_t i = 0; i < n && i < 7; ++i) k |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
    return k;
}

// The bin of x (the number of edges <= x, as bin_of counts): the guess of x's cell when the edges on
// either side of it agree, which is all but the values in the few cells an edge cuts (and values a rounding
// put in the next cell); bin_of otherwise.
inline std::size_t bin_code(const input_field& in, double x) {
    if (in.bin_guess.empty()) return bin_of(in.edges, x);
    const double t = (x - in.guess_origin) * in.guess_scale;
    // Signed: conversions between double and a signed integer are one instruction each, an unsigned
    // 64-bit one (size_t) is a compare and a branch more (and this runs per binned value decoded).
    const auto inner = static_cast<std::int64_t>(in.bin_guess.size()) - 2;
    const std::int64_t cell = !(t >= 0)                             ? 0
                              : t >= static_cast<double>(inner) ? inner + 1
                                                                : static_cast<std::int64_t>(t) + 1;
    const std::size_t c = in.bin_guess[static_cast<std::size_t>(cell)];
    const double* fence = in.fenced_edges.data();  // edge k at fence[k + 1], -inf and +inf around them
    if (fence[c] <= x && x < fence[c + 1]) [[likely]]  // edge c - 1 <= x < edge c
        return c;
    return bin_of(in.edges, x);
}

// The code of a category value: its index in in.categories, in.unknown_code(), or in.missing_code() for ""
// (an empty CSV field or JSON string is a missing value, whichever decoder read it).
inline std::uint16_t category_code(const input_field& in, std::string_view value) {
    if (value.empty()) return in.missing_code();
    const std::uint64_t key = category_key(value);
    const std::size_t mask = in.slot_key.size() - 1;
    for (std::size_t h = category_slot(key, in.slot_key.size()); in.slot_code[h]; h = (h + 1) & mask)
        if (in.slot_key[h] == key && (value.size() <= 7 || in.categories[in.slot_code[h] - 1u] == value))
            return static_cast<std::uint16_t>(in.slot_code[h] - 1u);
    return in.unknown_code();
}

// Whether set_number takes x for the numeric input `in`: a finite number within its domain.
inline bool number_fits(const input_field& in, double x) {
    return std::isfinite(x) && x >= in.domain.min && x <= in.domain.max;
}

// The columns other than its code or dense value that a number of input `input` (= &in's index) goes to.
inline void store_number_aside(const input_field& in, std::size_t input, loan_batch& b, std::size_t loan, double x) {
    if (in.is_exposure) b.exposure[loan] = x;
    if (in.is_age) b.age[loan] = x;
    if (b.keep_raw) b.raw[input][loan] = x;
}

// A standardized input's dense value: clamped so that an extreme (but valid) value cannot overflow float into
// inf/NaN (at |z| = 1e6 the PD is already 0 or 1).
inline float standardized_value(const input_field& in, double x) {
    return static_cast<float>(std::clamp((x - in.mean) / in.scale, -1e6, 1e6));
}

// set_number's encoding of a value number_fits took, into the columns of input `input` (= &in's index).
inline void store_number(const input_field& in, std::size_t input, loan_batch& b, std::size_t loan, double x) {
    if (in.standardized) {
        b.dense[in.column][loan] = standardized_value(in, x);
    } else {
        b.codes[in.column][loan] = static_cast<std::uint16_t>(bin_code(in, x));
    }
    store_number_aside(in, input, b, loan, x);
}

namespace detail {

// Writes codes[r] = bin_code(in, x[r]) for r < n, except where x[r] is NaN (missing: the code is left as it is).
using bin_codes_fn = void (*)(const input_field& in, const double* x, std::size_t n, std::uint16_t* codes);
// The fastest of those this CPU runs.
bin_codes_fn bin_codes_for_this_cpu();
// Value by value (every CPU).
void bin_codes_scalar(const input_field& in, const double* x, std::size_t n, std::uint16_t* codes);
// Eight values at a time with AVX-512 (F, DQ); call only where the CPU has it (bin_codes_avx512.cpp).
void bin_codes_avx512(const input_field& in, const double* x, std::size_t n, std::uint16_t* codes);

}  // namespace detail

// The bin codes of binned input `in` for n values number_fits took, NaN for a value that is missing (its
// code is left as it is). A decoder that parses a block of values first and bins them after, in this
// loop of independent values, keeps bin_code's chain of dependent loads out of its parsing.
inline void store_bin_codes(const input_field& in, const double* x, std::size_t n, std::uint16_t* codes) {
    detail::bin_codes_for_this_cpu()(in, x, n, codes);
}

// store_number for loans [loan, loan + n), x[r] the value of loan + r (NaN: missing, its columns left as
// they are): a loop per column, each of independent iterations.
inline void store_numbers(const input_field& in, std::size_t input, loan_batch& b, std::size_t loan, const double* x,
                          std::size_t n) {
    if (in.standardized) {
        float* dense = b.dense[in.column].data() + loan;
        for (std::size_t r = 0; r < n; ++r)
            if (x[r] == x[r]) dense[r] = standardized_value(in, x[r]);
    } else {
        store_bin_codes(in, x, n, b.codes[in.column].data() + loan);
    }
    if (!in.is_exposure && !in.is_age && !b.keep_raw) return;
    for (std::size_t r = 0; r < n; ++r)
        if (x[r] == x[r]) store_number_aside(in, input, b, loan + r, x[r]);
}

// Field setters shared by every decoder, so JSON, NDJSON and CSV validate and encode identically.
// Each returns an error whose `what` is the reason ("expected a finite number", "must be >= 0"); the
// decoder adds `where` (the item's path) and `code`.
status set_number(const compiled_model& m, loan_batch& b, std::size_t loan, int input, double value);
status set_category(const compiled_model& m, loan_batch& b, std::size_t loan, int input, std::string_view value);
// The exposure field when it is not a model feature: a non-number, a negative amount (no loan has one: it
// would make a negative Expected Loss) or a missing value just leaves EL null.
void set_exposure(loan_batch& b, std::size_t loan, double value);
void set_id(loan_batch& b, std::size_t loan, std::string_view id);
// After all of a loan's fields are set: derives the cross codes from their inputs' codes.
void finish_loan(const compiled_model& m, loan_batch& b, std::size_t loan);
// The same for loans [begin, end), one column at a time (recomputing a finished loan changes nothing).
void finish_loans(const compiled_model& m, loan_batch& b, std::size_t begin, std::size_t end);

}  // namespace loanrisk::core

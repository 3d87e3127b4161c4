// Compiling a model into engine form (dense columns and code tables) and filling a LoanBatch. The setters
// here are the single place where a field's value is validated against the model and encoded.
#include "loanrisk/batch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "loanrisk/json_writer.hpp"
#include "loanrisk/kernel.hpp"

namespace loanrisk::core {

int compiled_model::find_input(std::string_view name) const {
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].name == name) return static_cast<int>(i);
    return -1;
}

namespace {

// Tables are padded with zeros to whole 16-float vectors.
std::size_t padded_size(std::size_t entries) { return (entries + 15) / 16 * 16; }

std::vector<float> padded(const std::vector<double>& exact) {
    std::vector<float> table(padded_size(exact.size()), 0.0f);
    std::transform(exact.begin(), exact.end(), table.begin(), [](double w) { return static_cast<float>(w); });
    return table;
}

std::string number_text(double x) {
    std::string s;
    io::append_number(s, x);
    return s;
}

// The guess table of a binned input (see input_field::bin_guess).
void plan_bin_guess(input_field& in) {
    const std::vector<double>& e = in.edges;
    constexpr double inf = std::numeric_limits<double>::infinity();
    if (e.size() < 2 || e.size() > 255) return;  // bin_of counts these
    double closest = inf;
    for (std::size_t k = 1; k < e.size(); ++k)
        if (e[k] > e[k - 1]) closest = std::min(closest, e[k] - e[k - 1]);
    const double span = e.back() - e.front();
    const double ratio = 4 * span / closest;  // inf / inf (edges at +-1e308) is NaN
    if (!(span > 0) || !std::isfinite(ratio)) return;
    const double cells = std::clamp(std::ceil(ratio), 1.0, 4096.0);
    in.guess_origin = e.front();
    in.guess_scale = cells / span;
    in.fenced_edges.assign(1, -inf);
    in.fenced_edges.insert(in.fenced_edges.end(), e.begin(), e.end());
    in.fenced_edges.push_back(inf);
    const auto inner = static_cast<std::size_t>(cells);
    in.bin_guess.resize(inner + 2);
    in.bin_guess.front() = 0;                                        // below the first edge
    in.bin_guess.back() = static_cast<std::uint8_t>(e.size());      // at or above the last
    for (std::size_t k = 0; k < inner; ++k)  // the bin of the cell's middle: of the whole cell, unless an edge cuts it
        in.bin_guess[k + 1] =
            static_cast<std::uint8_t>(bin_of(e, in.guess_origin + (static_cast<double>(k) + 0.5) / in.guess_scale));
}

// The hash table of a categorical input's category_keys (see input_field::slot_key), a power of two with
// at least twice as many slots as categories.
void plan_category_slots(input_field& in) {
    std::size_t slots = 4;
    while (slots < 2 * in.categories.size()) slots *= 2;
    in.slot_key.assign(slots, 0);
    in.slot_code.assign(slots, 0);
    for (std::size_t c = 0; c < in.categories.size(); ++c) {
        std::size_t h = category_slot(in.category_keys[c], slots);
        while (in.slot_code[h]) h = (h + 1) & (slots - 1);
        in.slot_key[h] = in.category_keys[c];
        in.slot_code[h] = static_cast<std::uint16_t>(c + 1);
    }
}

// Every code a decoder can write to an input's column: bins or categories, then unknown / missing.
std::size_t code_count(const input_field& in) { return std::size_t{in.missing_code()} + 1; }

// The joint table over `inputs` (their columns, strides row-major: the last input varies fastest) of the
// lookup terms `terms`, each term's weight taken from its exact (double) table.
lookup_group joint_group(const compiled_model& c, const std::vector<std::vector<double>>& exact,
                         const std::vector<int>& input_of_term, const std::vector<std::uint32_t>& inputs,
                         std::vector<std::uint32_t> terms) {
    lookup_group g;
    g.terms = std::move(terms);
    std::size_t entries = 1;
    g.strides.resize(inputs.size());
    for (std::size_t k = inputs.size(); k-- > 0;) {
        g.strides[k] = static_cast<std::uint16_t>(entries);
        entries *= code_count(c.inputs[inputs[k]]);
    }
    std::vector<int> position(c.inputs.size(), -1);
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        g.columns.push_back(c.inputs[inputs[k]].column);
        position[inputs[k]] = static_cast<int>(k);
    }
    std::vector<std::size_t> code(inputs.size());
    auto code_of = [&](std::size_t input) { return code[static_cast<std::size_t>(position[input])]; };
    g.table.resize(entries);
    for (std::size_t j = 0; j < entries; ++j) {
        for (std::size_t k = 0, rest = j; k < inputs.size(); ++k) {
            code[k] = rest / g.strides[k];
            rest %= g.strides[k];
        }
        double sum = 0;
        for (std::uint32_t t : g.terms) {
            const lookup_term& term = c.lookups[t];
            sum += exact[t][term.cross ? code_of(term.first_input) * term.stride + code_of(term.second_input)
                                       : code_of(static_cast<std::size_t>(input_of_term[t]))];
        }
        g.table[j] = static_cast<float>(sum);
    }
    return g;
}

// Groups every lookup term for the vector kernels (see lookup_group): all categorical inputs with every
// term over them (categories and crosses) when their joint code space is small enough, then the other
// terms in pairs, the fewest codes with the most while the product stays small, the rest alone.
std::vector<lookup_group> plan_lookup_groups(const compiled_model& c, const std::vector<std::vector<double>>& exact,
                                             const std::vector<int>& input_of_term) {
    std::vector<lookup_group> groups;
    std::vector<bool> grouped(c.lookups.size(), false);

    std::vector<std::uint32_t> categorical;
    std::size_t entries = 1;
    for (std::size_t i = 0; i < c.inputs.size() && entries <= max_categorical_group_entries; ++i)
        if (!c.inputs[i].numeric) {
            categorical.push_back(static_cast<std::uint32_t>(i));
            entries *= code_count(c.inputs[i]);
        }
    if (!categorical.empty() && entries <= max_categorical_group_entries) {
        std::vector<std::uint32_t> terms;
        for (std::size_t t = 0; t < c.lookups.size(); ++t)
            if (c.lookups[t].cross || !c.inputs[static_cast<std::size_t>(input_of_term[t])].numeric) {
                terms.push_back(static_cast<std::uint32_t>(t));
                grouped[t] = true;
            }
        groups.push_back(joint_group(c, exact, input_of_term, categorical, std::move(terms)));
    }

    std::vector<std::uint32_t> singles;  // terms over one input, by code count
    for (std::size_t t = 0; t < c.lookups.size(); ++t) {
        if (grouped[t]) continue;
        if (!c.lookups[t].cross) {
            singles.push_back(static_cast<std::uint32_t>(t));
            continue;
        }
        // A cross whose categories were too many to join: alone, on its own code column.
        lookup_group g;
        g.columns = {static_cast<std::uint32_t>(t)};
        g.strides = {1};
        for (double w : exact[t]) g.table.push_back(static_cast<float>(w));
        g.terms = {static_cast<std::uint32_t>(t)};
        groups.push_back(std::move(g));
    }
    auto input = [&](std::uint32_t t) { return static_cast<std::uint32_t>(input_of_term[t]); };
    auto count = [&](std::uint32_t t) { return code_count(c.inputs[input(t)]); };
    std::stable_sort(singles.begin(), singles.end(), [&](auto x, auto y) { return count(x) < count(y); });
    for (std::size_t lo = 0, hi = singles.size(); lo < hi;) {
        const std::uint32_t most = singles[--hi];
        if (lo < hi && count(singles[lo]) * count(most) <= max_pair_group_entries) {
            const std::uint32_t fewest = singles[lo++];
            groups.push_back(joint_group(c, exact, input_of_term, {input(fewest), input(most)}, {fewest, most}));
        } else {
            groups.push_back(joint_group(c, exact, input_of_term, {input(most)}, {most}));
        }
    }
    return groups;
}

// Groups every lookup term for avx512's tables in registers (see lookup_group): each cross over its two
// inputs, the single terms of those inputs folded into the first cross over them, the other terms alone
// (the shipped model's 14 terms make 11 groups). A group's table has as many entries as its cross's or its
// term's own. Empty when one would not fit in registers (or the model has no lookup terms).
std::vector<lookup_group> plan_register_groups(const compiled_model& c, const std::vector<std::vector<double>>& exact,
                                               const std::vector<int>& input_of_term) {
    for (const lookup_term& t : c.lookups)
        if (t.table.size() > max_register_table) return {};
    std::vector<lookup_group> groups;
    std::vector<bool> grouped(c.lookups.size(), false);
    for (std::size_t t = 0; t < c.lookups.size(); ++t) {
        const lookup_term& cross = c.lookups[t];
        if (!cross.cross) continue;
        std::vector<std::uint32_t> terms{static_cast<std::uint32_t>(t)};
        for (std::uint32_t input : {cross.first_input, cross.second_input}) {
            // The input's own term (a cross is over two categorical inputs: the loader refuses others).
            const std::uint32_t single = c.inputs[input].column;
            if (!grouped[single]) terms.push_back(single);
            grouped[single] = true;
        }
        groups.push_back(joint_group(c, exact, input_of_term, {cross.first_input, cross.second_input}, std::move(terms)));
    }
    for (std::size_t t = 0; t < c.lookups.size(); ++t)
        if (!grouped[t] && !c.lookups[t].cross)
            groups.push_back(joint_group(c, exact, input_of_term, {static_cast<std::uint32_t>(input_of_term[t])},
                                         {static_cast<std::uint32_t>(t)}));
    for (lookup_group& g : groups) g.table.resize(padded_size(g.table.size()), 0.0f);
    return groups;
}

}  // namespace

result<compiled_model> compile(std::shared_ptr<const model> source) {
    std::string age_field = source->age_field;
    return compile(std::move(source), std::move(age_field));
}

result<compiled_model> compile(std::shared_ptr<const model> source, std::string age_field) {
    compiled_model c;
    const model& m = *source;
    c.source = source;
    c.intercept = static_cast<float>(m.intercept);
    c.exposure_field = m.exposure_field;
    std::vector<int> input_of_feature(m.features.size(), -1);
    std::vector<std::vector<double>> exact;  // each lookup term's weights before rounding to float
    for (std::size_t k = 0; k < m.features.size(); ++k) {
        const feature& f = m.features[k];
        if (f.type == feature_type::cross) {
            const input_field& a = c.inputs[static_cast<std::size_t>(input_of_feature[f.cross_of[0]])];
            const input_field& b = c.inputs[static_cast<std::size_t>(input_of_feature[f.cross_of[1]])];
            lookup_term t;
            t.name = f.name;
            t.feature = k;
            t.cross = true;
            t.mean_contribution = f.mean_contribution;
            t.first_input = static_cast<std::uint32_t>(input_of_feature[f.cross_of[0]]);
            t.second_input = static_cast<std::uint32_t>(input_of_feature[f.cross_of[1]]);
            t.stride = static_cast<std::uint32_t>(b.categories.size() + 2);
            std::size_t size = (a.categories.size() + 2) * t.stride;
            if (size > std::numeric_limits<std::uint16_t>::max())
                return error{"cross has too many category pairs for 16-bit codes", "features[" + std::to_string(k) + "]"};
            std::vector<double> table(size, 0.0);
            for (std::size_t p = 0; p < f.pair_weights.size(); ++p)
                table[f.pair_codes[0][p] * t.stride + f.pair_codes[1][p]] = f.pair_weights[p];
            t.table = padded(table);
            c.lookups.push_back(std::move(t));
            exact.push_back(std::move(table));
            continue;
        }
        input_field in;
        in.name = f.name;
        in.numeric = f.type == feature_type::numeric;
        in.domain = f.domain;
        in.training_range = f.training_range;
        in.is_exposure = f.name == m.exposure_field;
        in.is_age = in.numeric && f.name == age_field;
        if (in.numeric && f.transform == numeric_transform::standardize) {
            in.standardized = true;
            in.impute = f.impute;
            in.mean = f.mean;
            in.scale = f.scale;
            in.column = static_cast<std::uint32_t>(c.dense.size());
            c.dense.push_back({f.name, k, static_cast<float>(f.weight), f.mean_contribution});
        } else {
            lookup_term t;
            t.name = f.name;
            t.feature = k;
            t.mean_contribution = f.mean_contribution;
            std::vector<double> table;
            if (in.numeric) {
                in.edges = f.edges;
                plan_bin_guess(in);
                table = f.bin_weights;
                table.push_back(f.missing_weight);  // code edges.size() + 1
            } else {
                in.categories = f.categories;
                if (f.categories.size() + 2 > std::numeric_limits<std::uint16_t>::max())
                    return error{"too many categories for 16-bit codes", "features[" + std::to_string(k) + "]"};
                for (const auto& name : f.categories) in.category_keys.push_back(category_key(name));
                plan_category_slots(in);
                table = f.category_weights;
                table.push_back(0.0);               // unknown
                table.push_back(f.missing_weight);  // missing
            }
            in.column = static_cast<std::uint32_t>(c.lookups.size());
            t.table = padded(table);
            c.lookups.push_back(std::move(t));
            exact.push_back(std::move(table));
        }
        input_of_feature[k] = static_cast<int>(c.inputs.size());
        c.inputs.push_back(std::move(in));
    }
    c.exposure_input = c.find_input(m.exposure_field);
    int age = c.find_input(age_field);
    if (age >= 0 && c.inputs[static_cast<std::size_t>(age)].numeric) {
        c.age_field = age_field;
        c.age_input = age;
    }
    std::vector<int> input_of_term(c.lookups.size(), -1);  // the input of each single (not cross) term
    for (std::size_t i = 0; i < c.inputs.size(); ++i)
        if (!c.inputs[i].standardized) input_of_term[c.inputs[i].column] = static_cast<int>(i);
    c.groups = plan_lookup_groups(c, exact, input_of_term);
    c.register_groups = plan_register_groups(c, exact, input_of_term);
    return c;
}

void loan_batch::reset(const compiled_model& m, bool keep_raw_values) {
    // Columns keep their capacity (a batch reused for block after block allocates once).
    dense.resize(m.dense.size());
    codes.resize(m.lookups.size());
    keep_raw = keep_raw_values;
    raw.resize(keep_raw ? m.inputs.size() : 0);
    clear();
}

namespace {

// Calls f(column) for every per-loan column of `b` (id_text aside): the one list clear, reserve and
// truncate walk.
template <class F>
void for_each_column(loan_batch& b, F f) {
    for (auto& d : b.dense) f(d);
    for (auto& c : b.codes) f(c);
    for (auto& r : b.raw) f(r);
    f(b.exposure);
    f(b.age);
    f(b.id_end);
    f(b.id_present);
}

// Calls add(column, default value) for every column of a loan: the one list of what a default loan holds.
template <class Add>
void for_each_default(const compiled_model& m, loan_batch& b, Add add) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    for (const auto& in : m.inputs) {
        if (in.standardized) add(b.dense[in.column], static_cast<float>((in.impute - in.mean) / in.scale));
        else add(b.codes[in.column], in.missing_code());
    }
    for (std::size_t t = 0; t < m.lookups.size(); ++t)
        if (m.lookups[t].cross) add(b.codes[t], std::uint16_t{0});
    for (auto& r : b.raw) add(r, nan);
    add(b.exposure, nan);
    add(b.age, nan);
    add(b.id_end, b.id_text.size());
    add(b.id_present, std::uint8_t{0});
}

}  // namespace

void loan_batch::clear() {
    size = 0;
    for_each_column(*this, [](auto& column) { column.clear(); });
    id_text.clear();
}

void loan_batch::reserve(std::size_t loans) {
    for_each_column(*this, [&](auto& column) { column.reserve(loans); });
}

std::size_t loan_batch::push_default(const compiled_model& m) {
    // push_back, not grow(m, 1): a resize by one costs more than a push_back, and this runs per JSON item.
    for_each_default(m, *this, [](auto& column, auto value) { column.push_back(value); });
    return size++;
}

std::size_t loan_batch::grow(const compiled_model& m, std::size_t n) {
    const std::size_t first = size;
    for_each_default(m, *this, [&](auto& column, auto value) { column.resize(first + n, value); });
    size += n;
    return first;
}

void loan_batch::truncate(std::size_t n) {
    if (n >= size) return;
    for_each_column(*this, [&](auto& column) { column.resize(n); });
    id_text.resize(n ? id_end[n - 1] : 0);
    size = n;
}

void loan_batch::pop_back() { truncate(size - 1); }

void loan_batch::append(const loan_batch& other) {
    auto join = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    for (std::size_t t = 0; t < dense.size(); ++t) join(dense[t], other.dense[t]);
    for (std::size_t t = 0; t < codes.size(); ++t) join(codes[t], other.codes[t]);
    for (std::size_t t = 0; t < raw.size(); ++t) join(raw[t], other.raw[t]);
    join(exposure, other.exposure);
    join(age, other.age);
    const std::size_t shift = id_text.size();
    id_text += other.id_text;
    for (std::size_t end : other.id_end) id_end.push_back(end + shift);
    join(id_present, other.id_present);
    size += other.size;
}

// Up to 64 edges (every shipped model has at most 49): blocks of 8 edges whose last edge is <= x lie
// wholly at or below x, and the edges of the first block that does not are counted in SIMD registers of
// the build's baseline instruction set. Every compare is independent of the others: a binary search,
// even branch-free, is a chain of dependent loads and compares, and was 15% of a CSV decode (the compiler
// won't vectorise such a count itself: a floating-point compare may trap). Larger edge lists take the
// branch-free binary search (values arrive in random bins: a branching one would mispredict).
namespace detail {

void bin_codes_scalar(const input_field& in, const double* x, std::size_t n, std::uint16_t* codes) {
    for (std::size_t r = 0; r < n; ++r)
        if (x[r] == x[r]) codes[r] = static_cast<std::uint16_t>(bin_code(in, x[r]));
}

bin_codes_fn bin_codes_for_this_cpu() {
    // The kernel's run-time choice: its avx512 needs F, CD, DQ and BW, every extension bin_codes_avx512 uses.
    static const bin_codes_fn chosen = best_kernel() == "avx512" ? &bin_codes_avx512 : &bin_codes_scalar;
    return chosen;
}

}  // namespace detail

std::size_t bin_of(const std::vector<double>& edges, double x) {
    const double* e = edges.data();
    std::size_t n = edges.size();
    if (n <= 64) {
        std::size_t full = 0;
        for (std::size_t last = 7; last < n; last += 8) full += e[last] <= x ? 1 : 0;
        std::size_t i = full * 8;
        const std::size_t end = std::min(i + 8, n);
        using doubles = xsimd::batch<double>;
        using counts = xsimd::batch<std::int64_t>;
        const doubles value(x);
        counts at_or_below(std::int64_t{0});
        for (; i + doubles::size <= end; i += doubles::size)  // a true lane is all ones: -1
            at_or_below -= xsimd::bitwise_cast<counts>(xsimd::bitwise_cast(doubles::load_unaligned(e + i) <= value));
        auto count = full * 8 + static_cast<std::size_t>(xsimd::hadd(at_or_below));
        for (; i < end; ++i) count += e[i] <= x ? 1 : 0;
        return count;
    }
    const double* base = e;
    while (n > 1) {
        const std::size_t half = n / 2;
        base = base[half] <= x ? base + half : base;
        n -= half;
    }
    return static_cast<std::size_t>(base - e) + (*base <= x ? 1 : 0);
}

status set_number(const compiled_model& m, loan_batch& b, std::size_t loan, int input, double x) {
    const input_field& in = m.inputs[static_cast<std::size_t>(input)];
    if (!in.numeric) return error{"expected a string (one of the model's categories)", ""};
    if (!std::isfinite(x)) return error{"expected a finite number", ""};
    if (x < in.domain.min) return error{"must be >= " + number_text(in.domain.min), ""};
    if (x > in.domain.max) return error{"must be <= " + number_text(in.domain.max), ""};
    store_number(in, static_cast<std::size_t>(input), b, loan, x);
    return ok();
}

status set_category(const compiled_model& m, loan_batch& b, std::size_t loan, int input, std::string_view value) {
    const input_field& in = m.inputs[static_cast<std::size_t>(input)];
    if (in.numeric) return error{"expected a number", ""};
    b.codes[in.column][loan] = category_code(in, value);
    return ok();
}

void set_exposure(loan_batch& b, std::size_t loan, double value) {
    b.exposure[loan] = std::isfinite(value) && value >= 0 ? value : std::numeric_limits<double>::quiet_NaN();
}

void set_id(loan_batch& b, std::size_t loan, std::string_view id) {
    // Only the last loan's id can change: ids are stored back to back.
    b.id_text.resize(loan ? b.id_end[loan - 1] : 0);
    b.id_text.append(id);
    b.id_end[loan] = b.id_text.size();
    b.id_present[loan] = 1;
}

void finish_loan(const compiled_model& m, loan_batch& b, std::size_t loan) { finish_loans(m, b, loan, loan + 1); }

void finish_loans(const compiled_model& m, loan_batch& b, std::size_t begin, std::size_t end) {
    for (std::size_t t = 0; t < m.lookups.size(); ++t) {
        const lookup_term& term = m.lookups[t];
        if (!term.cross) continue;
        std::uint16_t* cross = b.codes[t].data();
        const std::uint16_t* first = b.codes[m.inputs[term.first_input].column].data();
        const std::uint16_t* second = b.codes[m.inputs[term.second_input].column].data();
        for (std::size_t i = begin; i < end; ++i)
            cross[i] = static_cast<std::uint16_t>(first[i] * term.stride + second[i]);
    }
}

}  // namespace loanrisk::core

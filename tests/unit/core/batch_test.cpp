// The per-value encoders every decoder shares (include/loanrisk/batch.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../batch_support.hpp"
#include "loanrisk/batch.hpp"

namespace loanrisk::core {
namespace {

// bin_of counts the edges at or below x, i.e. std::upper_bound's position, on both of its paths: the
// linear count (up to 64 edges) and the binary search (more).
TEST(batch, bin_of_is_the_upper_bound_of_the_value_among_the_edges) {
    std::mt19937_64 rng(7);
    for (std::size_t n : {0u, 1u, 2u, 3u, 20u, 49u, 63u, 64u, 65u, 100u, 1000u}) {
        std::vector<double> edges(n);
        std::uniform_real_distribution<double> u(-1000, 1000);
        for (auto& e : edges) e = std::round(u(rng));
        std::sort(edges.begin(), edges.end());
        edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
        std::vector<double> probes = {-1e300, 1e300, -0.0, 0.0};
        for (double e : edges) probes.insert(probes.end(), {e, std::nextafter(e, -1e308), std::nextafter(e, 1e308)});
        for (int i = 0; i < 200; ++i) probes.push_back(u(rng));
        for (double x : probes) {
            const auto expected = static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin());
            ASSERT_EQ(bin_of(edges, x), expected) << edges.size() << " edges, x = " << x;
        }
    }
}

// set_number finds a bin from the input's guess table and checks it against the edges around it: the code
// must be bin_of's for every binned input of the shipped model, on every edge, next to every edge, far
// outside the edges and at random, and for edges too close together or too many for the guess table.
TEST(batch, a_binned_values_code_is_bin_ofs_whatever_the_guess) {
    auto check = [](const compiled_model& m) {
        std::mt19937_64 rng(11);
        loan_batch b;
        b.reset(m);
        b.push_default(m);
        for (std::size_t i = 0; i < m.inputs.size(); ++i) {
            const input_field& in = m.inputs[i];
            if (!in.numeric || in.standardized) continue;
            std::vector<double> probes = {in.domain.min, 1e300, -0.0};
            for (double e : in.edges)
                probes.insert(probes.end(), {e, std::nextafter(e, -1e308), std::nextafter(e, 1e308)});
            const double lo = in.edges.empty() ? 0 : in.edges.front(), hi = in.edges.empty() ? 1 : in.edges.back();
            std::uniform_real_distribution<double> u(lo - (hi - lo) / 4, hi + (hi - lo) / 4);
            for (int k = 0; k < 20000; ++k) probes.push_back(u(rng));
            for (double x : probes) {
                if (!std::isfinite(x) || x < in.domain.min || x > in.domain.max) continue;  // refused, not binned
                ASSERT_TRUE(set_number(m, b, 0, static_cast<int>(i), x).ok());
                ASSERT_EQ(b.codes[in.column][0], bin_of(in.edges, x)) << in.name << " x = " << x;
            }
        }
    };
    check(testing::compiled(testing::load_shipped_model()));
    // Two edges 1 ulp apart among others 720 or more apart (closer than the guess table's cells can
    // separate), more edges than it holds, and edges so far apart that their span overflows a double.
    model close = testing::load_shipped_model(), many = close, huge = close;
    for (auto& f : close.features)
        if (f.name == "person_income") f.edges.insert(f.edges.begin() + 5, std::nextafter(f.edges[4], 1e308));
    for (auto& f : many.features)
        if (f.name == "person_income") {
            f.edges.clear();
            for (int k = 0; k < 300; ++k) f.edges.push_back(1000.0 * k);
        }
    for (auto& f : huge.features)
        if (f.name == "person_income") f.edges = {-1e308, 1e308};
    for (model* m : {&close, &many, &huge})
        for (auto& f : m->features)
            if (f.name == "person_income") f.bin_weights.assign(f.edges.size() + 1, 0.0);
    check(testing::compiled(close));
    check(testing::compiled(many));
    check(testing::compiled(huge));
}

// store_bin_codes bins a block of values at once (the decoders' column loops): each implementation this CPU
// runs must give every value bin_of's code, leave the code of a missing value (NaN) as it was, and handle
// any block length (none, fewer than a vector, a vector and a remainder), for the shipped model's binned
// inputs and for guess tables whose cells edges cut, that are short, or that the edges' span overflows.
TEST(batch, every_block_binning_gives_bin_ofs_codes_and_leaves_missing_ones) {
    std::vector<std::pair<const char*, detail::bin_codes_fn>> implementations = {{"scalar", &detail::bin_codes_scalar}};
    if (detail::bin_codes_for_this_cpu() == &detail::bin_codes_avx512) implementations.emplace_back("avx512", &detail::bin_codes_avx512);
    model close = testing::load_shipped_model(), few = close, huge = close;
    for (auto& f : close.features)
        if (f.name == "person_income") f.edges.insert(f.edges.begin() + 5, std::nextafter(f.edges[4], 1e308));
    for (auto& f : few.features)
        if (f.name == "person_income") f.edges = {10000, 10001};  // the smallest guess table: four cells and two ends, six bytes
    for (auto& f : huge.features)
        if (f.name == "person_income") f.edges = {-1e308, 1e308};
    for (model* m : {&close, &few, &huge})
        for (auto& f : m->features)
            if (f.name == "person_income") f.bin_weights.assign(f.edges.size() + 1, 0.0);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const model& source : {testing::load_shipped_model(), close, few, huge}) {
        const compiled_model m = testing::compiled(source);
        std::mt19937_64 rng(5);
        for (const input_field& in : m.inputs) {
            if (!in.numeric || in.standardized) continue;
            std::vector<double> x = {nan, in.domain.min, 1e300, -0.0, 0.0};
            for (double e : in.edges) x.insert(x.end(), {e, std::nextafter(e, -1e308), std::nextafter(e, 1e308), nan});
            const double lo = in.edges.front(), hi = in.edges.back(), span = hi - lo;
            std::uniform_real_distribution<double> u(lo - span / 4, hi + span / 4);
            for (int k = 0; k < 5000; ++k) x.push_back(k % 17 == 0 ? nan : u(rng));
            std::erase_if(x, [&](double v) { return v == v && (v < in.domain.min || v > in.domain.max); });
            for (const auto& [name, bin_codes] : implementations) {
                for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{13}, x.size()}) {
                    std::vector<std::uint16_t> codes(n + 1, 0xbeef);  // one past the block: must stay as it is
                    bin_codes(in, x.data(), n, codes.data());
                    for (std::size_t r = 0; r < n; ++r) {
                        const std::uint16_t expected = x[r] == x[r] ? static_cast<std::uint16_t>(bin_of(in.edges, x[r])) : 0xbeef;
                        ASSERT_EQ(codes[r], expected) << name << ", " << in.name << ", x = " << x[r] << ", n = " << n;
                    }
                    ASSERT_EQ(codes[n], 0xbeef) << name << " wrote past the block";
                }
            }
        }
    }
}

// Categories are found through a hash table over category_key: long names that share the key (the same
// length and first seven bytes) and a table crowded enough for probes to wrap around must still give
// each name its own code, and anything else the unknown code.
TEST(batch, a_category_is_found_among_names_that_share_their_key) {
    model m = testing::load_shipped_model();
    feature* grade = nullptr;
    for (auto& f : m.features)
        if (f.name == "loan_grade") grade = &f;
    ASSERT_NE(grade, nullptr);
    grade->categories.clear();
    for (int c = 0; c < 40; ++c) grade->categories.push_back("GRADE_LONG_" + std::to_string(100 + c));
    for (int c = 0; c < 7; ++c) grade->categories.push_back(std::string(1, static_cast<char>('A' + c)));
    grade->category_weights.assign(grade->categories.size(), 0.0);
    for (auto& f : m.features)
        if (f.type == feature_type::cross) {  // their pairs named the old grades
            f.pair_codes[0].clear();
            f.pair_codes[1].clear();
            f.pair_weights.clear();
        }
    const compiled_model c = testing::compiled(m);
    const int input = c.find_input("loan_grade");
    loan_batch b;
    b.reset(c);
    b.push_default(c);
    for (std::size_t k = 0; k < grade->categories.size(); ++k) {
        ASSERT_TRUE(set_category(c, b, 0, input, grade->categories[k]).ok());
        EXPECT_EQ(b.codes[c.inputs[input].column][0], k) << grade->categories[k];
    }
    for (std::string other : {"GRADE_LONG_999", "GRADE_LONG_1000", "GRADE_LONG_10", "H", "a", "GRADE_L"}) {
        ASSERT_TRUE(set_category(c, b, 0, input, other).ok());
        EXPECT_EQ(b.codes[c.inputs[input].column][0], c.inputs[input].unknown_code()) << other;
    }
    // "" is missing, as an empty CSV field is (category_code itself says so for every decoder).
    ASSERT_TRUE(set_category(c, b, 0, input, "").ok());
    EXPECT_EQ(b.codes[c.inputs[input].column][0], c.inputs[input].missing_code());
}

// Lookup groups of the shipped model: the four categorical inputs with their own terms and their three
// crosses in one joint table; the seven binned numerics in three pairs and one alone. Fourteen lookups per
// loan become five.
TEST(batch, lookup_groups_join_the_categories_and_crosses_and_pair_the_bins) {
    const compiled_model m = testing::compiled(testing::load_shipped_model());
    testing::expect_groups_sum_their_terms(m);
    ASSERT_EQ(m.groups.size(), 5u);
    EXPECT_EQ(m.groups[0].columns.size(), 4u);
    EXPECT_EQ(m.groups[0].terms.size(), 7u);
    EXPECT_LE(m.groups[0].table.size(), max_categorical_group_entries);
    for (std::size_t g = 1; g < m.groups.size(); ++g) {
        EXPECT_EQ(m.groups[g].columns.size(), g < 4 ? 2u : 1u) << g;
        EXPECT_LE(m.groups[g].table.size(), max_pair_group_entries) << g;
    }
}

// Register groups of the shipped model (avx512's tables in registers): each of the three crosses over its
// two inputs, the first cross over home, intent or grade taking that input's own term; the seven binned
// numerics and the default flag alone. Fourteen lookups per loan become eleven.
TEST(batch, register_groups_fold_each_category_into_a_cross_over_it) {
    const compiled_model m = testing::compiled(testing::load_shipped_model());
    testing::expect_groups_sum_their_terms(m);
    ASSERT_EQ(m.lookups.size(), 14u);
    ASSERT_EQ(m.register_groups.size(), 11u);
    std::vector<std::string> names;
    for (const lookup_group& g : m.register_groups) {
        std::string joined;
        for (auto t : g.terms) joined += (joined.empty() ? "" : " + ") + m.lookups[t].name;
        names.push_back(joined);
    }
    EXPECT_EQ(names[0], "loan_intent x loan_grade + loan_intent + loan_grade");
    EXPECT_EQ(names[1], "person_home_ownership x loan_grade + person_home_ownership");
    EXPECT_EQ(names[2], "person_home_ownership x loan_intent");
    EXPECT_EQ(names.back(), "cb_person_default_on_file");
}

// category_key reads words where it can; the key must be the one its definition gives: the length in the
// top byte, the first 7 bytes below it (byte i at bits 8i), for every length and any bytes.
TEST(batch, category_key_is_the_length_and_the_first_seven_bytes) {
    std::mt19937_64 rng(9);
    for (std::size_t n = 0; n <= 300; n += n < 20 ? 1 : 40) {
        for (int round = 0; round < 50; ++round) {
            std::string s(n, '\0');
            for (auto& c : s) c = static_cast<char>(rng());
            std::uint64_t expected = static_cast<std::uint64_t>(std::min<std::size_t>(n, 255)) << 56;
            for (std::size_t i = 0; i < n && i < 7; ++i)
                expected |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
            ASSERT_EQ(category_key(s), expected) << n;
        }
    }
}

// grow(n) appends n loans exactly as n push_default calls would; truncate(n) and pop_back keep the first
// loans whole, ids included (id_text is cut at the last kept loan's end); reset keeps the shape.
TEST(batch, grow_truncate_and_push_default_agree) {
    const compiled_model m = testing::compiled(testing::load_shipped_model());
    loan_batch pushed, grown;
    pushed.reset(m, true);
    grown.reset(m, true);
    for (int i = 0; i < 5; ++i) pushed.push_default(m);
    EXPECT_EQ(grown.grow(m, 5), 0u);
    EXPECT_EQ(grown.size, 5u);
    EXPECT_EQ(grown.dense, pushed.dense);
    EXPECT_EQ(grown.codes, pushed.codes);
    EXPECT_EQ(grown.id_end, pushed.id_end);
    EXPECT_EQ(grown.id_present, pushed.id_present);
    ASSERT_EQ(grown.raw.size(), m.inputs.size());
    for (const auto& r : grown.raw) EXPECT_TRUE(r.size() == 5 && std::isnan(r[4]));
    EXPECT_TRUE(std::isnan(grown.exposure[4]) && std::isnan(grown.age[4]));

    set_id(grown, 0, "A");
    set_id(grown, 1, "BB");
    grown.id_end[2] = grown.id_text.size();  // no id, as a decoder records it
    set_id(grown, 3, "CCC");
    ASSERT_TRUE(set_number(m, grown, 3, m.find_input("person_age"), 30).ok());
    grown.truncate(4);
    EXPECT_EQ(grown.size, 4u);
    EXPECT_EQ(grown.id_text, "ABBCCC");
    EXPECT_EQ(grown.id(3), "CCC");
    EXPECT_EQ(grown.age[3], 30);
    grown.pop_back();
    EXPECT_EQ(grown.id_text, "ABB");
    EXPECT_EQ(grown.id(1), "BB");
    EXPECT_EQ(grown.id(2), "");
    EXPECT_EQ(grown.codes.front().size(), 3u);
    grown.truncate(7);  // never grows
    EXPECT_EQ(grown.size, 3u);
    grown.reset(m, true);
    EXPECT_EQ(grown.size, 0u);
    EXPECT_EQ(grown.dense.size(), m.dense.size());
    EXPECT_EQ(grown.codes.size(), m.lookups.size());
    EXPECT_TRUE(grown.id_text.empty() && grown.exposure.empty() && grown.raw.front().empty());
}

}  // namespace
}  // namespace loanrisk::core

// Id ends were 32-bit: a batch holding more than 4 GiB of ids (a body that large is allowed by
// --max-body-bytes up to 1e12) would have wrapped them and given loans each other's ids.
TEST(loan_batch, id_ends_hold_offsets_past_4_gib) {
    static_assert(sizeof(decltype(loanrisk::core::loan_batch::id_end)::value_type) == 8);
    loanrisk::core::loan_batch b;
    b.id_end.push_back(std::size_t{5} << 30);
    EXPECT_EQ(b.id_end[0], std::size_t{5} << 30);
}

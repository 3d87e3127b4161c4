// Engine micro-benchmarks: the PD kernel per instruction set against memcpy of the same input bytes, and
// the one-pass scorer (kernel + policy + Expected Loss + portfolio summary). Ratios within one run are
// what bench/README.md quotes; absolute times on a shared machine are noise.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>

#include "loanrisk/batch.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/scorer.hpp"

using namespace loanrisk;

namespace {

constexpr std::size_t bench_loans = 1 << 20;  // 1,048,576

struct engine_fixture {
    core::compiled_model m;
    core::loan_batch b;
    std::size_t input_bytes = 0;  // bytes of the columns the kernel reads

    engine_fixture() {
        auto model = core::load_model(LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json");
        if (!model) throw std::runtime_error(model.err().message());
        auto c = core::compile(std::make_shared<const core::model>(std::move(*model)));
        if (!c) throw std::runtime_error(c.err().message());
        m = std::move(*c);
        b.reset(m);
        b.reserve(bench_loans);
        std::mt19937_64 rng(42);
        std::uniform_real_distribution<double> u(0, 1);
        for (std::size_t i = 0; i < bench_loans; ++i) {
            std::size_t loan = b.push_default(m);
            for (std::size_t k = 0; k < m.inputs.size(); ++k) {
                const auto& in = m.inputs[k];
                int input = static_cast<int>(k);
                if (in.numeric) {
                    double x = in.training_range.min + u(rng) * (in.training_range.max - in.training_range.min) * 0.3;
                    (void)core::set_number(m, b, loan, input, x);
                } else {
                    (void)core::set_category(m, b, loan, input, in.categories[static_cast<std::size_t>(u(rng) * static_cast<double>(in.categories.size()))]);
                }
            }
            core::finish_loan(m, b, loan);
        }
        input_bytes = bench_loans * (m.dense.size() * sizeof(float) + m.lookups.size() * sizeof(std::uint16_t));
    }
};

engine_fixture& fixture() {
    static engine_fixture f;
    return f;
}

void kernel(benchmark::State& state, std::string name) {
    auto& f = fixture();
    auto available = core::available_kernels();
    if (std::find(available.begin(), available.end(), name) == available.end()) {
        state.SkipWithError(("this CPU lacks " + name).c_str());
        return;
    }
    std::vector<float> pd(bench_loans);
    for (auto _ : state) {
        core::compute_pd_with(name, f.m, f.b, 0, bench_loans, pd.data());
        benchmark::DoNotOptimize(pd.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * bench_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.input_bytes));
}

// The baseline: copying exactly the bytes the kernel reads, column by column.
void memcpy_input_bytes(benchmark::State& state) {
    auto& f = fixture();
    std::vector<std::vector<std::uint16_t>> codes(f.b.codes.size(), std::vector<std::uint16_t>(bench_loans));
    std::vector<std::vector<float>> dense(f.b.dense.size(), std::vector<float>(bench_loans));
    for (auto _ : state) {
        for (std::size_t t = 0; t < codes.size(); ++t) std::memcpy(codes[t].data(), f.b.codes[t].data(), bench_loans * 2);
        for (std::size_t t = 0; t < dense.size(); ++t) std::memcpy(dense[t].data(), f.b.dense[t].data(), bench_loans * 4);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * bench_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.input_bytes));
}

// Kernel + decision + Expected Loss + every portfolio aggregate, in one pass.
void score_batch(benchmark::State& state) {
    auto& f = fixture();
    core::score_options o;
    o.threads = static_cast<unsigned>(state.range(0));
    core::scored_batch out;
    for (auto _ : state) {
        core::portfolio_accumulator acc;
        acc.reset(f.m, {});
        core::score_batch(f.m, f.b, o, out, acc);
        benchmark::DoNotOptimize(acc.expected_loss_total);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * bench_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.input_bytes));
}

}  // namespace

BENCHMARK(memcpy_input_bytes)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(kernel, avx512, std::string("avx512"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(kernel, avx2, std::string("avx2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(kernel, sse4_2, std::string("sse4_2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(kernel, sse2, std::string("sse2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(kernel, scalar, std::string("scalar"))->Unit(benchmark::kMillisecond);
BENCHMARK(score_batch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();

// Engine micro-benchmarks: the PD kernel per instruction set against memcpy of the same input bytes, and
// the one-pass scorer (kernel + policy + Expected Loss + portfolio summary). Ratios within one run are
// what bench/README.md quotes; absolute times on a shared machine are noise.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>

#include <simdjson.h>

#include "../common/bare_pass.hpp"

#include "loanrisk/batch.hpp"
#include "loanrisk/csv.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/response_writer.hpp"
#include "loanrisk/synthetic.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/scorer.hpp"

using namespace loanrisk;

namespace {

constexpr std::size_t bench_loans = 1 << 20;  // 1,048,576

struct engine_fixture {
    core::compiled_model m;
    core::loan_batch b;
    std::vector<std::uint32_t> code_columns;  // the code columns the vector kernels read (their groups'; avx512
                                              // reads the same ones, making the shipped model's crosses)
    std::size_t input_bytes_per_loan = 0;     // of those and the dense columns

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
        for (const auto& g : m.groups) code_columns.insert(code_columns.end(), g.columns.begin(), g.columns.end());
        std::sort(code_columns.begin(), code_columns.end());
        code_columns.erase(std::unique(code_columns.begin(), code_columns.end()), code_columns.end());
        input_bytes_per_loan = m.dense.size() * sizeof(float) + code_columns.size() * sizeof(std::uint16_t);
    }
};

engine_fixture& fixture() {
    static engine_fixture f;
    return f;
}

// PDs of the first range(0) loans: 1M loans stream from memory (the goal's case), 16K stay in cache.
void kernel(benchmark::State& state, std::string name) {
    auto& f = fixture();
    auto available = core::available_kernels();
    if (std::find(available.begin(), available.end(), name) == available.end()) {
        state.SkipWithError(("this CPU lacks " + name).c_str());
        return;
    }
    const auto loans = static_cast<std::size_t>(state.range(0));
    std::vector<float> pd(loans);
    for (auto _ : state) {
        core::compute_pd_with(name, f.m, f.b, 0, loans, pd.data());
        benchmark::DoNotOptimize(pd.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * loans * f.input_bytes_per_loan));
}

// The baseline: copying exactly the bytes the vector kernels read, column by column, for range(0) loans.
void memcpy_input_bytes(benchmark::State& state) {
    auto& f = fixture();
    const auto loans = static_cast<std::size_t>(state.range(0));
    std::vector<std::vector<std::uint16_t>> codes(f.code_columns.size(), std::vector<std::uint16_t>(loans));
    std::vector<std::vector<float>> dense(f.b.dense.size(), std::vector<float>(loans));
    for (auto _ : state) {
        for (std::size_t c = 0; c < codes.size(); ++c)
            std::memcpy(codes[c].data(), f.b.codes[f.code_columns[c]].data(), loans * sizeof(std::uint16_t));
        for (std::size_t t = 0; t < dense.size(); ++t)
            std::memcpy(dense[t].data(), f.b.dense[t].data(), loans * sizeof(float));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * loans * f.input_bytes_per_loan));
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
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bench_loans * f.input_bytes_per_loan));
}

// ---- decode: the engine's decoders against a bare simdjson On-Demand pass over the same body ----------

constexpr std::size_t body_loans = 100000;

struct body_fixture {
    std::shared_ptr<const core::model> model;
    std::string json, csv;
    body_fixture() {
        model = fixture().m.source;
        json = io::synthetic_portfolio(*model, body_loans, io::text_format::json_batch);
        csv = io::synthetic_portfolio(*model, body_loans, io::text_format::csv);
    }
};

body_fixture& bodies() {
    static body_fixture f;
    return f;
}

// The ceiling for JSON decoding on one core (bench/common/bare_pass.hpp), the body copied into padding as
// a server's read would.
void simdjson_bare_pass(benchmark::State& state) {
    auto& b = bodies();
    simdjson::ondemand::parser parser;
    for (auto _ : state) {
        simdjson::padded_string text(b.json);
        const loanrisk::bench::bare_pass_result r = loanrisk::bench::bare_pass(parser, text);
        if (r.error || r.items != body_loans) state.SkipWithError("bare pass");
        benchmark::DoNotOptimize(r.sum);
        benchmark::DoNotOptimize(r.chars);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * body_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.json.size()));
}

// Arg: the cores decoding may use (0: all).
void decode_json(benchmark::State& state) {
    auto& b = bodies();
    auto& f = fixture();
    core::loan_batch batch;
    io::decode_limits limits;
    limits.threads = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        batch.reset(f.m);
        if (auto s = io::decode_json_batch(b.json, f.m, batch, limits); !s) state.SkipWithError(s.err().message().c_str());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * body_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.json.size()));
}

// The one scoring pass with the portfolio summary, as /batch_predict runs it.
core::portfolio_accumulator score_with_summary(const core::compiled_model& m, const core::loan_batch& batch,
                                               const core::score_options& o, core::scored_batch& scored) {
    core::portfolio_accumulator acc;
    acc.reset(m, {});
    core::score_batch(m, batch, o, scored, acc);
    return acc;
}

// The whole CSV body into `batch`; an error ends the benchmark.
void decode_csv_body(benchmark::State& state, const core::compiled_model& m, std::string_view csv,
                     core::loan_batch& batch, const io::decode_limits& limits = {}) {
    batch.reset(m);
    io::csv_decoder d(m, limits);
    if (auto s = d.feed(csv, batch); !s) state.SkipWithError(s.err().message().c_str());
    if (auto s = d.finish(batch); !s) state.SkipWithError(s.err().message().c_str());
}

// What /batch_predict does in process: decode, score (one pass with the summary), encode the response.
void decode_score_encode_json(benchmark::State& state) {
    auto& b = bodies();
    auto& f = fixture();
    core::loan_batch batch;
    core::scored_batch scored;
    std::string out;
    core::score_options o;
    o.threads = static_cast<unsigned>(state.range(0));
    for (auto _ : state) {
        batch.reset(f.m);
        if (auto s = io::decode_json_batch(b.json, f.m, batch); !s) state.SkipWithError(s.err().message().c_str());
        const core::portfolio_accumulator acc = score_with_summary(f.m, batch, o, scored);
        out.clear();
        io::append_batch_response_json(out, f.m, batch, scored, core::summarize(f.m, acc, {}), o.rules, true, false);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * body_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.json.size()));
}

// Arg: the cores decoding may use (0: all).
void decode_csv(benchmark::State& state) {
    auto& b = bodies();
    auto& f = fixture();
    core::loan_batch batch;
    io::decode_limits limits;
    limits.threads = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) decode_csv_body(state, f.m, b.csv, batch, limits);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * body_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.csv.size()));
}

// CSV in, CSV results out: what /batch_predict and `loanrisk score` do with a CSV body.
void decode_score_encode_csv(benchmark::State& state) {
    auto& b = bodies();
    auto& f = fixture();
    core::loan_batch batch;
    core::scored_batch scored;
    std::string out;
    core::score_options o;
    for (auto _ : state) {
        decode_csv_body(state, f.m, b.csv, batch);
        score_with_summary(f.m, batch, o, scored);
        out.clear();
        io::append_results_csv_header(out);
        io::append_results_csv(out, f.m, batch, scored, 0, batch.size);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * body_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.csv.size()));
}

// The CSV ceiling: splitting the same body into fields (RFC 4180 tokenizer), nothing else.
void csv_tokenize_only(benchmark::State& state) {
    auto& b = bodies();
    std::vector<std::string_view> fields;
    for (auto _ : state) {
        io::csv_reader r(b.csv);
        std::size_t n = 0;
        for (auto more = r.next(fields); more.ok() && *more; more = r.next(fields)) n += fields.size();
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * body_loans));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.csv.size()));
}

}  // namespace

BENCHMARK(simdjson_bare_pass)->Unit(benchmark::kMillisecond);
BENCHMARK(decode_json)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(decode_score_encode_json)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(csv_tokenize_only)->Unit(benchmark::kMillisecond);
BENCHMARK(decode_csv)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(decode_score_encode_csv)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(memcpy_input_bytes)->Arg(bench_loans)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(kernel, avx512, std::string("avx512"))->Arg(bench_loans)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(kernel, avx2, std::string("avx2"))->Arg(bench_loans)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(kernel, sse4_2, std::string("sse4_2"))->Arg(bench_loans)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(kernel, sse2, std::string("sse2"))->Arg(bench_loans)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(kernel, scalar, std::string("scalar"))->Arg(bench_loans)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK(score_batch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();

// Shared by the libFuzzer targets: the shipped model compiled once, and the properties every decoded
// batch must have whatever the input: it scores (every kernel this CPU runs agreeing with the scalar
// one), its PDs lie in [0, 1], and its response encodes. A broken property aborts with a message, which
// libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/batch.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/model.hpp"
#include "loanrisk/portfolio.hpp"
#include "loanrisk/response_writer.hpp"
#include "loanrisk/scorer.hpp"

namespace loanrisk::fuzz {

[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz property broken: %s\n", what);
    std::abort();
}

inline void require(bool ok, const char* what) {
    if (!ok) fail(what);
}

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

inline const core::compiled_model& shipped() {
    static const core::compiled_model m = [] {
        auto model = core::load_model(LOANRISK_SOURCE_DIR "/models/credit_risk_pd.json");
        if (!model) fail("the shipped model does not load");
        auto c = core::compile(std::make_shared<const core::model>(std::move(*model)));
        if (!c) fail("the shipped model does not compile");
        return std::move(*c);
    }();
    return m;
}

// Scores `b`, checks the PDs, and writes the batch response (exercising the writers on whatever the
// decoder let through).
inline void score_and_check(const core::compiled_model& m, const core::loan_batch& b) {
    core::score_options options;
    options.threads = 1;
    core::scored_batch scored;
    core::portfolio_accumulator acc;
    const core::summary_options summary_options;
    acc.reset(m, summary_options);
    core::score_batch(m, b, options, scored, acc);
    require(acc.count == b.size, "the summary counts every loan");
    for (float pd : scored.pd) require(pd >= 0.0f && pd <= 1.0f, "every PD lies in [0, 1]");
    if (b.size) {
        std::vector<float> reference(b.size), other(b.size);
        core::compute_pd_with("scalar", m, b, 0, b.size, reference.data());
        for (const auto& kernel : core::available_kernels()) {
            core::compute_pd_with(kernel, m, b, 0, b.size, other.data());
            for (std::size_t i = 0; i < b.size; ++i)
                require(std::fabs(other[i] - reference[i]) <= 1e-6f, "every kernel agrees with the scalar one");
        }
    }
    std::string out;
    auto summary = core::summarize(m, acc, summary_options);
    io::append_batch_response_json(out, m, b, scored, summary, options.rules, true, true);
    require(!out.empty(), "the response is written");
}

// Two batches hold the same loans (NaN equal to NaN): decoding must not depend on how input is chunked.
inline bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

inline bool same_doubles(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    return true;
}

inline bool same_batch(const core::loan_batch& a, const core::loan_batch& b) {
    if (a.size != b.size || a.codes != b.codes || a.id_text != b.id_text || a.id_end != b.id_end ||
        a.id_present != b.id_present || !same_doubles(a.exposure, b.exposure) || !same_doubles(a.age, b.age) ||
        a.dense.size() != b.dense.size())
        return false;
    for (std::size_t t = 0; t < a.dense.size(); ++t)
        if (!same_floats(a.dense[t], b.dense[t])) return false;
    if (a.raw.size() != b.raw.size()) return false;
    for (std::size_t t = 0; t < a.raw.size(); ++t)
        if (!same_doubles(a.raw[t], b.raw[t])) return false;
    return true;
}

// A streaming decoder (ndjson_decoder, csv_decoder) over a body whose first byte picks where it is cut in
// two: the loans and the error must be the same whether the body arrives whole or in two chunks, and
// the loans must score.
template <class Decoder>
int check_stream_decoder(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto body = text(data + 1, size - 1);
    const auto& m = shipped();
    struct outcome {
        core::loan_batch batch;
        status st = ok();
    };
    auto decode = [&](std::size_t cut, io::decode_limits limits = {}) {
        outcome o;
        o.batch.reset(m);
        Decoder d(m, limits);
        o.st = d.feed(body.substr(0, cut), o.batch);
        if (o.st) o.st = d.feed(body.substr(cut), o.batch);
        if (o.st) o.st = d.finish(o.batch);
        return o;
    };
    const outcome whole = decode(body.size());
    const outcome split = decode(body.empty() ? 0 : data[0] % (body.size() + 1));
    require(bool(whole.st) == bool(split.st), "chunking does not change success");
    // Cut into parts of a few bytes on three threads (CSV records in parts, NDJSON lines in pieces, as large
    // texts are): the same loans, error and loans kept before it.
    io::decode_limits parts;
    parts.threads = 3;
    parts.csv_part_bytes = 1 + data[0] % 32;
    parts.json_piece_bytes = 1 + data[0] % 48;
    parts.ndjson_lines_bytes = data[0] % 64;
    const outcome in_parts = decode(body.size(), parts);
    require(bool(whole.st) == bool(in_parts.st), "decoding in parts does not change success");
    require(same_batch(whole.batch, in_parts.batch), "decoding in parts does not change the loans kept");
    if (!whole.st)
        require(whole.st.err().message() == in_parts.st.err().message() && whole.st.err().offset == in_parts.st.err().offset,
                "decoding in parts does not change the error");
    if (!whole.st) {
        if (whole.st.err().message() != split.st.err().message() || whole.st.err().offset != split.st.err().offset) {
            std::fprintf(stderr, "whole: %s (offset %zu)\nsplit: %s (offset %zu)\n", whole.st.err().message().c_str(),
                         whole.st.err().offset, split.st.err().message().c_str(), split.st.err().offset);
            fail("chunking does not change the error");
        }
        return 0;
    }
    require(same_batch(whole.batch, split.batch), "chunking does not change the loans");
    score_and_check(m, whole.batch);
    return 0;
}

}  // namespace loanrisk::fuzz

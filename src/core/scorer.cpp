// One pass per chunk: kernel PDs, then decision, Expected Loss and aggregation while they are hot.
#include "loanrisk/scorer.hpp"

#include <algorithm>
#include <thread>

#include "loanrisk/kernel.hpp"
#include "loanrisk/parallel.hpp"

namespace loanrisk::core {

namespace {

void score_chunk(const compiled_model& m, const loan_batch& b, const score_options& o, std::size_t begin,
                 std::size_t end, scored_batch& out, portfolio_accumulator& acc) {
    float* pd = out.pd.data() + begin;
    auto* decisions = reinterpret_cast<std::uint8_t*>(out.decisions.data() + begin);
    double* el = out.expected_loss.data() + begin;
    policy_args args = make_policy_args(m, o.rules);
    args.exposure = b.exposure.data() + begin;
    args.age = b.age.data() + begin;
    block_totals totals;
    if (o.kernel.empty()) {
        compute_pd(m, b, begin, end, pd);
        apply_policy(args, pd, end - begin, decisions, el, totals);
    } else {
        compute_pd_with(o.kernel, m, b, begin, end, pd);
        apply_policy_with(o.kernel, args, pd, end - begin, decisions, el, totals);
    }
    acc.add(totals, end - begin);
    acc.add_groups(b, begin, end, el);
}

}  // namespace

void score_batch(const compiled_model& m, const loan_batch& b, const score_options& o, scored_batch& out,
                 portfolio_accumulator& acc) {
    out.resize(b.size);
    const std::size_t chunks = (b.size + score_chunk_loans - 1) / score_chunk_loans;
    std::vector<portfolio_accumulator> partial(chunks, acc.empty_copy());
    auto run = [&](std::size_t c) {
        std::size_t begin = c * score_chunk_loans, end = std::min(b.size, begin + score_chunk_loans);
        // Accumulate on this thread's stack: neighbouring partials share cache lines.
        portfolio_accumulator local = acc.empty_copy();
        score_chunk(m, b, o, begin, end, out, local);
        partial[c] = std::move(local);
    };
    const unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
    run_shared(chunks, threads, run);  // the cores take chunks in turn: a slowed core takes fewer
    for (const auto& p : partial) acc.merge(p);
}

}  // namespace loanrisk::core

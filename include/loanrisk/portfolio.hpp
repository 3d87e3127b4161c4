// Portfolio aggregation, accumulated in the same pass as scoring: counts by decision, exposure and
// Expected Loss (total, by group), mean PD, the PD histogram, approvals by age band with the
// disparate-impact ratio, and the PSI of the batch's PD distribution against training. Sums in double;
// accumulators merge, so chunks scored on different threads combine exactly.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "loanrisk/batch.hpp"
#include "loanrisk/kernel.hpp"
#include "loanrisk/policy.hpp"

namespace loanrisk::core {

// The policy kernel's arguments for a model and policy (exposure and age pointers left for the caller).
policy_args make_policy_args(const compiled_model& m, const policy& p);

// The reference design's PD buckets: [0,.1) [.1,.2) [.2,.3) [.3,.4) [.4,.5) [.5,.6) [.6,.8) [.8,1].
inline constexpr std::array<double, 9> pd_histogram_edges = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1};
inline constexpr std::array<const char*, 5> age_band_names = {"18-24", "25-34", "35-44", "45-54", "55+"};

struct summary_options {
    std::vector<std::string> group_by = {"loan_grade", "loan_intent"};  // categorical inputs; others ignored
};

// A requested group_by list (?group_by=, --group-by), checked against the model: names trimmed of spaces,
// empty ones and repeats dropped; an error names the first that is not a categorical input.
result<std::vector<std::string>> checked_group_by(const compiled_model& m, const std::vector<std::string>& names);

struct group_totals {
    std::size_t count = 0;
    double exposure = 0;
    double expected_loss = 0;
};

struct portfolio_accumulator {
    std::size_t count = 0;
    std::array<std::size_t, 3> decisions{};  // by core::decision
    double exposure_total = 0;
    double expected_loss_total = 0;
    std::size_t expected_loss_count = 0;  // loans with an Expected Loss (exposure present)
    double pd_sum = 0;
    std::array<std::size_t, pd_histogram_edges.size() - 1> pd_histogram{};
    std::vector<std::size_t> psi_counts;  // per training PD bin
    std::array<std::size_t, 5> band_count{}, band_approved{};
    std::size_t band_unknown = 0;  // no age, or under 18
    // per group_by field: the input's code column, then totals per code (categories, unknown, missing)
    std::vector<std::uint32_t> group_column;
    std::vector<std::vector<group_totals>> groups;

    // Shapes the accumulator for a model and the requested groups.
    void reset(const compiled_model& m, const summary_options& options);
    // Adds the totals of a block of n loans from the policy kernel (kernel.hpp), then the block's group
    // totals: loans [begin, end) of the batch with their Expected Losses el[0 .. end-begin).
    void add(const block_totals& t, std::size_t n);
    void add_groups(const loan_batch& b, std::size_t begin, std::size_t end, const double* el);
    void merge(const portfolio_accumulator& other);
    // merge() without the groups: `other` may group by other inputs (psi_counts of the same model).
    void merge_totals(const portfolio_accumulator& other);
    // A zeroed accumulator of the same shape (for per-chunk partials).
    portfolio_accumulator empty_copy() const;

private:
    std::vector<group_totals> lanes_;  // add()'s scratch: interleaved group totals
};

// Derived figures, computed once at the end. Rates are NaN when undefined (no loans); writers print null.
struct portfolio_summary {
    const portfolio_accumulator* totals = nullptr;
    std::vector<std::string> group_fields;                    // names, parallel to totals->groups
    std::vector<std::vector<std::string>> group_labels;       // per field: categories, "(unknown)", "(missing)"
    std::string age_field;                                    // "" when the model has none
    double approval_rate = 0, manual_review_rate = 0, reject_rate = 0;
    double mean_pd = 0, mean_expected_loss = 0;
    std::array<double, 5> band_approval_rate{};
    std::optional<double> disparate_impact_ratio;  // lowest over highest band approval rate, bands with loans
    std::optional<double> psi;
    std::vector<double> psi_expected, psi_actual;
};

portfolio_summary summarize(const compiled_model& m, const portfolio_accumulator& acc, const summary_options& options);

}  // namespace loanrisk::core

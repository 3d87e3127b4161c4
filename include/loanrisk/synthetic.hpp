// Synthetic portfolios drawn from a model's own feature distributions (its quantile bins carry equal
// training mass; categories are drawn uniformly), for benchmarks on hardware without the real data.
#pragma once

#include <cstddef>
#include <string>

#include "loanrisk/model.hpp"

namespace loanrisk::io {

enum class text_format { csv, ndjson, json_batch };

// `loans` loans as a request body: CSV with a header, NDJSON, or {"items":[...]}. Each loan has an
// "application_id"; about 2% of values are missing. Deterministic for a seed.
std::string synthetic_portfolio(const core::model& m, std::size_t loans, text_format format, unsigned seed = 1);

}  // namespace loanrisk::io

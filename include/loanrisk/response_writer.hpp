// Response writers: scored loans and the portfolio summary -> JSON, NDJSON or CSV bytes, appended to a
// std::string with std::to_chars numbers and no per-loan heap allocation.
#pragma once

#include <cstddef>
#include <string>

#include "loanrisk/batch.hpp"
#include "loanrisk/explain.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/portfolio.hpp"
#include "loanrisk/scorer.hpp"

namespace loanrisk::io {

// PD as the shortest decimal that reads back to the same float; Expected Loss rounded to cents. The
// write_* forms write at `p` (room: max_number_chars, json_writer.hpp) and return the end.
char* write_pd(char* p, float pd);
char* write_money(char* p, double amount);  // NaN -> null
void append_pd(std::string& out, float pd);
void append_money(std::string& out, double amount);  // NaN -> null

// A CSV result's scores, `pd,decision,expected_loss` (the loss empty when NaN), at `p`, which has room
// for max_csv_scores_chars; returns the end.
inline constexpr std::size_t max_csv_scores_chars = 80;
char* write_csv_scores(char* p, float pd, core::decision d, double expected_loss);
// Loan i's CSV result line at `p`: its id (quoted when needed) or, when it has none, `row` if > 0, then
// the scores and a line end. Room: max_csv_result_chars + twice the id's bytes; returns the end.
inline constexpr std::size_t max_csv_result_chars = max_number_chars + 1 + max_csv_scores_chars + 1;
char* write_csv_result(char* p, const core::loan_batch& b, const core::scored_batch& s, std::size_t i,
                       std::int64_t row = 0);

// Loan i's JSON result without explanation, {"application_id":..,"pd_default":..,"decision":..,
// "expected_loss":..}, at `p`. Room: max_json_result_chars + 6 times the id's bytes; returns the end.
inline constexpr std::size_t max_json_result_chars = 96 + 2 * max_number_chars;
char* write_json_result(char* p, const core::loan_batch& b, const core::scored_batch& s, std::size_t i);

// {"LGD":0.6,"APPROVE_MAX":0.3,"REJECT_MIN":0.6}
void append_assumptions(std::string& out, const core::policy& p);

// "score":640,"reason_codes":[{"feature":..,"value":..,"contribution":..},...] (no braces around).
void append_score_and_reasons(std::string& out, const core::explanation& e);

// Results of loans [begin, end) as JSON objects separated by commas (the caller writes the brackets and
// the comma before the first when continuing a list): {"application_id":..,"pd_default":..,"decision":..,
// "expected_loss":..}. With `explain`, each adds "score" and "reason_codes". These and the NDJSON and CSV
// forms write many results on every core.
void append_results_json(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                         const core::scored_batch& s, std::size_t begin, std::size_t end, bool explain = false);
// One JSON object per line.
void append_results_ndjson(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                           const core::scored_batch& s, std::size_t begin, std::size_t end, bool explain = false);
// CSV: application_id,pd_default,decision,expected_loss (header written by append_results_csv_header),
// with `explain` followed by score,reason_1,reason_2,reason_3 (each reason "feature=value", the largest first).
void append_results_csv_header(std::string& out, bool explain = false);
void append_results_csv(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                        const core::scored_batch& s, std::size_t begin, std::size_t end, bool explain = false);
// The columns append_csv_explanation adds, for a header.
inline constexpr std::string_view csv_explanation_columns = "score,reason_1,reason_2,reason_3";
// ",score,reason_1,reason_2,reason_3" of one loan's explanation (empty fields for reasons it lacks).
void append_csv_explanation(std::string& out, const core::explanation& e);

// The summary object of SPEC section 3.
void append_summary_json(std::string& out, const core::portfolio_summary& s);

// The whole /batch_predict JSON response.
void append_batch_response_json(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                                const core::scored_batch& s, const core::portfolio_summary& summary,
                                const core::policy& p, bool results, bool explain);

// The /predict JSON response for loan `i` of the batch (id, PD, decision, EL, assumptions, model version,
// score, reason codes, warnings).
void append_predict_response_json(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                                  const core::scored_batch& s, std::size_t i, const core::explanation& e,
                                  const core::policy& p);

}  // namespace loanrisk::io

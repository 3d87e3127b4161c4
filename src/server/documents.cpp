// Model card and OpenAPI description, generated from the serving model so that a model trained on other
// columns documents itself; the lookup of the dashboard's embedded files.
#include "documents.hpp"

#include <cmath>

#include "loanrisk/json_writer.hpp"
#include "loanrisk/response_writer.hpp"

namespace loanrisk::server {

namespace {

const char* type_name(core::feature_type t) {
    switch (t) {
    case core::feature_type::numeric: return "numeric";
    case core::feature_type::categorical: return "categorical";
    case core::feature_type::cross: return "cross";
    }
    return "numeric";
}

void range(io::json_writer& w, const core::value_range& r) {
    w.begin_object().key("min");
    if (std::isfinite(r.min)) w.value(r.min);
    else w.null();
    w.key("max");
    if (std::isfinite(r.max)) w.value(r.max);
    else w.null();
    w.end_object();
}

std::string assumptions(const core::policy& p) {
    std::string s;
    io::append_assumptions(s, p);
    return s;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
}

}  // namespace

std::string model_card_json(const model_state& s, const core::policy& p) {
    const core::model& m = *s.model;
    io::json_writer w;
    w.begin_object();
    w.key("model_version").value(m.model_version).key("schema_version").value(m.schema_version);
    w.key("kind").value(m.kind).key("target").value(m.target).key("exposure_field").value(m.exposure_field);
    w.key("age_field");
    m.age_field.empty() ? w.null() : w.value(m.age_field);
    w.key("loaded_at").value(s.loaded_at).key("api_version").value(api_version);
    w.key("intercept").value(m.intercept);
    w.key("features").begin_array();
    for (const auto& f : m.features) {
        w.begin_object().key("name").value(f.name).key("type").value(type_name(f.type));
        if (f.type == core::feature_type::numeric) {
            w.key("domain");
            range(w, f.domain);
            w.key("training_range");
            range(w, f.training_range);
            if (f.transform == core::numeric_transform::bins) {
                w.key("transform").value("bins").key("bins").value(f.edges.size() + 1);
                w.key("edges").numbers(f.edges, 10);
            } else {
                w.key("transform").value("standardize").key("impute").value(f.impute).key("mean").value(f.mean);
                w.key("scale").value(f.scale);
            }
        } else if (f.type == core::feature_type::categorical) {
            w.key("categories").begin_array();
            for (const auto& c : f.categories) w.value(c);
            w.end_array();
        } else {
            w.key("cross_of").begin_array();
            w.value(m.features[f.cross_of[0]].name).value(m.features[f.cross_of[1]].name);
            w.end_array().key("pairs").value(f.pair_weights.size());
        }
        w.end_object();
    }
    w.end_array();
    w.key("training_pd_distribution").begin_object();
    w.key("edges").numbers(m.training_pd.edges, 10).key("fractions").numbers(m.training_pd.fractions, 10);
    w.end_object();
    w.key("metrics").raw(m.metrics_json).key("training").raw(m.training_json);
    w.key("policy").raw(assumptions(p));
    w.key("kernel").value(core::best_kernel());
    w.end_object();
    return w.take();
}

namespace {

// The static part of the description; __LOAN__ is replaced by the loan schema of the serving model,
// __VERSION__ by the model version.
constexpr const char* openapi_template = R"json({
"openapi":"3.0.3",
"info":{"title":"loanrisk","version":"__API__","description":"Credit-risk scoring: Probability of Default, decision (APPROVE / MANUAL_REVIEW / REJECT) and Expected Loss, one loan or a portfolio at a time, with portfolio aggregates. Serving model __VERSION__."},
"paths":{
"/health":{"get":{"summary":"Liveness","responses":{"200":{"description":"alive","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Health"}}}}}}},
"/ready":{"get":{"summary":"Readiness: 200 once a model is loaded and warmed up, 503 before and while draining","responses":{"200":{"description":"ready","content":{"application/json":{"schema":{"type":"object","properties":{"status":{"type":"string"},"model_version":{"type":"string"}}}}}},"503":{"description":"loading or draining","content":{"application/json":{"schema":{"type":"object","properties":{"status":{"type":"string","enum":["loading","draining"]}}}}}}}}},
"/predict":{"post":{"summary":"Score one loan","requestBody":{"required":true,"content":{"application/json":{"schema":{"oneOf":[{"$ref":"#/components/schemas/WrappedLoan"},{"$ref":"#/components/schemas/Loan"}]}}}},"responses":{"200":{"description":"scored","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Prediction"}}}},"400":{"$ref":"#/components/responses/Malformed"},"415":{"$ref":"#/components/responses/Error"},"413":{"$ref":"#/components/responses/Error"},"422":{"$ref":"#/components/responses/Invalid"}}}},
"/batch_predict":{"post":{"summary":"Score a portfolio; the summary is computed in the same pass",
 "parameters":[
  {"name":"results","in":"query","schema":{"type":"boolean","default":true},"description":"false: the summary alone"},
  {"name":"group_by","in":"query","schema":{"type":"string","default":"loan_grade,loan_intent"},"description":"comma-separated categorical inputs for Expected Loss by group"},
  {"name":"explain","in":"query","schema":{"type":"boolean","default":false},"description":"add score and reason_codes to every result (CSV results: score,reason_1,reason_2,reason_3 columns, each reason feature=value)"},
  {"name":"Accept","in":"header","schema":{"type":"string","enum":["application/json","application/x-ndjson","text/csv"]},"description":"results format (a list with q weights is read as RFC 9110 has it; JSON when none of the three is acceptable). NDJSON: one result per line, then one line {summary, count, assumptions, model_version}. CSV: application_id,pd_default,decision,expected_loss rows (with ?explain=true also score,reason_1,reason_2,reason_3); count and model version in the X-Loanrisk-Count and X-Loanrisk-Model-Version headers"}],
 "requestBody":{"required":true,"content":{
  "application/json":{"schema":{"$ref":"#/components/schemas/BatchRequest"}},
  "application/x-ndjson":{"schema":{"type":"string"},"description":"one item per line (either item shape); may be sent chunked, scored as it streams"},
  "text/csv":{"schema":{"type":"string"},"description":"a header line naming the fields, RFC 4180; may be sent chunked, scored as it streams"}}},
 "responses":{"200":{"description":"scored","content":{"application/json":{"schema":{"$ref":"#/components/schemas/BatchResponse"}},"application/x-ndjson":{"schema":{"type":"string"}},"text/csv":{"schema":{"type":"string"}}}},"400":{"$ref":"#/components/responses/Malformed"},"413":{"$ref":"#/components/responses/Error"},"415":{"$ref":"#/components/responses/Error"},"422":{"$ref":"#/components/responses/Invalid"}}}},
"/model":{"get":{"summary":"Model card: version, features (types, categories, ranges), metrics, policy","responses":{"200":{"description":"the model card","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ModelCard"}}}}}}},
"/metrics":{"get":{"summary":"Prometheus text exposition","responses":{"200":{"description":"metrics","content":{"text/plain":{"schema":{"type":"string"}}}}}}},
"/openapi.json":{"get":{"summary":"This document","responses":{"200":{"description":"OpenAPI 3.0","content":{"application/json":{"schema":{"type":"object"}}}}}}},
"/stats":{"get":{"summary":"Live traffic since start: loans scored, decision mix, PD histogram, PSI, Expected Loss by category","responses":{"200":{"description":"snapshot","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Stats"}}}}}}},
"/":{"get":{"summary":"Portfolio monitoring dashboard","responses":{"200":{"description":"web page","content":{"text/html":{"schema":{"type":"string"}}}}}}},
"/docs":{"get":{"summary":"This API reference as a web page (also at /redoc), with a form to try each route","responses":{"200":{"description":"web page","content":{"text/html":{"schema":{"type":"string"}}}}}}},
"/admin/reload":{"post":{"summary":"Load a model file, validate it fully, swap atomically (in-flight requests finish on the old one)","security":[{"bearer":[]}],
 "requestBody":{"required":false,"content":{"application/json":{"schema":{"type":"object","properties":{"model":{"type":"string","description":"model artifact path on the server; absent or empty body: the start-up file"}}}}}},
 "responses":{"200":{"description":"reloaded","content":{"application/json":{"schema":{"type":"object","properties":{"status":{"type":"string"},"model_version":{"type":"string"},"previous_model_version":{"type":"string","nullable":true},"path":{"type":"string"}}}}}},"401":{"$ref":"#/components/responses/Error"},"422":{"$ref":"#/components/responses/Error"}}}}
},
"components":{
"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","description":"LOANRISK_ADMIN_TOKEN"}},
"responses":{
 "Error":{"description":"error","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},
 "Malformed":{"description":"malformed JSON or CSV","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},
 "Invalid":{"description":"wrong type, value outside the model's declared domain, NaN/inf","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}},
"schemas":{
 "Error":{"type":"object","required":["error","detail"],"properties":{"error":{"type":"string","example":"invalid_field"},"detail":{"type":"string"},"path":{"type":"string","example":"items[17].data.person_age"},"offset":{"type":"integer"}}},
 "Health":{"type":"object","properties":{"status":{"type":"string","example":"ok"},"api_version":{"type":"string"},"model_version":{"type":"string"}}},
 "Loan":{"type":"object","description":"Loan features (flat). Unknown fields are ignored; a missing feature is handled as the model says. The id is the first non-empty of application_id, ID, id, loan_id, client_id, customer_id, reference_id.","properties":__LOAN__,"additionalProperties":true},
 "WrappedLoan":{"type":"object","required":["data"],"properties":{"application_id":{"type":"string","nullable":true},"data":{"$ref":"#/components/schemas/Loan"}}},
 "BatchRequest":{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"oneOf":[{"$ref":"#/components/schemas/Loan"},{"$ref":"#/components/schemas/WrappedLoan"}]}}}},
 "Assumptions":{"type":"object","properties":{"LGD":{"type":"number"},"APPROVE_MAX":{"type":"number"},"REJECT_MIN":{"type":"number"}}},
 "Decision":{"type":"string","enum":["APPROVE","MANUAL_REVIEW","REJECT"]},
 "ReasonCode":{"type":"object","properties":{"feature":{"type":"string"},"value":{"type":"string"},"contribution":{"type":"number","description":"how much the feature raises the logit (log-odds of default) above the average applicant's (its mean contribution in training)"}}},
 "Result":{"type":"object","properties":{"application_id":{"type":"string","nullable":true},"pd_default":{"type":"number"},"decision":{"$ref":"#/components/schemas/Decision"},"expected_loss":{"type":"number","nullable":true},"score":{"type":"integer"},"reason_codes":{"type":"array","items":{"$ref":"#/components/schemas/ReasonCode"}}}},
 "Prediction":{"type":"object","properties":{"application_id":{"type":"string","nullable":true},"pd_default":{"type":"number"},"decision":{"$ref":"#/components/schemas/Decision"},"expected_loss":{"type":"number","nullable":true},"assumptions":{"$ref":"#/components/schemas/Assumptions"},"model_version":{"type":"string"},"score":{"type":"integer","description":"600 at odds 50:1 good:bad, 20 points to double the odds"},"reason_codes":{"type":"array","items":{"$ref":"#/components/schemas/ReasonCode"}},"warnings":{"type":"array","items":{"type":"string"}}}},
 "Summary":{"type":"object","properties":{"count":{"type":"integer"},"decisions":{"type":"object","additionalProperties":{"type":"integer"}},"approval_rate":{"type":"number","nullable":true},"manual_review_rate":{"type":"number","nullable":true},"reject_rate":{"type":"number","nullable":true},"total_exposure":{"type":"number"},"total_expected_loss":{"type":"number"},"mean_expected_loss":{"type":"number","nullable":true},"mean_pd":{"type":"number","nullable":true},"pd_histogram":{"type":"object","properties":{"edges":{"type":"array","items":{"type":"number"}},"counts":{"type":"array","items":{"type":"integer"}}}},"expected_loss_by":{"type":"object","additionalProperties":{"type":"object","additionalProperties":{"type":"object","properties":{"count":{"type":"integer"},"exposure":{"type":"number"},"expected_loss":{"type":"number"}}}}},"approval_by_age_band":{"type":"object","properties":{"field":{"type":"string","nullable":true},"bands":{"type":"array","items":{"type":"object","properties":{"band":{"type":"string"},"count":{"type":"integer"},"approved":{"type":"integer"},"approval_rate":{"type":"number","nullable":true}}}},"unknown":{"type":"integer"},"disparate_impact_ratio":{"type":"number","nullable":true,"description":"lowest over highest approval rate of the bands with loans; null with fewer than two such bands or no approval"}}},"psi":{"type":"object","properties":{"value":{"type":"number","nullable":true},"expected":{"type":"array","items":{"type":"number"}},"actual":{"type":"array","items":{"type":"number"}}}}}},
 "BatchResponse":{"type":"object","properties":{"results":{"type":"array","items":{"$ref":"#/components/schemas/Result"}},"count":{"type":"integer"},"assumptions":{"$ref":"#/components/schemas/Assumptions"},"model_version":{"type":"string"},"summary":{"$ref":"#/components/schemas/Summary"}}},
 "ModelCard":{"type":"object","properties":{"model_version":{"type":"string"},"kind":{"type":"string"},"target":{"type":"string"},"exposure_field":{"type":"string"},"age_field":{"type":"string","nullable":true,"description":"the numeric feature placing a loan in an age band of the summary; null for none"},"features":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"type":{"type":"string","enum":["numeric","categorical","cross"]},"domain":{"type":"object"},"training_range":{"type":"object"},"categories":{"type":"array","items":{"type":"string"}}}}},"metrics":{"type":"object"},"training":{"type":"object"},"policy":{"$ref":"#/components/schemas/Assumptions"}}},
 "Stats":{"type":"object","properties":{"started_at":{"type":"string"},"uptime_seconds":{"type":"number"},"model_version":{"type":"string"},"model_loaded_at":{"type":"string"},"loans_scored_total":{"type":"integer"},"requests":{"type":"object","additionalProperties":{"type":"integer"}},"live":{"$ref":"#/components/schemas/Summary"}}}
}}}
)json";

}  // namespace

std::string openapi_json(const model_state& s, const core::policy&) {
    io::json_writer w;
    w.begin_object();
    for (const auto& f : s.model->features) {
        if (f.type == core::feature_type::cross) continue;
        w.key(f.name).begin_object();
        if (f.type == core::feature_type::numeric) {
            w.key("type").value("number");
            if (std::isfinite(f.domain.min)) w.key("minimum").value(f.domain.min);
            if (std::isfinite(f.domain.max)) w.key("maximum").value(f.domain.max);
            std::string range = "training range ";
            io::append_number(range, f.training_range.min);
            range += "..";
            io::append_number(range, f.training_range.max);
            w.key("description").value(range);
            // A typical value: the middle quantile bin edge (about the training median), or the mean.
            const bool binned = f.transform == core::numeric_transform::bins && !f.edges.empty();
            const double typical = binned ? f.edges[f.edges.size() / 2] : f.mean;
            if (std::isfinite(typical)) w.key("example").value(typical);
        } else {
            w.key("type").value("string").key("description").value("unknown categories contribute 0");
            w.key("example").value(f.categories.empty() ? std::string() : f.categories.front());
        }
        w.key("nullable").value(true).end_object();
    }
    w.key("application_id").begin_object().key("type").value("string").key("nullable").value(true).end_object();
    w.end_object();
    std::string doc = openapi_template;
    replace_all(doc, "__LOAN__", w.str());
    replace_all(doc, "__VERSION__", s.model->model_version);
    replace_all(doc, "__API__", api_version);
    return doc;
}

const static_asset* find_asset(std::string_view name) {
    for (const auto& a : embedded_assets())
        if (a.name == name) return &a;
    return nullptr;
}

}  // namespace loanrisk::server

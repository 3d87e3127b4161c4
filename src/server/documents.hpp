// The self-describing documents the server hands out: the model card (/model), the OpenAPI 3.0
// description (/openapi.json, with the loan schema generated from the serving model) and the page at /.
#pragma once

#include <string>

#include "app_state.hpp"

namespace loanrisk::server {

std::string model_card_json(const model_state& s, const core::policy& p);
std::string openapi_json(const model_state& s, const core::policy& p);
std::string dashboard_html(const model_state& s);

}  // namespace loanrisk::server

// The decision policy and Expected Loss assumptions: server settings, echoed in every response.
#pragma once

#include <cstdint>
#include <string_view>

namespace loanrisk::core {

struct policy {
    double approve_max = 0.30;  // PD below this: APPROVE
    double reject_min = 0.60;   // PD at or above this: REJECT; in between: MANUAL_REVIEW
    double lgd = 0.60;          // loss given default, for Expected Loss = PD x exposure x LGD

    // approve_max <= reject_min, both within [0, 1], LGD within [0, 1].
    bool valid() const {
        return approve_max >= 0 && approve_max <= reject_min && reject_min <= 1 && lgd >= 0 && lgd <= 1;
    }
};

enum class decision : std::uint8_t { approve = 0, manual_review = 1, reject = 2 };

inline decision decide(const policy& p, double pd) {
    return pd < p.approve_max ? decision::approve : pd < p.reject_min ? decision::manual_review : decision::reject;
}

constexpr std::string_view decision_name(decision d) {
    switch (d) {
    case decision::approve: return "APPROVE";
    case decision::manual_review: return "MANUAL_REVIEW";
    case decision::reject: return "REJECT";
    }
    return "REJECT";
}

}  // namespace loanrisk::core

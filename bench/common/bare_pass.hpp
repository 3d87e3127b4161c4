// The ceiling the JSON goals are measured against: simdjson On-Demand touching every field of every item of
// a {"items": [...]} body (its key unescaped, a number read as double, a string as a view), nothing else.
// Shared by the micro-benchmark (bench/micro) and bench/load's loanrisk_bare_pass, so that both measure the
// same pass.
#pragma once

#include <cstddef>
#include <simdjson.h>

namespace loanrisk::bench {

struct bare_pass_result {
    simdjson::error_code error = simdjson::SUCCESS;
    std::size_t items = 0;
    double sum = 0;          // of the numbers: kept, so that the reads cannot be optimised away
    std::size_t chars = 0;   // of the keys and strings
};

inline bare_pass_result bare_pass(simdjson::ondemand::parser& parser, const simdjson::padded_string& text) {
    bare_pass_result r;
    simdjson::ondemand::document doc;
    simdjson::ondemand::array items;
    if ((r.error = parser.iterate(text).get(doc)) || (r.error = doc["items"].get_array().get(items))) return r;
    for (auto item : items) {
        simdjson::ondemand::object o;
        if ((r.error = item.get_object().get(o))) return r;
        ++r.items;
        for (auto field : o) {
            std::string_view key;
            if ((r.error = field.unescaped_key().get(key))) return r;
            r.chars += key.size();
            auto v = field.value();
            double d;
            std::string_view sv;
            if (!v.get_double().get(d)) r.sum += d;
            else if (!v.get_string().get(sv)) r.chars += sv.size();
        }
    }
    return r;
}

}  // namespace loanrisk::bench

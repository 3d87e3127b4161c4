// Synthetic portfolio bodies for `loanrisk bench` and the micro-benchmarks.
#include "loanrisk/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "loanrisk/csv.hpp"
#include "loanrisk/json_writer.hpp"

namespace loanrisk::io {

namespace {

// One numeric value: a uniformly chosen bin, then uniform inside it, within the training range (or the
// domain, when the artifact has no training range) and always inside the domain, which decoders enforce.
double draw_number(const core::feature& f, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(0, 1);
    double lo = f.training_range.min, hi = f.training_range.max;
    if (!std::isfinite(lo)) lo = std::isfinite(f.domain.min) ? f.domain.min : std::min(0.0, f.domain.max);
    if (!std::isfinite(hi)) hi = std::isfinite(f.domain.max) ? f.domain.max : lo + 1;
    if (f.transform == core::numeric_transform::bins && !f.edges.empty()) {
        std::size_t bin = static_cast<std::size_t>(u(rng) * static_cast<double>(f.edges.size() + 1));
        double a = bin == 0 ? lo : f.edges[bin - 1];
        double b = bin == f.edges.size() ? hi : f.edges[bin];
        lo = std::max(lo, std::min(a, b)), hi = std::max(lo, b);
    }
    lo = std::clamp(lo, f.domain.min, f.domain.max);
    hi = std::clamp(hi, lo, f.domain.max);
    const double x = lo + u(rng) * (hi - lo);
    const double rounded = std::round(x * 100) / 100;  // as such columns are written: two decimals at most
    return f.domain.contains(rounded) ? rounded : x;   // unless rounding would step outside the domain
}

}  // namespace

std::string synthetic_portfolio(const core::model& m, std::size_t loans, text_format format, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<const core::feature*> inputs;
    for (const auto& f : m.features)
        if (f.type != core::feature_type::cross) inputs.push_back(&f);
    std::string out;
    out.reserve(loans * (inputs.size() * 24 + 32));
    if (format == text_format::csv) {
        out += "application_id";
        for (const auto* f : inputs) out += ',', append_csv_field(out, f->name);
        out += '\n';
    } else if (format == text_format::json_batch) {
        out += "{\"items\":[";
    }
    for (std::size_t i = 0; i < loans; ++i) {
        std::string id = "L-" + std::to_string(i + 1);
        if (format == text_format::csv) {
            out += id;
            for (const auto* f : inputs) {
                out += ',';
                if (u(rng) < 0.02) continue;
                if (f->type == core::feature_type::numeric) append_number(out, draw_number(*f, rng));
                else append_csv_field(out, f->categories[static_cast<std::size_t>(u(rng) * static_cast<double>(f->categories.size()))]);
            }
            out += '\n';
            continue;
        }
        if (format == text_format::json_batch && i) out += ',';
        out += "{\"application_id\":";
        append_string(out, id);
        for (const auto* f : inputs) {
            if (u(rng) < 0.02) continue;
            out += ',';
            append_string(out, f->name);
            out += ':';
            if (f->type == core::feature_type::numeric) append_number(out, draw_number(*f, rng));
            else append_string(out, f->categories[static_cast<std::size_t>(u(rng) * static_cast<double>(f->categories.size()))]);
        }
        out += '}';
        if (format == text_format::ndjson) out += '\n';
    }
    if (format == text_format::json_batch) out += "]}";
    return out;
}

}  // namespace loanrisk::io

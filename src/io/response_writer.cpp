// The response writers: string appends and std::to_chars only, so a million results cost no allocations
// beyond the output buffer's growth.
#include "loanrisk/response_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "loanrisk/csv.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/parallel.hpp"

namespace loanrisk::io {

// A non-finite PD (never produced by a valid model) is written as null: never invalid JSON.
char* write_pd(char* p, float pd) { return write_float(p, pd); }

char* write_money(char* p, double amount) {
    if (std::isnan(amount)) {
        std::memcpy(p, "null", 4);
        return p + 4;
    }
    const double cents = std::round(amount * 100);
    if (!std::isfinite(cents)) return write_number(p, amount);  // past 1.8e306: no cents to write
    // Amounts with cents are written from the integer number of cents: below 1e13 cents a double's
    // spacing is far under a cent, so the two-decimal form (a trailing zero dropped) is exactly the
    // shortest round-trip form to_chars would print, and it is shorter than the scientific form. Whole
    // amounts (where "3e+05" can be the shortest) and huge ones take to_chars itself.
    const auto c = std::fabs(cents) < 1e13 ? static_cast<std::int64_t>(cents) : 0;
    if (c % 100 != 0) {
        const std::uint64_t magnitude = static_cast<std::uint64_t>(c < 0 ? -c : c);
        if (c < 0) *p++ = '-';
        p = write_padded_digits(p, magnitude / 100, decimal_digits(magnitude / 100));
        const auto fraction = static_cast<unsigned>(magnitude % 100);
        *p++ = '.';
        *p++ = static_cast<char>('0' + fraction / 10);
        if (fraction % 10 != 0) *p++ = static_cast<char>('0' + fraction % 10);
        return p;
    }
    return write_number(p, cents / 100);
}

namespace {

// The decision's name at `p`, whose room covers 16 bytes (all are written: one fixed-size copy, not a call
// to memcpy for a few bytes); returns the end.
char* write_decision(char* p, core::decision d) {
    static constexpr auto padded = [] {  // decision_name's texts, each in 16 bytes
        std::array<std::array<char, 16>, 3> names{};
        for (std::size_t k = 0; k < names.size(); ++k) {
            const std::string_view name = core::decision_name(static_cast<core::decision>(k));
            std::copy(name.begin(), name.end(), names[k].begin());
        }
        return names;
    }();
    std::memcpy(p, padded[std::min<std::size_t>(static_cast<std::size_t>(d), 2)].data(), 16);
    return p + core::decision_name(d).size();
}

// write_csv_field for loan i's id: one of up to 16 bytes with 16 readable bytes of b.id_text from its start
// is checked for bytes to quote with one compare per kind and copied as a 16-byte block (the row's room
// covers it); any other takes write_csv_field.
char* write_csv_id(char* p, const core::loan_batch& b, std::size_t i) {
    const std::string_view id = b.id(i);
#if defined(__SSE2__)
    if (id.size() <= 16 && static_cast<std::size_t>(b.id_text.data() + b.id_text.size() - id.data()) >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(id.data()));
        const __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')), _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))),
                                          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
        const unsigned in_id = (1u << id.size()) - 1;
        if ((static_cast<unsigned>(_mm_movemask_epi8(hits)) & in_id) == 0) {
            std::memcpy(p, id.data(), 16);
            return p + id.size();
        }
    }
#endif
    return write_csv_field(p, id);
}

}  // namespace

void append_pd(std::string& out, float pd) {
    char buf[max_number_chars];
    out.append(buf, write_pd(buf, pd));
}

void append_money(std::string& out, double amount) {
    char buf[max_number_chars];
    out.append(buf, write_money(buf, amount));
}

void append_assumptions(std::string& out, const core::policy& p) {
    // A server's every response carries the same three numbers: formatted once per policy and thread.
    thread_local core::policy last{std::nan(""), std::nan(""), std::nan("")};
    thread_local std::string text;
    if (p.lgd != last.lgd || p.approve_max != last.approve_max || p.reject_min != last.reject_min) {
        text = "{\"LGD\":";
        append_number(text, p.lgd);
        text += ",\"APPROVE_MAX\":";
        append_number(text, p.approve_max);
        text += ",\"REJECT_MIN\":";
        append_number(text, p.reject_min);
        text += '}';
        last = p;
    }
    out += text;
}

namespace {

// The most write_score_and_reasons can write for `e` (every string byte escaped).
std::size_t score_and_reasons_room(const core::explanation& e) {
    std::size_t room = 64;
    for (const auto& r : e.reasons)
        room += 64 + max_string_chars(r.feature.size()) + max_string_chars(r.value.size()) + max_number_chars;
    return room;
}

// "score" and "reason_codes" at `p`, which has room for score_and_reasons_room(e); returns the end.
char* write_score_and_reasons(char* p, const core::explanation& e) {
    auto put = [&p](std::string_view text) {
        std::memcpy(p, text.data(), text.size());
        p += text.size();
    };
    put("\"score\":");
    p = write_integer(p, e.score);
    put(",\"reason_codes\":[");
    for (std::size_t r = 0; r < e.reasons.size(); ++r) {
        put(r ? ",{\"feature\":" : "{\"feature\":");
        p = write_string(p, e.reasons[r].feature);
        put(",\"value\":");
        p = write_string(p, e.reasons[r].value);
        put(",\"contribution\":");
        p = write_number(p, e.reasons[r].contribution, 6);
        *p++ = '}';
    }
    *p++ = ']';
    return p;
}

}  // namespace

void append_score_and_reasons(std::string& out, const core::explanation& e) {
    // Written at a pointer, no append per token: in place when `out` already has room for the worst case
    // (every byte escaped; a batch's output, reserved once), else on the stack when it fits there, and
    // `out` grows by what was written. Reserving the worst case in a /predict response would grow it past
    // glibc's small requests (up to 1,000 bytes), and each larger request first consolidates the
    // allocator's fast bins (malloc_consolidate: 0.6% of the server's CPU under /predict load, about 1%
    // with the slower allocations after it).
    constexpr std::size_t stack_room = 2048;
    const std::size_t room = score_and_reasons_room(e), at = out.size();
    if (room > out.capacity() - at && room <= stack_room) {
        char text[stack_room];
        out.append(text, static_cast<std::size_t>(write_score_and_reasons(text, e) - text));
        return;
    }
    out.resize(at + room);
    out.resize(static_cast<std::size_t>(write_score_and_reasons(out.data() + at, e) - out.data()));
}

namespace {

// Result i as write_json_result writes it, left open after its last field.
void append_open_result(std::string& out, const core::loan_batch& b, const core::scored_batch& s, std::size_t i) {
    const std::size_t at = out.size(), id_bytes = b.id_end[i] - (i ? b.id_end[i - 1] : 0);
    out.resize(at + max_json_result_chars + 6 * id_bytes);
    const char* end = write_json_result(out.data() + at, b, s, i);
    out.resize(static_cast<std::size_t>(end - out.data()) - 1);  // its closing brace
}

// A JSON result with "score" and "reason_codes".
void append_explained_result(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                             const core::scored_batch& s, std::size_t i) {
    append_open_result(out, b, s, i);
    out += ',';
    append_score_and_reasons(out, core::explain(m, b, i));
    out += '}';
}

// Rows [begin, end) appended by fill(to, from, until), which appends rows [from, until) to `to`: in one
// go, or for many rows in contiguous parts on every core, joined in order.
constexpr std::size_t parallel_min_rows = 16384;

template <class Fill>
void append_in_parts(std::string& out, std::size_t begin, std::size_t end, Fill fill) {
    if (begin >= end) return;
    const std::size_t parts = core::parts_for(end - begin, parallel_min_rows);
    if (parts == 1) {
        fill(out, begin, end);
        return;
    }
    std::vector<std::string> tail(parts - 1);
    auto bound = [&](std::size_t t) { return begin + (end - begin) * t / parts; };
    core::run_parts(parts, [&](std::size_t t) { fill(t ? tail[t - 1] : out, bound(t), bound(t + 1)); });
    for (const auto& t : tail) out += t;
}

// Rows [begin, end) written at a pointer by write(p, i), room for them (row_room per row and id_room per byte
// of their ids) reserved once, then made a block of rows at a time and trimmed after each: only the bytes
// written are ever touched (resize zero-fills; a whole batch's room would be twice its output).
template <class Write>
void append_rows(std::string& out, const core::loan_batch& b, std::size_t begin, std::size_t end,
                 std::size_t row_room, std::size_t id_room, Write write) {
    constexpr std::size_t block = 512;
    auto room = [&](std::size_t from, std::size_t until) {
        return (until - from) * row_room + id_room * (b.id_end[until - 1] - (from ? b.id_end[from - 1] : 0));
    };
    append_in_parts(out, begin, end, [&](std::string& to, std::size_t from, std::size_t until) {
        to.reserve(to.size() + room(from, until));
        for (std::size_t first = from; first < until; first += block) {
            const std::size_t last = std::min(first + block, until), at = to.size();
            to.resize(at + room(first, last));
            char* p = to.data() + at;
            for (std::size_t i = first; i < last; ++i) p = write(p, i);
            to.resize(static_cast<std::size_t>(p - to.data()));
        }
    });
}

void append_rate(std::string& out, double r) { append_number(out, r, 6); }

}  // namespace

char* write_json_result(char* p, const core::loan_batch& b, const core::scored_batch& s, std::size_t i) {
    auto put = [&p](std::string_view text) {
        std::memcpy(p, text.data(), text.size());
        p += text.size();
    };
    put("{\"application_id\":");
    if (b.id_present[i]) p = write_string(p, b.id(i));
    else put("null");
    put(",\"pd_default\":");
    p = write_pd(p, s.pd[i]);
    put(",\"decision\":\"");
    p = write_decision(p, s.decisions[i]);
    put("\",\"expected_loss\":");
    p = write_money(p, s.expected_loss[i]);
    *p++ = '}';
    return p;
}

void append_results_json(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                         const core::scored_batch& s, std::size_t begin, std::size_t end, bool explain) {
    if (explain) {
        append_in_parts(out, begin, end, [&](std::string& to, std::size_t from, std::size_t until) {
            for (std::size_t i = from; i < until; ++i) {
                if (i != begin) to += ',';
                append_explained_result(to, m, b, s, i);
            }
        });
        return;
    }
    append_rows(out, b, begin, end, max_json_result_chars + 1, 6, [&](char* p, std::size_t i) {
        if (i != begin) *p++ = ',';
        return write_json_result(p, b, s, i);
    });
}

void append_results_ndjson(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                           const core::scored_batch& s, std::size_t begin, std::size_t end, bool explain) {
    if (explain) {
        append_in_parts(out, begin, end, [&](std::string& to, std::size_t from, std::size_t until) {
            for (std::size_t i = from; i < until; ++i) {
                append_explained_result(to, m, b, s, i);
                to += '\n';
            }
        });
        return;
    }
    append_rows(out, b, begin, end, max_json_result_chars + 1, 6, [&](char* p, std::size_t i) {
        p = write_json_result(p, b, s, i);
        *p++ = '\n';
        return p;
    });
}

void append_results_csv_header(std::string& out, bool explain) {
    out += "application_id,pd_default,decision,expected_loss";
    if (explain) (out += ',') += csv_explanation_columns;
    out += '\n';
}

void append_csv_explanation(std::string& out, const core::explanation& e) {
    out += ',';
    append_integer(out, e.score);
    for (std::size_t r = 0; r < 3; ++r) {
        out += ',';
        if (r < e.reasons.size()) append_csv_field(out, std::string(e.reasons[r].feature) + "=" + e.reasons[r].value);
    }
}

char* write_csv_scores(char* p, float pd, core::decision d, double expected_loss) {
    p = write_pd(p, pd);
    *p++ = ',';
    p = write_decision(p, d);
    *p++ = ',';
    if (!std::isnan(expected_loss)) p = write_money(p, expected_loss);
    return p;
}

char* write_csv_result(char* p, const core::loan_batch& b, const core::scored_batch& s, std::size_t i,
                       std::int64_t row) {
    if (b.id_present[i]) p = write_csv_id(p, b, i);
    else if (row > 0) p = write_integer(p, row);
    *p++ = ',';
    p = write_csv_scores(p, s.pd[i], s.decisions[i], s.expected_loss[i]);
    *p++ = '\n';
    return p;
}

void append_results_csv(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                        const core::scored_batch& s, std::size_t begin, std::size_t end, bool explain) {
    if (explain) {
        append_in_parts(out, begin, end, [&](std::string& to, std::size_t from, std::size_t until) {
            for (std::size_t i = from; i < until; ++i) {
                const std::size_t at = to.size();
                to.resize(at + max_csv_result_chars + 2 * b.id(i).size());
                to.resize(static_cast<std::size_t>(write_csv_result(to.data() + at, b, s, i) - to.data()) - 1);  // no line feed
                append_csv_explanation(to, core::explain(m, b, i));
                to += '\n';
            }
        });
        return;
    }
    append_rows(out, b, begin, end, max_csv_result_chars, 2,
                [&](char* p, std::size_t i) { return write_csv_result(p, b, s, i); });
}

void append_summary_json(std::string& out, const core::portfolio_summary& s) {
    const core::portfolio_accumulator& a = *s.totals;
    out += "{\"count\":";
    append_integer(out, static_cast<std::int64_t>(a.count));
    out += ",\"decisions\":{\"APPROVE\":";
    append_integer(out, static_cast<std::int64_t>(a.decisions[0]));
    out += ",\"MANUAL_REVIEW\":";
    append_integer(out, static_cast<std::int64_t>(a.decisions[1]));
    out += ",\"REJECT\":";
    append_integer(out, static_cast<std::int64_t>(a.decisions[2]));
    out += "},\"approval_rate\":";
    append_rate(out, s.approval_rate);
    out += ",\"manual_review_rate\":";
    append_rate(out, s.manual_review_rate);
    out += ",\"reject_rate\":";
    append_rate(out, s.reject_rate);
    out += ",\"total_exposure\":";
    append_money(out, a.exposure_total);
    out += ",\"total_expected_loss\":";
    append_money(out, a.expected_loss_total);
    out += ",\"mean_expected_loss\":";
    append_money(out, s.mean_expected_loss);
    out += ",\"mean_pd\":";
    append_rate(out, s.mean_pd);
    out += ",\"pd_histogram\":{\"edges\":[";
    for (std::size_t i = 0; i < core::pd_histogram_edges.size(); ++i) {
        if (i) out += ',';
        append_number(out, core::pd_histogram_edges[i]);
    }
    out += "],\"counts\":[";
    for (std::size_t i = 0; i < a.pd_histogram.size(); ++i) {
        if (i) out += ',';
        append_integer(out, static_cast<std::int64_t>(a.pd_histogram[i]));
    }
    out += "]},\"expected_loss_by\":{";
    for (std::size_t g = 0; g < s.group_fields.size(); ++g) {
        if (g) out += ',';
        append_string(out, s.group_fields[g]);
        out += ":{";
        bool first = true;
        for (std::size_t c = 0; c < a.groups[g].size(); ++c) {
            const auto& t = a.groups[g][c];
            if (!t.count) continue;
            if (!first) out += ',';
            first = false;
            append_string(out, s.group_labels[g][c]);
            out += ":{\"count\":";
            append_integer(out, static_cast<std::int64_t>(t.count));
            out += ",\"exposure\":";
            append_money(out, t.exposure);
            out += ",\"expected_loss\":";
            append_money(out, t.expected_loss);
            out += '}';
        }
        out += '}';
    }
    out += "},\"approval_by_age_band\":{\"field\":";
    if (s.age_field.empty()) out += "null";
    else append_string(out, s.age_field);
    out += ",\"bands\":[";
    for (std::size_t i = 0; i < a.band_count.size(); ++i) {
        if (i) out += ',';
        out += "{\"band\":\"";
        out += core::age_band_names[i];
        out += "\",\"count\":";
        append_integer(out, static_cast<std::int64_t>(a.band_count[i]));
        out += ",\"approved\":";
        append_integer(out, static_cast<std::int64_t>(a.band_approved[i]));
        out += ",\"approval_rate\":";
        append_rate(out, s.band_approval_rate[i]);
        out += '}';
    }
    out += "],\"unknown\":";
    append_integer(out, static_cast<std::int64_t>(a.band_unknown));
    out += ",\"disparate_impact_ratio\":";
    if (s.disparate_impact_ratio) append_rate(out, *s.disparate_impact_ratio);
    else out += "null";
    out += "},\"psi\":{\"value\":";
    if (s.psi) append_number(out, *s.psi, 6);
    else out += "null";
    out += ",\"expected\":[";
    for (std::size_t i = 0; i < s.psi_expected.size(); ++i) {
        if (i) out += ',';
        append_rate(out, s.psi_expected[i]);
    }
    out += "],\"actual\":[";
    for (std::size_t i = 0; i < s.psi_actual.size(); ++i) {
        if (i) out += ',';
        append_rate(out, s.psi_actual[i]);
    }
    out += "]}}";
}

void append_batch_response_json(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                                const core::scored_batch& s, const core::portfolio_summary& summary,
                                const core::policy& p, bool results, bool explain) {
    out.reserve(out.size() + (results ? b.size * (explain ? 300 : 96) : 0) + 2048);
    out += '{';
    if (results) {
        out += "\"results\":[";
        append_results_json(out, m, b, s, 0, b.size, explain);
        out += "],";
    }
    out += "\"count\":";
    append_integer(out, static_cast<std::int64_t>(b.size));
    out += ",\"assumptions\":";
    append_assumptions(out, p);
    out += ",\"model_version\":";
    append_string(out, m.source->model_version);
    out += ",\"summary\":";
    append_summary_json(out, summary);
    out += '}';
}

void append_predict_response_json(std::string& out, const core::compiled_model& m, const core::loan_batch& b,
                                  const core::scored_batch& s, std::size_t i, const core::explanation& e,
                                  const core::policy& p) {
    append_open_result(out, b, s, i);
    out += ",\"assumptions\":";
    append_assumptions(out, p);
    out += ",\"model_version\":";
    append_string(out, m.source->model_version);
    out += ',';
    append_score_and_reasons(out, e);
    out += ",\"warnings\":[";
    for (std::size_t w = 0; w < e.warnings.size(); ++w) {
        if (w) out += ',';
        append_string(out, e.warnings[w] + " is outside the training range");
    }
    out += "]}";
}

}  // namespace loanrisk::io

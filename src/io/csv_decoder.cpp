// CSV bodies -> LoanBatch as they stream in: complete records are cut from the chunks (quotes respected);
// plain records are decoded a block at a time, column by column (decode_plain), and any other record by
// the RFC 4180 reader, csv_reader (decode_general). The header maps columns to model inputs, and every
// value goes through the same setters (or their inline parts) as JSON, so both formats validate and
// encode alike.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "loanrisk/csv.hpp"
#include "loanrisk/dataset.hpp"
#include "loanrisk/decode.hpp"
#include "loanrisk/parallel.hpp"
#include "short_decimals.hpp"

namespace loanrisk::io {
namespace {

constexpr int ignored_column = -1, exposure_column = -2, id_column = -3;
constexpr std::size_t none = static_cast<std::size_t>(-1);
// decode_plain cuts at most this many records, then decodes them column by column, and at most this
// many fields: 12 columns' field offsets (24 KiB) stay in L1 with the rows being filled, and a header of a
// million columns costs its decoder one row of offsets (8 MB), not 256.
constexpr std::size_t max_plain_rows = 256, max_plain_fields = 256 * 16;

// Whether byte i of `s` (stepped over, outside a quoted field) ends a record: a LF, or a CR not followed by a
// LF. A CR as the last byte may be the first half of a CRLF: its record waits for the next chunk.
bool ends_record(std::string_view s, std::size_t i) {
    return s[i] == '\n' || (s[i] == '\r' && i + 1 < s.size() && s[i + 1] != '\n');
}

// One past the first record end in `s`, or `none`. `quotes` is the quote state at s[0] on entry and at the
// returned position on return. `after_cr`: the byte before s[0] was a CR outside quotes, whose record ends
// unless s starts with the LF of a CRLF.
std::size_t first_record_end(std::string_view s, csv_quotes& quotes, bool after_cr) {
    if (after_cr && !s.empty() && s[0] != '\n') return 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        quotes.step(s[i]);
        if (!quotes.inside() && ends_record(s, i)) return i + 1;
    }
    return none;
}

// One past the last record end in `s`, or 0; `quotes` as above but updated to the state at s's end.
// `quote_free`: whether s holds no quote (and did not start inside a quoted field), which its decoding may
// rely on.
std::size_t last_record_end(std::string_view s, csv_quotes& quotes, bool& quote_free) {
    quote_free = !quotes.inside() && s.find('"') == std::string_view::npos;
    if (quote_free) {  // most bodies: the last LF, or a lone CR after it (only the tail is searched for one)
        const std::size_t lf = s.rfind('\n');
        std::size_t last = lf == std::string_view::npos ? 0 : lf + 1;
        for (std::size_t cr = s.find('\r', last); cr != std::string_view::npos && cr + 1 < s.size(); cr = s.find('\r', cr + 1))
            last = cr + 1;  // not followed by a LF: none follows the last
        if (!s.empty()) quotes.field_start = csv_quotes::starts_field_after(s.back());
        return last;
    }
    std::size_t last = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        quotes.step(s[i]);
        if (!quotes.inside() && ends_record(s, i)) last = i + 1;
    }
    return last;
}

// Why parse_number refused `text`: "nan", "inf" and 1e999 are numbers no double holds finitely, refused
// with the words JSON uses for them; anything else is not a number at all.
const char* not_a_number(std::string_view text) {
    text = trim_blanks(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    double x = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), x);
    const bool whole = r.ptr == text.data() + text.size() && !text.empty();
    if (whole && (r.ec == std::errc::result_out_of_range || (r.ec == std::errc() && !std::isfinite(x))))
        return "expected a finite number";
    return "expected a number";
}

// from_chars (and so parse_number) refuses a number too small for a double, such as 1e-999, as out of
// range; JSON reads it as 0, and so does CSV. Overflow (1e999) stays an error in both.
bool underflows_to_zero(std::string_view text, double& x) {
    text = trim_blanks(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    const auto r = std::from_chars(text.data(), text.data() + text.size(), x);
    if (r.ec != std::errc::result_out_of_range || r.ptr != text.data() + text.size()) return false;
    const bool negative = text.front() == '-';
    if (negative) text.remove_prefix(1);
    // Out of range either way; tiny when the decimal exponent of the first significant digit is negative.
    const std::size_t e = text.find_first_of("eE");
    long exponent = 0;
    if (e != std::string_view::npos) {
        std::string_view digits = text.substr(e + 1);
        if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
        if (std::from_chars(digits.data(), digits.data() + digits.size(), exponent).ec != std::errc())
            exponent = digits.starts_with('-') ? -1 : 1;  // beyond long: only its sign matters
    }
    std::string_view mantissa = text.substr(0, e);
    const std::size_t dot = mantissa.find('.');
    const std::string_view whole = mantissa.substr(0, dot);
    const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : mantissa.substr(dot + 1);
    const std::size_t first_whole = whole.find_first_not_of('0');
    const long magnitude =
        first_whole != std::string_view::npos
            ? static_cast<long>(whole.size() - first_whole) + exponent
            : exponent - static_cast<long>(std::min(fraction.find_first_not_of('0'), fraction.size()));
    if (magnitude >= 0) return false;
    x = negative ? -0.0 : 0.0;
    return true;
}

std::string line_at(std::size_t line) { return "line " + std::to_string(line); }

// A record's length as the limit counts it: its fields and the delimiters between them.
std::size_t record_bytes(const std::vector<std::string_view>& fields) {
    std::size_t bytes = fields.empty() ? 0 : fields.size() - 1;
    for (std::string_view f : fields) bytes += f.size();
    return bytes;
}

}  // namespace

csv_decoder::csv_decoder(const core::compiled_model& m, decode_limits limits) : model_(m), limits_(limits) {}

status csv_decoder::fail(error e) {
    failed_ = e;
    return e;
}

status csv_decoder::feed(std::string_view chunk, core::loan_batch& out) {
    if (failed_) return *failed_;
    std::string_view rest = chunk;
    std::size_t rest_offset = offset_ + carry_.size();  // body offset of chunk[0]
    // A byte-order mark opening the body is no field's (csv_reader steps over it): the quote state skips it,
    // so that a quote after it still opens the header's first field.
    std::size_t mark = 0;
    for (; bom_seen_ < 3 && mark < chunk.size() && rest_offset + mark == bom_seen_; ++mark, ++bom_seen_)
        if (chunk[mark] != "\xEF\xBB\xBF"[bom_seen_]) break;
    if (bom_seen_ < 3 && mark < chunk.size()) {  // not a mark after all: its bytes are the first field's
        if (bom_seen_ > mark) quotes_.field_start = false;  // some came in an earlier chunk, not stepped over
        mark = 0;
    }
    if (mark < chunk.size()) bom_seen_ = 3;  // past the start of the body: no mark to look for
    if (!carry_.empty()) {
        // Finish the record carry_ holds and decode it there; the records after it are decoded in place.
        const bool after_cr = !quotes_.inside() && carry_.back() == '\r';
        std::size_t end = first_record_end(chunk.substr(mark), quotes_, after_cr);
        if (end != none) end += mark;
        mark = 0;
        if (end == none) {
            carry_.append(chunk);
        } else {
            carry_.append(chunk.substr(0, end));
            if (auto s = decode_records(carry_, offset_, out); !s) return fail(s.err());
            carry_.clear();
            rest.remove_prefix(end);
            rest_offset += end;
            offset_ = rest_offset;
        }
    }
    if (carry_.empty()) {
        bool quote_free = false;
        std::size_t end = last_record_end(rest.substr(mark), quotes_, quote_free);
        if (end > 0) end += mark;
        if (end > 0) {
            if (auto s = decode_records(rest.substr(0, end), rest_offset, out, quote_free); !s) return fail(s.err());
        }
        carry_.assign(rest.substr(end));
        offset_ = rest_offset + end;
    }
    // Bounded memory: a record is held until its end arrives, so its length is capped here.
    if (carry_.size() > limits_.max_line_bytes) {
        std::string what = "record longer than " + std::to_string(limits_.max_line_bytes) + " bytes";
        if (quotes_.inside()) what += " (it is inside a quoted field: is a quote unbalanced?)";
        return fail(error{std::move(what), line_at(line_ + 1), offset_, "line_too_long"});
    }
    return ok();
}

status csv_decoder::finish(core::loan_batch& out) {
    if (failed_) return *failed_;
    if (!carry_.empty()) {
        if (auto s = decode_records(carry_, offset_, out); !s) return fail(s.err());
        offset_ += carry_.size();
        carry_.clear();
        quotes_ = {};
    }
    if (!have_header_)
        return fail(error{"no header line: expected a first line naming the fields", "", 0, "malformed_csv"});
    return ok();
}

// The header (and any blank lines before it) through the general reader, then the records.
status csv_decoder::decode_records(std::string_view text, std::size_t base, core::loan_batch& out, bool quote_free) {
    std::size_t done = 0;
    while (!have_header_ && done < text.size()) {
        csv_quotes quotes;
        // The body's byte-order mark is no field's (see feed).
        const std::size_t mark = base + done == 0 && text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
        const std::size_t end = first_record_end(text.substr(done + mark), quotes, false);
        const std::size_t next = end == none ? text.size() : done + mark + end;
        if (auto s = decode_general(text.substr(done, next - done), base + done, out); !s) return s;
        done = next;
    }
    return decode_in_parts(text.substr(done), base + done, out, quote_free);
}

// Records of a large text, decoded on every core: the text is cut at line feeds outside quotes (the quote
// state at a cut is the parity of the quotes since the previous one, unless the text is quote_free) into parts, each decoded by a copy of
// this decoder into its own batch (the first straight into `out`), the others with room reserved for the
// loans the line feeds of the text's start suggest (a new batch that grows copies its columns); the batches are joined in
// order. The parts after the first count their lines from 0, and the line numbers are settled after: a
// part that failed is decoded again, serially, from its true first line, so that its error names the line
// the serial decoder names, with the parts before it and its loans before the error kept, as serially. A
// run past max_items is decoded again serially.
status csv_decoder::decode_in_parts(std::string_view text, std::size_t base, core::loan_batch& out, bool quote_free) {
    const std::size_t n = text.size();
    const std::size_t min_bytes = std::max<std::size_t>(limits_.csv_part_bytes, 1);
    const std::size_t parts = limits_.threads ? std::min(n / min_bytes, limits_.threads) : core::parts_for(n, min_bytes);
    if (parts <= 1) return decode_plain(text, base, out);
    std::vector<std::size_t> cut{0};
    for (std::size_t t = 1; t < parts; ++t) {
        std::size_t p = std::max(n * t / parts, cut.back());
        csv_quotes quotes;  // a record starts at the cut before
        if (!quote_free) quotes.span(text.data() + cut.back(), text.data() + p);
        for (; p < n; ++p) {
            quotes.step(text[p]);
            if (text[p] == '\n' && !quotes.inside()) break;
        }
        if (p + 1 >= n) break;
        cut.push_back(p + 1);
    }
    cut.push_back(n);
    const std::size_t count = cut.size() - 1, before = out.size;
    const std::string_view sample = text.substr(0, std::size_t{64} << 10);
    const double loans_per_byte = static_cast<double>(count_byte(sample, '\n') + 1) /
                                  static_cast<double>(sample.size());
    // Room for part t's loans, at most what max_items allows and 2^20 (past that, growing is cheap next to
    // decoding): a text of blank lines after a sample of records reserves no more.
    auto room = [&](std::size_t t) {
        const auto estimate = static_cast<std::size_t>(static_cast<double>(cut[t + 1] - cut[t]) * loans_per_byte * 1.05);
        return std::min({estimate + 64, limits_.max_items - std::min(items_, limits_.max_items) + 1, std::size_t{1} << 20});
    };
    std::vector<csv_decoder> decoders(count, *this);
    for (std::size_t t = 1; t < count; ++t) decoders[t].line_ = 0;
    std::vector<core::loan_batch> batches(count - 1);
    std::vector<status> results(count, ok());
    core::run_parts(count, [&](std::size_t t) {
        if (t) {
            batches[t - 1].reset(model_, out.keep_raw);
            batches[t - 1].reserve(room(t));
        }
        results[t] = decoders[t].decode_plain(text.substr(cut[t], cut[t + 1] - cut[t]), base + cut[t],
                                              t ? batches[t - 1] : out);
    });
    std::size_t items = 0;
    bool failed = false;
    for (std::size_t t = 0; t < count; ++t) {
        items += decoders[t].items_ - items_;
        failed = failed || !results[t];
    }
    // Each part counted its items from items_: past max_items, or at it with an error somewhere (serially,
    // the item after the limit fails as too many before its own values are read), only the serial
    // decoder knows which error comes first.
    if (items_ + items > limits_.max_items || (failed && items_ + items >= limits_.max_items)) {
        out.truncate(before);
        return decode_plain(text, base, out);
    }
    std::size_t line = decoders[0].line_, items_before = decoders[0].items_ - items_;
    if (!results[0]) return results[0];
    for (std::size_t t = 1; t < count; ++t) {
        if (!results[t]) {
            csv_decoder serial = *this;
            serial.line_ = line;
            serial.items_ = items_ + items_before;
            return serial.decode_plain(text.substr(cut[t], cut[t + 1] - cut[t]), base + cut[t], out);
        }
        out.append(batches[t - 1]);
        line += decoders[t].line_;
        items_before += decoders[t].items_ - items_;
    }
    line_ = line;
    items_ += items;
    return ok();
}

// Records of plain fields (unquoted, or quoted with no quote or line break inside; LF or CRLF line ends:
// nearly every file) are cut into fields a block at a time, then decoded column by column into rows grown
// in bulk: each column's loop has one kind of value, one input and one setter, with no per-field dispatch
// and no general reader's field list. Any other record (an escaped quote, a quoted line break, a lone CR,
// a wrong field count, a value the setters refuse, a number from_chars must read) is handed whole to
// decode_general, which decodes it or reports its error exactly as it would have anyway. The records of a
// block after such a one are cut again; blocks restart small after it, so a run of them costs no more
// than the general path alone.
status csv_decoder::decode_plain(std::string_view text, std::size_t base, core::loan_batch& out) {
    const std::size_t n = text.size();
    if (n == 0) return ok();
    plain_block& b = block_;
    if (b.rows_max == 0) {  // sized on first use: a decoder per record (score's retries) then clears little
        b.rows_max = std::clamp<std::size_t>(max_plain_fields / std::max<std::size_t>(columns_.size(), 1), 1, max_plain_rows);
        b.begin.assign(columns_.size() * b.rows_max, 0);
        b.end.assign(columns_.size() * b.rows_max, 0);
        b.start.assign(b.rows_max, 0);
        b.next.assign(b.rows_max, 0);
        b.lines.assign(b.rows_max + 1, 0);
    }
    special_scan scan(text, ',');
    std::size_t p = 0, want = b.rows_max;
    while (p < n) {
        const std::size_t stop = cut_plain(text, p, want, scan);
        const std::size_t loan = out.size;
        std::size_t done = 0;
        if (b.rows > 0) {
            out.grow(model_, b.rows);
            done = fill_plain(text.data() + b.origin, text.data() + n, loan, out);
            out.truncate(loan + done);
            core::finish_loans(model_, out, loan, loan + done);
            items_ += done;
        }
        std::size_t general = stop, after = n;  // the record for decode_general, if any, and its end
        if (done < b.rows) {
            line_ += b.lines[done];
            general = b.start[done];
            after = b.next[done];
        } else {
            line_ += b.lines[b.rows];
            if (b.rows == want) {
                p = stop;
                want = std::min(2 * want, b.rows_max);
                continue;
            }
            if (stop == n) break;
            csv_quotes quotes;
            const std::size_t end = first_record_end(text.substr(stop), quotes, false);
            if (end != none) after = stop + end;
        }
        if (auto s = decode_general(text.substr(general, after - general), base + general, out); !s) return s;
        p = after;
        want = 1;
    }
    return ok();
}

// Cuts up to `want` plain records from text[p...] into block_ (no more than max_items allows) and returns
// where it stopped: the end of the text, the record after the last one cut, or the start of a record
// that is not plain. Empty lines are skipped and counted.
std::size_t csv_decoder::cut_plain(std::string_view text, std::size_t p, std::size_t want, special_scan& scan) {
    plain_block& b = block_;
    const char* const d = text.data();
    const std::size_t n = text.size(), width = columns_.size();
    // Field offsets are 32 bits from the cut's start: a cut stops short of that.
    constexpr std::size_t span_limit = std::numeric_limits<std::uint32_t>::max() / 2;
    b.rows = 0;
    b.origin = p;
    std::size_t lines = 0;
    auto field = [&](std::size_t column, std::size_t r, std::size_t from, std::size_t to) {
        b.begin[column * b.rows_max + r] = static_cast<std::uint32_t>(from - b.origin);
        b.end[column * b.rows_max + r] = static_cast<std::uint32_t>(to - b.origin);
    };
    // The common record (unquoted fields up to a LF or CRLF, no other quote or CR in it, the header's field
    // count) taken whole from the scan's window masks: its field ends are its delimiters' bits, then its line end's.
    // Returns where its line end starts, or `none` when the record is not of that kind (row r's fields then go
    // to the loop below).
    auto common_record = [&](std::size_t start, std::size_t r) {
        std::size_t column = 0, from = start;
        for (std::size_t base = start & ~std::size_t{63}; base < n; base += 64) {
            const window_masks::masks& m = scan.window(base);
            const std::uint64_t after = base < start ? ~std::uint64_t{0} << (start - base) : ~std::uint64_t{0};
            const std::uint64_t stops = (m.line_feeds | m.others) & after;
            const std::uint64_t first_stop = stops & (~stops + 1);  // its lowest bit (0 when none)
            for (std::uint64_t ends = m.delimiters & after & (first_stop - 1); ends != 0; ends &= ends - 1) {
                const std::size_t at = base + static_cast<std::size_t>(std::countr_zero(ends));
                if (column < width) field(column, r, from, at);
                ++column;
                from = at + 1;
            }
            if (first_stop == 0) continue;
            const std::size_t stop = base + static_cast<std::size_t>(std::countr_zero(first_stop));
            if ((m.others & first_stop) != 0 && (d[stop] != '\r' || stop + 1 == n || d[stop + 1] != '\n'))
                return none;  // a quote, or a CR not before a LF
            if (column + 1 != width || stop - start > limits_.max_line_bytes || stop - b.origin > span_limit) return none;
            field(column, r, from, stop);
            return stop;
        }
        return none;  // no line end before the text's end: the loop below takes it
    };
    while (p < n) {
        if (d[p] == '\n') {  // an empty line: not a record
            ++lines;
            ++p;
            continue;
        }
        if (b.rows == want || items_ + b.rows >= limits_.max_items || d[p] == '\r' || p - b.origin > span_limit) break;
        const std::size_t r = b.rows, start = p;
        if (const std::size_t stop = common_record(start, r); stop != none) {
            p = stop + (d[stop] == '\n' ? 1 : 2);  // past the LF or CRLF
            b.start[r] = start;
            b.next[r] = p;
            b.lines[r] = lines++;
            ++b.rows;
            continue;
        }
        std::size_t column = 0, end = p;
        bool plain = true;
        for (;;) {
            std::size_t from = p, to;
            if (p < n && d[p] == '"') {  // quoted: its content, as the general reader gives it, when nothing is escaped
                std::size_t close = scan.next(p + 1);  // the next quote, CR or LF
                while (close < n && d[close] == ',') close = scan.next(close + 1);
                end = close + 1;
                if (close == n || d[close] != '"' || (end < n && d[end] != ',' && d[end] != '\n' && d[end] != '\r')) {
                    plain = false;
                    break;
                }
                from = p + 1;
                to = close;
            } else {
                end = scan.next(p);
                if (end < n && d[end] == '"') {
                    plain = false;
                    break;
                }
                to = end;
            }
            if (column < width) field(column, r, from, to);
            ++column;
            if (end == n || d[end] != ',') break;
            p = end + 1;
        }
        std::size_t next = n, breaks = 0;
        if (plain && end < n) {
            if (d[end] == '\n' || (end + 1 < n && d[end + 1] == '\n')) {  // LF or CRLF
                next = end + (d[end] == '\n' ? 1 : 2);
                breaks = 1;
            } else {
                plain = false;  // a lone CR, or a CR that may be half of a CRLF split across chunks
            }
        }
        if (!plain || column != width || end - start > limits_.max_line_bytes || end - b.origin > span_limit) {
            p = start;
            break;
        }
        b.start[r] = start;
        b.next[r] = next;
        b.lines[r] = lines;
        lines += breaks;
        ++b.rows;
        p = next;
    }
    b.lines[b.rows] = lines;
    return p;
}

// Decodes block_'s records into rows [loan, loan + rows) of `out` (already grown), one column at a time;
// `limit` is the end of the readable buffer the fields lie in. Returns how many leading rows are complete:
// the first row holding a value the setters refuse or parse_number must read is left, with the rows after
// it, to the general path (it may be an error).
std::size_t csv_decoder::fill_plain(const char* origin, const char* limit, std::size_t loan,
                                    core::loan_batch& out) const {
    const plain_block& b = block_;
    std::size_t rows = b.rows;
    const detail::short_decimals_fn short_decimals = detail::short_decimals_for_this_cpu();  // resolved once
    auto field = [&](std::size_t column, std::size_t r) {
        const std::size_t at = column * b.rows_max + r;
        return std::string_view(origin + b.begin[at], b.end[at] - b.begin[at]);
    };
    for (std::size_t c = 0; c < columns_.size() && rows > 0; ++c) {
        const int input = columns_[c].input;
        if (input == ignored_column || input == id_column) continue;
        double x = 0;
        if (input == exposure_column) {  // outside the model: a non-number just leaves Expected Loss null
            for (std::size_t r = 0; r < rows; ++r)
                if (train::parse_number_within(field(c, r), limit, x)) core::set_exposure(out, loan + r, x);
            continue;
        }
        const core::input_field& in = model_.inputs[static_cast<std::size_t>(input)];
        if (in.numeric) {
            // Empty fields and short plain decimals in the domain for the whole column at once, then the
            // rest one by one (numbers from_chars must read, and values to refuse: the first of those ends
            // the rows), then the values encoded in a loop of their own.
            std::array<double, max_plain_rows> values;  // by row; NaN: missing
            std::array<std::uint8_t, max_plain_rows / 8> done;
            short_decimals(origin, static_cast<std::size_t>(limit - origin), &b.begin[c * b.rows_max],
                           &b.end[c * b.rows_max], rows, in.domain.min, in.domain.max, values.data(), done.data());
            for (std::size_t g = 0; g * 8 < rows; ++g) {
                for (unsigned left = ~done[g] & 0xffu; left != 0; left &= left - 1) {
                    const std::size_t r = g * 8 + static_cast<std::size_t>(std::countr_zero(left));
                    if (r >= rows) break;
                    if (!train::parse_number_within(field(c, r), limit, x) || !core::number_fits(in, x)) {
                        rows = r;
                        break;
                    }
                    values[r] = x;
                }
            }
            core::store_numbers(in, static_cast<std::size_t>(input), out, loan, values.data(), rows);
        } else {
            std::uint16_t* codes = out.codes[in.column].data() + loan;
            for (std::size_t r = 0; r < rows; ++r) codes[r] = core::category_code(in, field(c, r));  // "" missing
        }
    }
    for (std::size_t r = 0; r < rows; ++r) {  // the id: the first id column, in priority order, that is not empty
        std::size_t k = 0;
        while (k < id_columns_.size() && field(id_columns_[k], r).empty()) ++k;
        if (k < id_columns_.size()) core::set_id(out, loan + r, field(id_columns_[k], r));
        else out.id_end[loan + r] = out.id_text.size();
    }
    return rows;
}

// Any records, one at a time through the RFC 4180 reader.
status csv_decoder::decode_general(std::string_view text, std::size_t base, core::loan_batch& out) {
    csv_reader reader(text, ',', base == 0);  // a byte-order mark only opens the body, not a later chunk
    for (;;) {
        auto r = reader.next(fields_);
        if (!r) {
            const error& e = r.err();
            const std::size_t line = line_ + 1 + count_line_breaks(text.substr(0, e.offset));
            return error{e.what, line_at(line), base + e.offset, "malformed_csv"};
        }
        if (!*r) break;
        const std::size_t line = line_ + reader.line();
        const std::size_t offset = base + reader.offset();
        if (auto s = have_header_ ? record(fields_, line, offset, out) : header(fields_, line); !s) {
            error e = s.err();
            if (e.offset == 0) e.offset = offset;
            return e;
        }
    }
    line_ += count_line_breaks(text);
    return ok();
}

status csv_decoder::header(const std::vector<std::string_view>& names, std::size_t line) {
    // Each column costs the decoder memory: the header is held to the record limit too.
    if (record_bytes(names) > limits_.max_line_bytes)
        return error{"header line longer than " + std::to_string(limits_.max_line_bytes) + " bytes", line_at(line), 0,
                     "line_too_long"};
    columns_.assign(names.size(), column_role{ignored_column});
    std::vector<bool> input_seen(model_.inputs.size(), false);
    std::vector<std::size_t> id_at(std::size(id_fields), none);
    bool any_input = false;
    for (std::size_t c = 0; c < names.size(); ++c) {
        const std::string_view name = trim_blanks(names[c]);
        for (std::size_t r = 0; r < std::size(id_fields); ++r) {
            if (name == id_fields[r] && id_at[r] == none) {
                id_at[r] = c;
                columns_[c].input = id_column;
            }
        }
        const int in = model_.find_input(name);
        if (in >= 0) {
            if (input_seen[static_cast<std::size_t>(in)])
                return error{"column " + std::string(name) + " appears twice in the header", line_at(line), 0,
                             "malformed_csv"};
            input_seen[static_cast<std::size_t>(in)] = true;
            columns_[c].input = in;
            any_input = true;
        } else if (model_.exposure_input < 0 && name == model_.exposure_field) {
            columns_[c].input = exposure_column;
        }
    }
    // Data without its header line would otherwise score every row as all-missing.
    if (!any_input)
        return error{"the header line names none of the model's input fields (is it missing?)", line_at(line), 0,
                     "malformed_csv"};
    id_columns_.clear();
    for (std::size_t c : id_at)
        if (c != none) id_columns_.push_back(c);
    have_header_ = true;
    return ok();
}

std::vector<std::string> csv_decoder::inputs_without_column() const {
    std::vector<bool> seen(model_.inputs.size(), false);
    for (const column_role& c : columns_)
        if (c.input >= 0) seen[static_cast<std::size_t>(c.input)] = true;
    std::vector<std::string> absent;
    for (std::size_t i = 0; i < seen.size(); ++i)
        if (!seen[i]) absent.push_back(model_.inputs[i].name);
    return absent;
}

status csv_decoder::record(const std::vector<std::string_view>& fields, std::size_t line, std::size_t offset,
                           core::loan_batch& out) {
    if (fields.size() != columns_.size())
        return error{"expected " + std::to_string(columns_.size()) + " fields (as in the header), found " +
                         std::to_string(fields.size()),
                     line_at(line), offset, "malformed_csv"};
    if (record_bytes(fields) > limits_.max_line_bytes)
        return error{"record longer than " + std::to_string(limits_.max_line_bytes) + " bytes", line_at(line), offset,
                     "line_too_long"};
    if (items_ == limits_.max_items)
        return error{"more than " + std::to_string(limits_.max_items) + " items in one request", line_at(line), offset,
                     "too_many_items"};

    const std::size_t loan = out.push_default(model_);
    for (std::size_t c = 0; c < fields.size(); ++c) {
        const int k = columns_[c].input;
        if (k == ignored_column || k == id_column) continue;
        const std::string_view text = fields[c];
        double x = 0;
        if (k == exposure_column) {  // outside the model: a non-number just leaves Expected Loss null
            if (train::parse_number(text, x)) core::set_exposure(out, loan, x);
            continue;
        }
        const core::input_field& in = model_.inputs[static_cast<std::size_t>(k)];
        auto reject = [&](error e) -> status {
            out.pop_back();
            e.where = line_at(line) + ", column " + in.name;
            e.offset = offset;
            e.code = "invalid_field";
            return e;
        };
        if (in.numeric) {
            if (train::parse_number(text, x) || underflows_to_zero(text, x)) {
                if (auto s = core::set_number(model_, out, loan, k, x); !s) return reject(s.err());
            } else if (!trim_blanks(text).empty()) {  // blank is missing
                return reject(error{not_a_number(text), ""});
            }
        } else if (!text.empty()) {  // empty is missing
            if (auto s = core::set_category(model_, out, loan, k, text); !s) return reject(s.err());
        }
    }
    for (std::size_t c : id_columns_) {
        if (!fields[c].empty()) {
            core::set_id(out, loan, fields[c]);
            break;
        }
    }
    core::finish_loan(model_, out, loan);
    ++items_;
    return ok();
}

}  // namespace loanrisk::io

// RFC 4180 tokenizer behind csv.hpp: splits an in-memory buffer into records of string views, the
// first step of every CSV decode (training data, `loanrisk score`, text/csv bodies).
#include "loanrisk/csv.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace loanrisk::io {
namespace {

error error_at(std::string what, std::size_t line, std::size_t offset) {
    return error{std::move(what), "line " + std::to_string(line), offset};
}

}  // namespace


// The delimiter comes from code, not input; '"', LF or CR as delimiter would make the grammar ambiguous.
csv_reader::csv_reader(std::string_view text, char delimiter, bool body_start) : text_(text), delimiter_(delimiter) {
    // Offsets stay relative to the caller's buffer, so the mark is stepped over rather than cut off.
    if (body_start && text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
}

result<bool> csv_reader::next(std::vector<std::string_view>& fields) {
    fields.clear();
    unescaped_.clear();

    const char* const data = text_.data();
    const std::size_t n = text_.size();

    // Empty lines are not records; committing this skip before the record keeps errors repeatable.
    while (pos_ < n && (data[pos_] == '\n' || data[pos_] == '\r')) {
        pos_ += (data[pos_] == '\r' && pos_ + 1 < n && data[pos_ + 1] == '\n') ? 2 : 1;
        ++line_;
    }
    if (pos_ == n) return false;

    // Work on copies: on error pos_ and line_ stay at the record, so a retry reports the same error
    // instead of resuming mid-record and inventing records from the remains.
    std::size_t p = pos_;
    std::size_t line = line_;
    std::size_t escaped_fields = 0;

    for (;;) {
        if (p < n && data[p] == '"') {
            const std::size_t open = p;
            std::size_t close = 0;
            bool escaped = false;
            for (std::size_t from = open + 1;;) {
                const void* hit = from < n ? std::memchr(data + from, '"', n - from) : nullptr;
                if (hit == nullptr) {
                    fields.clear();
                    return error_at("unterminated quoted field: the quote opened here is never closed", line,
                                    open);
                }
                const auto at = static_cast<std::size_t>(static_cast<const char*>(hit) - data);
                if (at + 1 < n && data[at + 1] == '"') {
                    escaped = true;
                    from = at + 2;
                    continue;
                }
                close = at;
                break;
            }
            const std::string_view content = text_.substr(open + 1, close - open - 1);
            line += count_line_breaks(content);
            fields.push_back(content);  // still holds "" pairs when escaped; unescaped below
            escaped_fields += escaped ? 1 : 0;
            p = close + 1;
            if (p < n && data[p] != delimiter_ && data[p] != '\n' && data[p] != '\r') {
                fields.clear();
                return error_at("unexpected character after the closing quote of a quoted field "
                                "(expected the delimiter or a line end)",
                                line, p);
            }
        } else {
            const std::size_t end = find_field_end(text_, p, delimiter_);
            if (end < n && data[end] == '"') {
                fields.clear();
                return error_at("quote character inside an unquoted field "
                                "(quote the whole field and double the quotes inside it)",
                                line, end);
            }
            fields.push_back(text_.substr(p, end - p));
            p = end;
        }

        // p is at the delimiter, a line end, or the end of the input.
        if (p == n) break;
        if (data[p] == delimiter_) {
            ++p;  // a delimiter as the last byte yields a final empty field on the next pass
            continue;
        }
        p += (data[p] == '\r' && p + 1 < n && data[p + 1] == '\n') ? 2 : 1;
        ++line;
        break;
    }

    // Done after the record is complete: views into unescaped_ must not be taken while it can still
    // reallocate (moving a short string moves its bytes). Only escaped fields contain a quote, since
    // a quote in an unquoted field is an error and a lone one in a quoted field closes it.
    if (escaped_fields > 0) {
        unescaped_.reserve(escaped_fields);
        for (auto& field : fields) {
            if (field.find('"') == std::string_view::npos) continue;
            std::string& out = unescaped_.emplace_back();
            out.reserve(field.size());
            std::size_t from = 0;
            for (std::size_t q = field.find('"'); q != std::string_view::npos; q = field.find('"', from)) {
                out.append(field.substr(from, q + 1 - from));  // keep one quote of the pair
                from = q + 2;
            }
            out.append(field.substr(from));
            field = out;
        }
    }

    record_line_ = line_;
    record_offset_ = pos_;
    pos_ = p;
    line_ = line;
    return true;
}

}  // namespace loanrisk::io

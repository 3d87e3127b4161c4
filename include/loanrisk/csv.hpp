// RFC 4180 CSV tokenizer over an in-memory buffer: the first stage of CSV decoding (training data,
// `loanrisk score`, text/csv request bodies). Never throws on bad input. And the one field writer every
// CSV output uses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/result.hpp"

namespace loanrisk::io {

// Pull parser. Handles quoted fields ("a,b"), doubled quotes inside quotes (""), line breaks inside
// quotes, LF and CRLF record ends, a missing final newline, and a UTF-8 byte-order mark at the start.
// An empty line is skipped (not a record). Fields are views into the input, or into the reader's own
// storage when a quoted field contained "" (valid until the next call to next()).
class csv_reader {
public:
    // `body_start`: the text is the start of its file or body, where a UTF-8 byte-order mark is stepped
    // over (false for a later piece of a stream, where those bytes are data).
    explicit csv_reader(std::string_view text, char delimiter = ',', bool body_start = true);

    // Reads the next record into `fields` (cleared first). Returns true when a record was read, false
    // at the end of the input, or an error naming the line (e.g. an unterminated quote, or text after a
    // closing quote such as `"ab"c`).
    result<bool> next(std::vector<std::string_view>& fields);

    // 1-based line number on which the last record returned by next() started.
    std::size_t line() const { return record_line_; }
    // Byte offset at which the last record returned by next() started.
    std::size_t offset() const { return record_offset_; }

private:
    std::string_view text_;
    char delimiter_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
    std::size_t record_line_ = 0;
    std::size_t record_offset_ = 0;
    std::vector<std::string> unescaped_;  // storage for quoted fields that held ""
};

// Index of the first byte at or after `i` that ends an unquoted field (the delimiter, LF, CR) or is a
// quote, or s.size(): eight bytes per step.
std::size_t find_field_end(std::string_view s, std::size_t i, char delimiter);

// Appends `v` as one CSV field: as is, or quoted (with "" for ") when it holds a comma, quote or line break.
inline void append_csv_field(std::string& out, std::string_view v) {
    if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

}  // namespace loanrisk::io

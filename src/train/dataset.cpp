// CSV -> typed columns for training and evaluation. Reads every record first, then settles each
// column's type, so errors can name the exact line of the first bad value.
#include "loanrisk/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "loanrisk/csv.hpp"
#include "loanrisk/json_writer.hpp"
#include "loanrisk/sha256.hpp"

namespace loanrisk::train {

const column* dataset::find(std::string_view name) const {
    for (const auto& c : columns)
        if (c.name == name) return &c;
    return nullptr;
}

bool detail::parse_number_trimmed(std::string_view text, double& out) {
    const std::size_t given = text.size();
    text = io::trim_blanks(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    if (text.empty()) return false;
    // parse_number has tried the untrimmed text as a plain decimal already.
    if (text.size() != given && detail::parse_plain_decimal(text, out)) return true;
    auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    return r.ec == std::errc() && r.ptr == text.data() + text.size() && std::isfinite(out);
}

namespace {

bool contains(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool blank(std::string_view s) { return io::trim_blanks(s).empty(); }

// What other tools write for a missing value (R's NA, pandas' NaN, SQL's NULL, Excel's #N/A...). This
// reader's missing value is an empty field, as the server's CSV decoder reads it.
bool missing_marker(std::string_view s) {
    std::string lower(io::trim_blanks(s));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    for (std::string_view m : {"na", "n/a", "#n/a", "nan", "null", "none", "nil", "?", "-", "."})
        if (lower == m) return true;
    return false;
}

// A column is inferred numeric when every non-empty value is a number. When nearly every value is
// (>= 95% of at least 20), or every other value is a missing-value marker of another tool ("NA"), the odd
// ones out are data errors, reported rather than turning the column into a category.
status settle_type(column& c, const std::vector<std::size_t>& lines, const dataset_options& options) {
    bool declared_numeric = contains(options.numeric, c.name);
    if (contains(options.categorical, c.name)) return ok();
    std::size_t present = 0, numbers = 0, markers = 0, first_bad = 0;
    bool seen_bad = false;
    for (std::size_t r = 0; r < c.text.size(); ++r) {
        if (blank(c.text[r])) continue;
        ++present;
        double d;
        if (parse_number(c.text[r], d)) {
            ++numbers;
            continue;
        }
        if (missing_marker(c.text[r])) ++markers;
        if (!seen_bad) seen_bad = true, first_bad = r;
    }
    bool looks_numeric = present > 0 && numbers == present;
    bool nearly_numeric = present >= 20 && numbers * 20 >= present * 19;
    bool numbers_and_markers = numbers > 0 && numbers + markers == present;
    if (seen_bad && (declared_numeric || nearly_numeric || numbers_and_markers)) {
        std::string hint = missing_marker(c.text[first_bad])
                               ? " (a missing value? write it as an empty field, as the server reads one; or "
                                 "declare the column categorical)"
                           : declared_numeric ? ""
                                              : " (the column is otherwise numeric; declare it categorical if it is not)";
        return error{"'" + c.text[first_bad] + "' is not a number" + hint,
                     "line " + std::to_string(lines[first_bad]) + ", column " + c.name};
    }
    if (!looks_numeric && !declared_numeric) return ok();
    c.numeric = true;
    c.numbers.resize(c.text.size());
    for (std::size_t r = 0; r < c.text.size(); ++r)
        if (!parse_number(c.text[r], c.numbers[r])) c.numbers[r] = std::numeric_limits<double>::quiet_NaN();
    c.text = {};
    return ok();
}

}  // namespace

result<dataset> parse_dataset(std::string_view csv, const dataset_options& options) {
    dataset ds;
    ds.sha256 = io::sha256_hex(csv);
    // Category names go into the model artifact, which is JSON: text in another encoding is refused here,
    // where its line can be named, not written as an artifact no one could load.
    if (const std::size_t at = io::first_invalid_utf8(csv); at < csv.size()) {
        const auto line = 1 + io::count_byte(csv.substr(0, at), '\n');
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(csv[at]));
        return error{std::string("not valid UTF-8 (byte ") + hex + "): convert the file to UTF-8 first, e.g. iconv -f "
                                                                    "latin1 -t utf-8",
                     "line " + std::to_string(line), at};
    }
    io::csv_reader reader(csv);
    std::vector<std::string_view> fields;
    auto header = reader.next(fields);
    if (!header) return header.err();
    if (!*header) return error{"the CSV is empty (no header line)", "line 1"};
    for (auto field : fields) {
        // Names are read trimmed, as the server's and `score`'s CSV decoders read them: a model trained on
        // " loan_grade " names its feature loan_grade.
        const std::string_view name = io::trim_blanks(field);
        if (name.empty()) return error{"empty column name in the header", "line " + std::to_string(reader.line())};
        if (ds.find(name)) return error{"duplicate column '" + std::string(name) + "'", "line " + std::to_string(reader.line())};
        ds.columns.push_back(column{std::string(name), false, {}, {}});
    }
    for (;;) {
        auto more = reader.next(fields);
        if (!more) return more.err();
        if (!*more) break;
        if (fields.size() != ds.columns.size())
            return error{"expected " + std::to_string(ds.columns.size()) + " fields, found " + std::to_string(fields.size()),
                         "line " + std::to_string(reader.line()), reader.offset()};
        for (std::size_t i = 0; i < fields.size(); ++i) ds.columns[i].text.emplace_back(fields[i]);
        ds.lines.push_back(reader.line());
    }
    for (const auto& name : options.numeric)
        if (!ds.find(name)) return error{"no column named '" + name + "'", "header"};
    for (auto& c : ds.columns)
        if (!options.used || options.used(c.name))
            if (auto s = settle_type(c, ds.lines, options); !s) return s.err();
    return ds;
}

result<dataset> load_dataset(const std::string& path, const dataset_options& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error{"cannot open the data file (does it exist?)", path};
    std::ostringstream bytes;
    bytes << in.rdbuf();
    auto ds = parse_dataset(bytes.str(), options);
    if (!ds) return error{ds.err().what, path + ": " + ds.err().where, ds.err().offset};
    return ds;
}

}  // namespace loanrisk::train

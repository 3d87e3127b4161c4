// A labelled data set for training and evaluation, read from CSV into typed columns. Column types are
// declared (by the caller, or by a model) or inferred; a stray non-number in a numeric column is an error
// with its line, not a silent category.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "loanrisk/result.hpp"

namespace loanrisk::train {

struct column {
    std::string name;
    bool numeric = false;
    std::vector<double> numbers;    // numeric columns: NaN where the field was empty
    std::vector<std::string> text;  // categorical columns: "" where the field was empty
};

struct dataset {
    std::vector<column> columns;
    std::vector<std::size_t> lines;  // source line of each row, for messages
    std::string sha256;              // of the CSV bytes

    std::size_t rows() const { return lines.size(); }
    const column* find(std::string_view name) const;
};

struct dataset_options {
    std::vector<std::string> numeric;      // columns that must be numeric
    std::vector<std::string> categorical;  // columns kept as text even when every value is a number
};

// Parses a number as written in CSV (surrounding spaces allowed, a leading '+' allowed). False when the
// text is not a finite number.
bool parse_number(std::string_view text, double& out);

result<dataset> parse_dataset(std::string_view csv, const dataset_options& options = {});
result<dataset> load_dataset(const std::string& path, const dataset_options& options = {});

}  // namespace loanrisk::train

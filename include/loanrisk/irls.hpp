// L2-penalized logistic regression by Newton's method (IRLS) over a sparse design with a fixed number of
// entries per row: each model term (a bin, a category, a standardized value) puts one entry in a row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace loanrisk::train {

struct design {
    std::size_t rows = 0, cols = 0, per_row = 0;
    std::vector<std::uint32_t> index;  // rows * per_row column indices
    std::vector<double> value;         // rows * per_row values; 0 where a term contributes nothing

    void resize(std::size_t n_rows, std::size_t n_per_row) {
        rows = n_rows;
        per_row = n_per_row;
        index.assign(n_rows * n_per_row, 0);
        value.assign(n_rows * n_per_row, 0.0);
    }
};

struct irls_options {
    double l2 = 1.0;  // penalty 0.5 * l2 * |w|^2 on every weight but the intercept (scikit-learn's 1/C)
    int max_iterations = 100;
    double tolerance = 1e-10;  // stop when no parameter moves more than this
};

struct irls_fit {
    double intercept = 0;
    std::vector<double> weights;  // one per design column
    int iterations = 0;
    bool converged = false;
    double objective = 0;  // penalized negative log-likelihood at the solution
};

// Fits on the rows listed in `rows` (all rows when empty). Deterministic: same input, same bits.
irls_fit fit_logistic(const design& x, std::span<const std::uint8_t> y, const irls_options& options,
                      std::span<const std::uint32_t> rows = {});

double linear_predictor(const design& x, const irls_fit& fit, std::size_t row);

}  // namespace loanrisk::train

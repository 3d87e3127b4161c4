// Newton-Raphson for penalized logistic regression. The Hessian is accumulated from the sparse rows
// (O(rows * per_row^2)) and solved densely with Eigen's LDLT; a step-halving line search keeps every
// step a descent step, so it converges even from a poor start.
#include "loanrisk/irls.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace loanrisk::train {

namespace {

double softplus(double t) { return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t)); }

double eta_of(const design& x, double b, const Eigen::VectorXd& w, std::size_t r) {
    double eta = b;
    const std::size_t base = r * x.per_row;
    for (std::size_t k = 0; k < x.per_row; ++k) eta += x.value[base + k] * w[x.index[base + k]];
    return eta;
}

double objective(const design& x, std::span<const std::uint8_t> y, std::span<const std::uint32_t> rows, double b,
                 const Eigen::VectorXd& w, double l2) {
    double sum = 0;
    for (auto r : rows) {
        double eta = eta_of(x, b, w, r);
        sum += softplus(eta) - (y[r] ? eta : 0.0);
    }
    return sum + 0.5 * l2 * w.squaredNorm();
}

}  // namespace

double linear_predictor(const design& x, const irls_fit& fit, std::size_t row) {
    double eta = fit.intercept;
    const std::size_t base = row * x.per_row;
    for (std::size_t k = 0; k < x.per_row; ++k) eta += x.value[base + k] * fit.weights[x.index[base + k]];
    return eta;
}

irls_fit fit_logistic(const design& x, std::span<const std::uint8_t> y, const irls_options& options,
                      std::span<const std::uint32_t> rows_in) {
    std::vector<std::uint32_t> all;
    if (rows_in.empty()) {
        all.resize(x.rows);
        std::iota(all.begin(), all.end(), 0u);
        rows_in = all;
    }
    const auto p = static_cast<Eigen::Index>(x.cols);
    Eigen::VectorXd w = Eigen::VectorXd::Zero(p);
    // Start the intercept at the log-odds of the base rate: one step closer, and exact when no features.
    double positives = 0;
    for (auto r : rows_in) positives += y[r];
    double rate = std::clamp(positives / static_cast<double>(rows_in.size()), 1e-6, 1 - 1e-6);
    double b = std::log(rate / (1 - rate));

    irls_fit fit;
    double f = objective(x, y, rows_in, b, w, options.l2);
    Eigen::MatrixXd h(p + 1, p + 1);
    Eigen::VectorXd g(p + 1);
    for (int it = 1; it <= options.max_iterations; ++it) {
        fit.iterations = it;
        h.setZero();
        g.setZero();
        for (auto r : rows_in) {
            double eta = eta_of(x, b, w, r);
            double mu = eta >= 0 ? 1 / (1 + std::exp(-eta)) : std::exp(eta) / (1 + std::exp(eta));
            double weight = std::max(mu * (1 - mu), 1e-12);
            double resid = mu - y[r];
            const std::size_t base = r * x.per_row;
            g[0] += resid;
            h(0, 0) += weight;
            for (std::size_t a = 0; a < x.per_row; ++a) {
                double va = x.value[base + a];
                if (va == 0) continue;
                auto ia = static_cast<Eigen::Index>(x.index[base + a]) + 1;
                g[ia] += resid * va;
                h(0, ia) += weight * va;
                for (std::size_t c = a; c < x.per_row; ++c) {
                    double vc = x.value[base + c];
                    if (vc == 0) continue;
                    auto ic = static_cast<Eigen::Index>(x.index[base + c]) + 1;
                    // Upper triangle only; mirrored below. Two entries of one row in the same column add
                    // 2 * va * vc to its diagonal ((va + vc)^2 = va^2 + 2 va vc + vc^2).
                    const double add = weight * va * vc * (ia == ic && a != c ? 2 : 1);
                    if (ia <= ic) h(ia, ic) += add;
                    else h(ic, ia) += add;
                }
            }
        }
        for (Eigen::Index j = 1; j <= p; ++j) {
            h(j, j) += options.l2;
            g[j] += options.l2 * w[j - 1];
        }
        h.triangularView<Eigen::StrictlyLower>() = h.transpose().triangularView<Eigen::StrictlyLower>();
        Eigen::VectorXd step = h.ldlt().solve(-g);

        double t = 1;
        double b_new = b;
        Eigen::VectorXd w_new = w;
        double f_new = f;
        for (int halving = 0; halving < 40; ++halving, t *= 0.5) {
            b_new = b + t * step[0];
            w_new = w + t * step.tail(p);
            f_new = objective(x, y, rows_in, b_new, w_new, options.l2);
            if (f_new <= f) break;
        }
        double moved = t * step.cwiseAbs().maxCoeff();
        b = b_new;
        w = w_new;
        f = std::min(f, f_new);
        if (moved < options.tolerance) {
            fit.converged = true;
            break;
        }
    }
    fit.intercept = b;
    fit.weights.assign(w.data(), w.data() + p);
    fit.objective = f;
    return fit;
}

}  // namespace loanrisk::train

// One-sided Jacobi singular values; see analysis/singular_values.h.
#include "rnnkit/analysis/singular_values.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "rnnkit/core/error.h"

namespace rnnkit {

std::vector<double> singular_values(TensorView<const double> matrix) {
  if (matrix.shape().size() != 2) {
    throw Error("singular values: expected a matrix, found shape " + shape_to_string(matrix.shape()));
  }
  const int64_t rows = matrix.shape()[0], cols = matrix.shape()[1];
  const bool tall = rows >= cols;
  const int64_t m = tall ? rows : cols, n = tall ? cols : rows;  // n columns of length m
  // Column j of the working matrix, contiguous: u[j * m .. j * m + m).
  std::vector<double> u(static_cast<std::size_t>(m * n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double v = matrix.data()[r * cols + c];
      u[static_cast<std::size_t>(tall ? c * m + r : r * m + c)] = v;
    }
  }
  auto column = [&](int64_t j) { return u.data() + j * m; };
  constexpr double kTolerance = 1e-15;
  constexpr int kMaxSweeps = 60;
  bool converged = n < 2;
  for (int sweep = 0; sweep < kMaxSweeps && !converged; ++sweep) {
    converged = true;
    for (int64_t p = 0; p + 1 < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        double* up = column(p);
        double* uq = column(q);
        double alpha = 0, beta = 0, gamma = 0;
        for (int64_t i = 0; i < m; ++i) {
          alpha += up[i] * up[i];
          beta += uq[i] * uq[i];
          gamma += up[i] * uq[i];
        }
        if (!(std::abs(gamma) > kTolerance * std::sqrt(alpha * beta))) continue;
        converged = false;
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = std::copysign(1.0, zeta) / (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        for (int64_t i = 0; i < m; ++i) {
          const double a = up[i], b = uq[i];
          up[i] = c * a - s * b;
          uq[i] = s * a + c * b;
        }
      }
    }
  }
  std::vector<double> sigma(static_cast<std::size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    double s = 0;
    for (int64_t i = 0; i < m; ++i) s += column(j)[i] * column(j)[i];
    sigma[static_cast<std::size_t>(j)] = std::sqrt(s);
  }
  if (!converged || std::any_of(sigma.begin(), sigma.end(), [](double v) { return !std::isfinite(v); })) {
    throw Error("singular values: Jacobi sweeps did not converge for a " + std::to_string(rows) + " x " +
                std::to_string(cols) + " matrix (does it hold NaN or infinity?)");
  }
  std::sort(sigma.begin(), sigma.end(), std::greater<>());
  return sigma;
}

}  // namespace rnnkit

// Weight statistics and the largest singular value; see weight_stats.h.
#include "rnnkit/analysis/weight_stats.h"

#include <algorithm>
#include <cmath>

#include "rnnkit/core/error.h"

namespace rnnkit {

WeightStats compute_weight_stats(TensorView<const double> values) {
  WeightStats s;
  s.count = values.numel();
  if (s.count == 0) return s;
  double sum = 0.0;
  s.min = values[0];
  s.max = values[0];
  for (double x : values.span()) {
    sum += x;
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
  }
  s.mean = sum / static_cast<double>(s.count);
  double squares = 0.0;
  for (double x : values.span()) squares += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(squares / static_cast<double>(s.count));
  if (values.rank() == 2) s.sigma_max = largest_singular_value(values);
  return s;
}

double largest_singular_value(TensorView<const double> a) {
  if (a.rank() != 2) throw Error("largest_singular_value: expected a matrix, got shape " + shape_to_string(a.shape()));
  const int64_t rows = a.dim(0), cols = a.dim(1);
  if (rows == 0 || cols == 0) return 0.0;
  // Fixed, dense start vector: deterministic, and not orthogonal to the top singular vector
  // except by a measure-zero accident.
  std::vector<double> v(static_cast<std::size_t>(cols)), u(static_cast<std::size_t>(rows));
  for (int64_t j = 0; j < cols; ++j) v[static_cast<std::size_t>(j)] = 1.0 + 0.5 * std::sin(static_cast<double>(j) + 1.0);
  double sigma = 0.0;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    double vnorm = 0.0;
    for (double x : v) vnorm += x * x;
    vnorm = std::sqrt(vnorm);
    if (vnorm == 0.0) return 0.0;
    for (double& x : v) x /= vnorm;
    for (int64_t i = 0; i < rows; ++i) {  // u = A v
      double s = 0.0;
      const double* row = a.data() + i * cols;
      for (int64_t j = 0; j < cols; ++j) s += row[j] * v[static_cast<std::size_t>(j)];
      u[static_cast<std::size_t>(i)] = s;
    }
    double unorm = 0.0;
    for (double x : u) unorm += x * x;
    unorm = std::sqrt(unorm);  // ||A v|| with ||v|| = 1: a lower bound on sigma_max that converges to it
    std::fill(v.begin(), v.end(), 0.0);
    for (int64_t i = 0; i < rows; ++i) {  // v = A^T u
      const double* row = a.data() + i * cols;
      const double ui = u[static_cast<std::size_t>(i)];
      for (int64_t j = 0; j < cols; ++j) v[static_cast<std::size_t>(j)] += row[j] * ui;
    }
    const bool converged = std::abs(unorm - sigma) <= 1e-9 * unorm;
    sigma = unorm;
    if (converged) break;
  }
  return sigma;
}

std::vector<GateStats> compute_gate_stats(TensorView<const double> values, const std::string& gate_letters) {
  std::vector<GateStats> out;
  const int64_t g = static_cast<int64_t>(gate_letters.size());
  if (g < 2 || values.rank() < 1 || values.dim(0) % g != 0) return out;
  const int64_t block = values.dim(0) / g;
  for (int64_t i = 0; i < g; ++i) {
    out.push_back({gate_letters[static_cast<std::size_t>(i)], compute_weight_stats(values.rows(i * block, block))});
  }
  return out;
}

}  // namespace rnnkit

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

namespace {

double norm2(const std::vector<double>& x) {
  double s = 0.0;
  for (double v : x) s += v * v;
  return std::sqrt(s);
}

// x -= sum_i (q_i . x) q_i over the rows of `basis` (k vectors of x.size()), twice
// ("twice is enough", Parlett): keeps the Lanczos vectors orthogonal to machine precision.
void reorthogonalize(std::vector<double>& x, const std::vector<double>& basis, std::size_t k) {
  const std::size_t n = x.size();
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < k; ++i) {
      const double* q = &basis[i * n];
      double d = 0.0;
      for (std::size_t j = 0; j < n; ++j) d += q[j] * x[j];
      for (std::size_t j = 0; j < n; ++j) x[j] -= d * q[j];
    }
  }
}

// Largest eigenvalue of the symmetric tridiagonal matrix (diag, off) by bisection on
// Sturm sequence counts: robust, and exact to the last bits after ~100 halvings.
double largest_tridiagonal_eigenvalue(const std::vector<double>& diag, const std::vector<double>& off) {
  const std::size_t k = diag.size();
  double low = 0.0, high = 0.0;  // Gershgorin bounds
  for (std::size_t i = 0; i < k; ++i) {
    const double r = (i > 0 ? std::abs(off[i - 1]) : 0.0) + (i + 1 < k ? std::abs(off[i]) : 0.0);
    low = std::min(low, diag[i] - r);
    high = std::max(high, diag[i] + r);
  }
  // Number of eigenvalues below x.
  auto count_below = [&](double x) {
    int count = 0;
    double d = 1.0;
    for (std::size_t i = 0; i < k; ++i) {
      const double o = i > 0 ? off[i - 1] : 0.0;
      d = diag[i] - x - (i > 0 ? o * o / d : 0.0);
      if (d == 0.0) d = -1e-300;
      if (d < 0.0) ++count;
    }
    return count;
  };
  for (int iteration = 0; iteration < 200 && high - low > 1e-15 * std::max(1.0, std::abs(high)); ++iteration) {
    const double mid = 0.5 * (low + high);
    if (count_below(mid) == static_cast<int>(k)) {
      high = mid;
    } else {
      low = mid;
    }
  }
  return high;
}

}  // namespace

double largest_singular_value(TensorView<const double> a) {
  if (a.rank() != 2) throw Error("largest_singular_value: expected a matrix, got shape " + shape_to_string(a.shape()));
  const std::size_t m = static_cast<std::size_t>(a.dim(0)), n = static_cast<std::size_t>(a.dim(1));
  if (m == 0 || n == 0) return 0.0;
  // Golub-Kahan-Lanczos bidiagonalization A V = U B (B upper bidiagonal: alpha on the
  // diagonal, beta above it) with full reorthogonalization. sigma_max(B_k) rises to
  // sigma_max(A) quickly; it is read off B^T B (tridiagonal) by bisection.
  const std::size_t max_steps = std::min<std::size_t>({m, n, 256});
  std::vector<double> us, vs;  // the Lanczos vectors, one per row
  std::vector<double> alpha, beta;
  std::vector<double> v(n), u(m);
  for (std::size_t j = 0; j < n; ++j) v[j] = 1.0 + 0.5 * std::sin(static_cast<double>(j) + 1.0);  // fixed start
  double vnorm = norm2(v);
  for (double& x : v) x /= vnorm;
  double frobenius = 0.0;
  for (double x : a.span()) frobenius += x * x;
  frobenius = std::sqrt(frobenius);
  if (frobenius == 0.0) return 0.0;
  const double negligible = 1e-13 * frobenius;  // below this a new direction is rounding noise

  // sigma_max of the bidiagonal so far, from the tridiagonal B^T B.
  auto estimate = [&] {
    std::vector<double> diag(alpha.size()), off(alpha.size() - 1);
    for (std::size_t i = 0; i < alpha.size(); ++i) {
      diag[i] = alpha[i] * alpha[i] + (i > 0 ? beta[i - 1] * beta[i - 1] : 0.0);
      if (i + 1 < alpha.size()) off[i] = alpha[i] * beta[i];
    }
    return std::sqrt(largest_tridiagonal_eigenvalue(diag, off));
  };
  double sigma = 0.0;
  for (std::size_t step = 0; step < max_steps; ++step) {
    vs.insert(vs.end(), v.begin(), v.end());
    for (std::size_t i = 0; i < m; ++i) {  // u = A v_k - beta_{k-1} u_{k-1} (by reorthogonalization)
      const double* row = a.data() + i * n;
      double s = 0.0;
      for (std::size_t j = 0; j < n; ++j) s += row[j] * v[j];
      u[i] = s;
    }
    reorthogonalize(u, us, step);
    const double a_k = norm2(u);
    alpha.push_back(a_k <= negligible ? 0.0 : a_k);
    const double previous = sigma;
    sigma = estimate();
    if (a_k <= negligible) break;  // A's range is exhausted: B is exact
    for (double& x : u) x /= a_k;
    us.insert(us.end(), u.begin(), u.end());
    std::fill(v.begin(), v.end(), 0.0);  // v = A^T u_k - alpha_k v_k (by reorthogonalization)
    for (std::size_t i = 0; i < m; ++i) {
      const double* row = a.data() + i * n;
      for (std::size_t j = 0; j < n; ++j) v[j] += row[j] * u[i];
    }
    reorthogonalize(v, vs, step + 1);
    const double b_k = norm2(v);
    if (b_k <= negligible) break;  // an invariant subspace: B is exact
    if (step > 0 && std::abs(sigma - previous) <= 1e-13 * sigma) break;
    beta.push_back(b_k);
    for (double& x : v) x /= b_k;
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

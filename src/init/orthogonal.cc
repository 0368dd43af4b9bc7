// Orthogonal initialization, version 1 (unblocked Householder QR), and what both versions
// share: the draws and the signed write-back; see orthogonal.h.
//
// The tall matrix A [m, n] (m >= n) is kept column-major so that every inner loop runs over
// contiguous memory. Householder vectors v_k (unit norm) turn A into R; the thin
// Q = H_0 H_1 ... H_{n-1} [I_n; 0] is formed by applying the reflections to the identity in
// reverse order. The arithmetic is exactly that of rnnkit 0.1, whose bits tests pin.
#include "orthogonal.h"

#include <cmath>

namespace rnnkit::detail {

double dot_fixed_order(const double* a, const double* b, int64_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

TallMatrix draw_tall_normal(int64_t rows, int64_t cols, RandomStream& stream) {
  TallMatrix a;
  a.transposed = rows < cols;
  a.m = a.transposed ? cols : rows;
  a.n = a.transposed ? rows : cols;
  a.values.resize(static_cast<std::size_t>(a.m * a.n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double x = stream.normal();
      const int64_t i = a.transposed ? c : r;
      const int64_t j = a.transposed ? r : c;
      a.values[static_cast<std::size_t>(j * a.m + i)] = x;
    }
  }
  return a;
}

void write_signed_q(const TallMatrix& shape, const double* q, const double* diag_r, double gain,
                    TensorView<double> out) {
  const int64_t m = shape.m;
  for (int64_t j = 0; j < shape.n; ++j) {
    const double sign = diag_r[j] < 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < m; ++i) {
      const double value = gain * sign * q[j * m + i];
      if (shape.transposed) {
        out(j, i) = value;
      } else {
        out(i, j) = value;
      }
    }
  }
}

void fill_orthogonal_unblocked(TensorView<double> out, RandomStream& stream, double gain) {
  TallMatrix tall = draw_tall_normal(out.dim(0), out.dim(1), stream);
  const int64_t m = tall.m;
  const int64_t n = tall.n;
  if (n == 0) return;
  std::vector<double>& a = tall.values;

  std::vector<double> v(static_cast<std::size_t>(m * n), 0.0);  // v_k stored in column k, rows k..m-1
  std::vector<double> diag_r(static_cast<std::size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    double* x = &a[static_cast<std::size_t>(k * m + k)];
    const int64_t len = m - k;
    const double norm = std::sqrt(dot_fixed_order(x, x, len));
    const double alpha = x[0] > 0 ? -norm : norm;  // R(k,k); sign chosen to avoid cancellation
    diag_r[static_cast<std::size_t>(k)] = alpha;
    double* vk = &v[static_cast<std::size_t>(k * m + k)];
    for (int64_t i = 0; i < len; ++i) vk[i] = x[i];
    vk[0] -= alpha;
    const double vnorm = std::sqrt(dot_fixed_order(vk, vk, len));
    if (vnorm == 0.0) continue;  // column already reduced: H_k = I
    for (int64_t i = 0; i < len; ++i) vk[i] /= vnorm;
    // A[k:, j] -= 2 v (v . A[k:, j]) for the remaining columns.
    for (int64_t j = k + 1; j < n; ++j) {
      double* col = &a[static_cast<std::size_t>(j * m + k)];
      const double s = 2.0 * dot_fixed_order(vk, col, len);
      for (int64_t i = 0; i < len; ++i) col[i] -= s * vk[i];
    }
  }

  // Q = H_0 ... H_{n-1} [I_n; 0], column-major in q.
  std::vector<double> q(static_cast<std::size_t>(m * n), 0.0);
  for (int64_t j = 0; j < n; ++j) q[static_cast<std::size_t>(j * m + j)] = 1.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const double* vk = &v[static_cast<std::size_t>(k * m + k)];
    const int64_t len = m - k;
    for (int64_t j = 0; j < n; ++j) {
      double* col = &q[static_cast<std::size_t>(j * m + k)];
      const double s = 2.0 * dot_fixed_order(vk, col, len);
      if (s != 0.0) {
        for (int64_t i = 0; i < len; ++i) col[i] -= s * vk[i];
      }
    }
  }
  write_signed_q(tall, q.data(), diag_r.data(), gain, out);
}

}  // namespace rnnkit::detail

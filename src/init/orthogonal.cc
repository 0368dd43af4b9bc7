// Orthogonal initialization, version 1 (unblocked Householder QR), and what both versions
// share: the draws and the signed write-back; see orthogonal.h.
//
// The tall matrix A [m, n] (m >= n) is kept column-major so that every inner loop runs over
// contiguous memory. Householder vectors v_k (unit norm) turn A into R; the thin
// Q = H_0 H_1 ... H_{n-1} [I_n; 0] is formed by applying the reflections to the identity in
// reverse order. The arithmetic is exactly that of rnnkit 0.1, whose bits tests pin.
#include "orthogonal.h"

#include <algorithm>
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

namespace {

constexpr int64_t kRowsPerPass = 8;                 // rows drawn, or written, together (one cache line of A)
constexpr int64_t kMinValuesPerThread = 1LL << 16;  // below this a thread costs more than it saves

int threads_for_values(int64_t values, int threads) {
  return static_cast<int>(std::clamp<int64_t>(values / kMinValuesPerThread, 1, std::max(threads, 1)));
}

}  // namespace

int64_t spread_leading_dimension(int64_t rows) {
  constexpr int64_t kLine = 8;  // doubles per cache line
  const int64_t lines = (rows + kLine - 1) / kLine;
  return kLine * (lines % 2 == 0 ? lines + 1 : lines);
}

TallMatrix draw_tall_normal(int64_t rows, int64_t cols, RandomStream& stream, int threads, bool spread) {
  TallMatrix a;
  a.transposed = rows < cols;
  a.m = a.transposed ? cols : rows;
  a.n = a.transposed ? rows : cols;
  a.ld = spread ? spread_leading_dimension(a.m) : a.m;
  a.values.resize(static_cast<std::size_t>(a.ld * a.n));
  const int used = threads_for_values(rows * cols, threads);
  // Thread t draws rows [rows * t / used, rows * (t + 1) / used). Row r of the draws is column r
  // of a wide A; for a tall A, a few rows at a time go to `drawn` (row-major, as the stream gives
  // them) and then into A, so that the stores to a column of A are consecutive. The buffers are
  // allocated here, where running out of memory is an exception rather than a terminate.
  std::vector<std::vector<double>> drawn(static_cast<std::size_t>(a.transposed ? 0 : used),
                                         std::vector<double>(static_cast<std::size_t>(kRowsPerPass * cols)));
  run_on_threads(used, [&](int t) {
    const int64_t begin = rows * t / used, end = rows * (t + 1) / used;
    RandomStream mine = stream;
    mine.skip_normals(static_cast<uint64_t>(begin * cols));
    if (a.transposed) {
      for (int64_t r = begin; r < end; ++r) {
        double* column = a.values.data() + r * a.ld;
        for (int64_t c = 0; c < cols; ++c) column[c] = mine.normal();
      }
      return;
    }
    double* buffer = drawn[static_cast<std::size_t>(t)].data();
    for (int64_t r0 = begin; r0 < end; r0 += kRowsPerPass) {
      const int64_t count = std::min(kRowsPerPass, end - r0);
      for (int64_t i = 0; i < count * cols; ++i) buffer[i] = mine.normal();
      for (int64_t c = 0; c < cols; ++c) {
        for (int64_t i = 0; i < count; ++i)
          a.values[static_cast<std::size_t>(c * a.ld + r0 + i)] = buffer[i * cols + c];
      }
    }
  });
  stream.skip_normals(static_cast<uint64_t>(rows * cols));
  return a;
}

void write_signed_q(const TallMatrix& shape, const double* q, int64_t ldq, const double* diag_r, double gain,
                    TensorView<double> out, int threads) {
  const int64_t m = shape.m, n = shape.n;
  const int used = threads_for_values(m * n, threads);
  if (shape.transposed) {  // out [n, m]: row j of out is column j of q
    run_on_threads(used, [&](int t) {
      for (int64_t j = n * t / used; j < n * (t + 1) / used; ++j) {
        const double sign = diag_r[j] < 0 ? -1.0 : 1.0;
        for (int64_t i = 0; i < m; ++i) out(j, i) = gain * sign * q[j * ldq + i];
      }
    });
    return;
  }
  // out [m, n], a few rows at a time, so that the loads from a column of q are consecutive.
  run_on_threads(used, [&](int t) {
    for (int64_t i0 = m * t / used; i0 < m * (t + 1) / used; i0 += kRowsPerPass) {
      const int64_t i1 = std::min(i0 + kRowsPerPass, m * (t + 1) / used);
      for (int64_t j = 0; j < n; ++j) {
        const double sign = diag_r[j] < 0 ? -1.0 : 1.0;
        for (int64_t i = i0; i < i1; ++i) out(i, j) = gain * sign * q[j * ldq + i];
      }
    }
  });
}

void fill_orthogonal_unblocked(TensorView<double> out, RandomStream& stream, double gain) {
  TallMatrix tall = draw_tall_normal(out.dim(0), out.dim(1), stream);
  const int64_t m = tall.m;
  const int64_t n = tall.n;
  if (n == 0) return;
  CacheLineDoubles& a = tall.values;  // ld = m

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
  write_signed_q(tall, q.data(), m, diag_r.data(), gain, out);
}

}  // namespace rnnkit::detail

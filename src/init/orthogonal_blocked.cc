// Orthogonal initialization, version 2: blocked Householder QR in compact WY form; see
// orthogonal.h for the equations and for why the bits depend on the shape alone.
//
// A [m, n] is column-major with leading dimension m. After the QR phase, column j holds
// R[0:j, j] above the diagonal and v_j in rows j..m-1; the Q phase overwrites it with Q.
// A panel's reflectors are copied to a packed V [l, b] (l = m - k rows, column-major, explicit
// zeros above each v_i's first row), which the block updates read.
#include <algorithm>
#include <cmath>
#include <system_error>
#include <thread>

#include "orthogonal.h"

namespace rnnkit::detail {
namespace {

constexpr int64_t kPanelWidth = 32;           // reflectors per block (nb)
constexpr int64_t kRowChunk = 128;            // rows of V and of the columns kept in cache together; a multiple of 4
constexpr int64_t kColumnGroup = 4;           // columns that share each pass over a chunk of V
constexpr int64_t kMinColumnsPerThread = 32;  // below this a thread costs more than it saves
constexpr int kLanes = 4;                     // partial sums of a dot product (dot_fixed_order's scheme)

static_assert(kRowChunk % kLanes == 0, "row chunks must keep each row in its dot-product lane");

// One panel's block reflector I - V T V^T.
struct BlockReflector {
  int64_t rows = 0;       // l
  int64_t width = 0;      // b
  std::vector<double> v;  // [l, b] column-major
  std::vector<double> t;  // [b, b] column-major, upper triangular
};

enum class Side { transposed, plain };  // apply (I - V T^T V^T) or (I - V T V^T)

// W[:, c] = V^T C[:, c] for the columns of one group, each entry exactly dot_fixed_order(V_i, C_c, l):
// lane u of entry (i, c) sums rows r = u mod 4 below l4 in increasing order; the row chunks only
// change which rows are in cache, not any entry's sequence of operations.
void block_dot(const BlockReflector& br, const double* c, int64_t ldc, int64_t group, double* w /* [group][b] */) {
  const int64_t l = br.rows, b = br.width;
  const int64_t l4 = l - l % kLanes;
  double lanes[kColumnGroup][kPanelWidth][kLanes] = {};
  for (int64_t r0 = 0; r0 < l4; r0 += kRowChunk) {
    const int64_t r1 = std::min(l4, r0 + kRowChunk);
    for (int64_t jc = 0; jc < group; ++jc) {
      const double* col = c + jc * ldc;
      int64_t i = 0;
      for (; i < b; ++i) {
        const double* vi = br.v.data() + i * l;
        double s[kLanes];
        for (int u = 0; u < kLanes; ++u) s[u] = lanes[jc][i][u];
        for (int64_t r = r0; r < r1; r += kLanes) {
          for (int u = 0; u < kLanes; ++u) s[u] += vi[r + u] * col[r + u];
        }
        for (int u = 0; u < kLanes; ++u) lanes[jc][i][u] = s[u];
      }
    }
  }
  for (int64_t jc = 0; jc < group; ++jc) {
    const double* col = c + jc * ldc;
    for (int64_t i = 0; i < b; ++i) {
      const double* vi = br.v.data() + i * l;
      double s0 = lanes[jc][i][0];
      for (int64_t r = l4; r < l; ++r) s0 += vi[r] * col[r];
      w[jc * b + i] = (s0 + lanes[jc][i][1]) + (lanes[jc][i][2] + lanes[jc][i][3]);
    }
  }
}

// w <- T^T w or T w for one column w [b], sums in increasing index order.
void triangular_multiply(const BlockReflector& br, Side side, double* w) {
  const int64_t b = br.width;
  double result[kPanelWidth];
  for (int64_t i = 0; i < b; ++i) {
    double s = 0.0;
    if (side == Side::transposed) {
      for (int64_t p = 0; p <= i; ++p) s += br.t[i * b + p] * w[p];  // (T^T)(i, p) = T(p, i)
    } else {
      for (int64_t p = i; p < b; ++p) s += br.t[p * b + i] * w[p];
    }
    result[i] = s;
  }
  std::copy(result, result + b, w);
}

// C[:, c] -= V W[:, c] for the columns of one group: element r of column c becomes
// C(r, c) - (((V(r,i) w_i + V(r,i+1) w_{i+1}) + V(r,i+2) w_{i+2}) + V(r,i+3) w_{i+3}) for
// i = 0, 4, 8, ..., then C(r, c) - V(r, i) w_i for the columns of V left over.
void block_subtract(const BlockReflector& br, const double* w /* [group][b] */, double* c, int64_t ldc, int64_t group) {
  const int64_t l = br.rows, b = br.width;
  const int64_t b4 = b - b % 4;
  for (int64_t r0 = 0; r0 < l; r0 += kRowChunk) {
    const int64_t r1 = std::min(l, r0 + kRowChunk);
    for (int64_t jc = 0; jc < group; ++jc) {
      double* col = c + jc * ldc;
      const double* wc = w + jc * b;
      for (int64_t i = 0; i < b4; i += 4) {
        const double* v0 = br.v.data() + i * l;
        const double* v1 = v0 + l;
        const double* v2 = v1 + l;
        const double* v3 = v2 + l;
        const double w0 = wc[i], w1 = wc[i + 1], w2 = wc[i + 2], w3 = wc[i + 3];
        for (int64_t r = r0; r < r1; ++r) col[r] -= ((v0[r] * w0 + v1[r] * w1) + v2[r] * w2) + v3[r] * w3;
      }
      for (int64_t i = b4; i < b; ++i) {
        const double* vi = br.v.data() + i * l;
        const double wi = wc[i];
        for (int64_t r = r0; r < r1; ++r) col[r] -= vi[r] * wi;
      }
    }
  }
}

// C <- (I - V op(T) V^T) C for columns [begin, end) of C (rows br.rows, leading dimension ldc).
void apply_block_reflector(const BlockReflector& br, Side side, double* c, int64_t ldc, int64_t begin, int64_t end) {
  double w[kColumnGroup * kPanelWidth];
  for (int64_t j = begin; j < end; j += kColumnGroup) {
    const int64_t group = std::min(kColumnGroup, end - j);
    double* cj = c + j * ldc;
    block_dot(br, cj, ldc, group, w);
    for (int64_t jc = 0; jc < group; ++jc) triangular_multiply(br, side, w + jc * br.width);
    block_subtract(br, w, cj, ldc, group);
  }
}

// Applies the block reflector to columns [0, columns) of C, split into contiguous ranges over up
// to `threads` threads. Which thread computes a column changes nothing in its arithmetic. If a
// thread cannot be started its range is computed here instead: same bits, less speed.
void apply_block_reflector_threaded(const BlockReflector& br, Side side, double* c, int64_t ldc, int64_t columns,
                                    int threads) {
  const int64_t parts = std::clamp<int64_t>(columns / kMinColumnsPerThread, 1, threads);
  std::vector<std::thread> workers;
  std::vector<std::pair<int64_t, int64_t>> not_started;
  workers.reserve(static_cast<std::size_t>(parts));
  not_started.reserve(static_cast<std::size_t>(parts));
  for (int64_t p = 1; p < parts; ++p) {
    const int64_t begin = columns * p / parts, end = columns * (p + 1) / parts;
    try {
      workers.emplace_back([&br, side, c, ldc, begin, end] { apply_block_reflector(br, side, c, ldc, begin, end); });
    } catch (const std::system_error&) {
      not_started.emplace_back(begin, end);
    }
  }
  apply_block_reflector(br, side, c, ldc, 0, columns / parts);
  for (const auto& [begin, end] : not_started) apply_block_reflector(br, side, c, ldc, begin, end);
  for (std::thread& worker : workers) worker.join();
}

// Copies the panel's reflectors (columns k..k+b-1 of a, rows k..m-1) into br.v with zeros above
// each v_i's first row, and builds T: T_ii = 2, T[0:i, i] = -2 T[0:i, 0:i] (V[:, 0:i]^T v_i).
void build_block_reflector(const double* a, int64_t m, int64_t k, int64_t b, BlockReflector& br) {
  const int64_t l = m - k;
  br.rows = l;
  br.width = b;
  br.v.assign(static_cast<std::size_t>(l * b), 0.0);
  for (int64_t i = 0; i < b; ++i) {
    const double* src = a + (k + i) * m + k;
    std::copy(src + i, src + l, br.v.data() + i * l + i);
  }
  br.t.assign(static_cast<std::size_t>(b * b), 0.0);
  double z[kPanelWidth];
  for (int64_t i = 0; i < b; ++i) {
    const double* vi = br.v.data() + i * l;
    for (int64_t p = 0; p < i; ++p) z[p] = dot_fixed_order(br.v.data() + p * l + i, vi + i, l - i);
    for (int64_t p = 0; p < i; ++p) {
      double s = 0.0;
      for (int64_t q = p; q < i; ++q) s += br.t[q * b + p] * z[q];
      br.t[i * b + p] = -2.0 * s;
    }
    br.t[i * b + i] = 2.0;
  }
}

// Unblocked QR of the panel's columns k..k+b-1 (rows k..m-1), exactly as version 1 reduces a
// column, leaving v_j in rows j..m-1 of column j and alpha_j in diag_r[j].
void factor_panel(double* a, int64_t m, int64_t k, int64_t b, double* diag_r) {
  for (int64_t j = k; j < k + b; ++j) {
    double* x = a + j * m + j;
    const int64_t len = m - j;
    const double norm = std::sqrt(dot_fixed_order(x, x, len));
    const double alpha = x[0] > 0 ? -norm : norm;  // R(j,j); sign chosen to avoid cancellation
    diag_r[j] = alpha;
    x[0] -= alpha;
    const double vnorm = std::sqrt(dot_fixed_order(x, x, len));
    if (vnorm == 0.0) continue;  // column already reduced: v_j = 0, H_j = I
    for (int64_t i = 0; i < len; ++i) x[i] /= vnorm;
    for (int64_t jj = j + 1; jj < k + b; ++jj) {
      double* col = a + jj * m + j;
      const double s = 2.0 * dot_fixed_order(x, col, len);
      for (int64_t i = 0; i < len; ++i) col[i] -= s * x[i];
    }
  }
}

}  // namespace

void fill_orthogonal_blocked(TensorView<double> out, RandomStream& stream, double gain, int threads) {
  TallMatrix tall = draw_tall_normal(out.dim(0), out.dim(1), stream);
  const int64_t m = tall.m;
  const int64_t n = tall.n;
  if (n == 0) return;
  threads = std::max(1, threads);
  double* a = tall.values.data();
  std::vector<double> diag_r(static_cast<std::size_t>(n));
  const int64_t panels = (n + kPanelWidth - 1) / kPanelWidth;
  BlockReflector br;

  // QR, panels first to last: A2 <- A2 - V (T^T (V^T A2)) for the columns right of the panel.
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t k = p * kPanelWidth;
    const int64_t b = std::min(kPanelWidth, n - k);
    factor_panel(a, m, k, b, diag_r.data());
    if (k + b == n) break;
    build_block_reflector(a, m, k, b, br);
    apply_block_reflector_threaded(br, Side::transposed, a + (k + b) * m + k, m, n - k - b, threads);
  }

  // Q, panels last to first, over A: Q[k:m, k:n] <- Q - V (T (V^T Q)), where the panel's own
  // columns start as [0; I_b; 0] and the columns right of it already hold Q (zero above row k+b).
  // V and T are rebuilt from the v_j left in A: the same operations on the same values as in the
  // QR phase, so the same bits, without keeping every panel's copy.
  for (int64_t p = panels - 1; p >= 0; --p) {
    const int64_t k = p * kPanelWidth;
    const int64_t b = std::min(kPanelWidth, n - k);
    build_block_reflector(a, m, k, b, br);
    for (int64_t j = k; j < k + b; ++j) {
      std::fill(a + j * m, a + (j + 1) * m, 0.0);
      a[j * m + j] = 1.0;
    }
    apply_block_reflector_threaded(br, Side::plain, a + k * m + k, m, n - k, threads);
  }
  write_signed_q(tall, a, diag_r.data(), gain, out);
}

}  // namespace rnnkit::detail

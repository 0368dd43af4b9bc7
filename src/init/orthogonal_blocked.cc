// Orthogonal initialization, version 2: blocked Householder QR in compact WY form; see
// orthogonal.h for the equations and for why the bits depend on the shape alone.
//
// A [m, n] is column-major with leading dimension lda >= m (spread_leading_dimension: columns
// start on cache lines an odd number of lines apart, so that a row of many columns does not
// crowd one cache set, as it would for m = 4096). After the QR phase, column j holds R[0:j, j]
// above the diagonal and v_j in rows j..m-1; the Q phase overwrites it with Q. A panel's
// reflectors are copied to a packed V [l, b] (l = m - k rows, column-major, explicit zeros above
// each v_i's first row) and to its row-quad form (orthogonal_kernels.h), which the kernels read.
//
// Work: an update C <- C - V op(T) V^T C goes through its columns in blocks of at most
// kMaxBlockColumns, which the threads take from a shared counter; per block, the dot products
// V^T C run over the rows in chunks of kRowChunk (V's chunk stays in cache for all the block's
// columns), then op(T), then the subtraction, again chunk by chunk. Consecutive updates of a
// column are fused: right after a chunk of rows has been updated, the dot products of the
// reflector that updates the column next accumulate over it, so that the matrix is read and
// written once per panel instead of read twice and written once. In the QR phase the next
// reflector is known only once its panel has been updated and factored: the first thread does
// that first (look-ahead) while the others update the remaining columns, fusing only the
// blocks they take after it is done. None of this changes any value's operations: the dot
// products' partial sums are the same whichever pass accumulates them (orthogonal.h).
#include <algorithm>
#include <atomic>
#include <cmath>

#include "orthogonal.h"
#include "orthogonal_kernels.h"

namespace rnnkit::detail {
namespace {

constexpr int64_t kRowChunk = 512;            // rows of V and of C per pass (C: 4 KiB of a column); a multiple of 4
constexpr int64_t kMaxBlockColumns = 64;      // columns of one work item (their partial sums: 64 KiB)
constexpr int64_t kMinBlockColumns = 8;       // the smallest work item handed out before the last
constexpr int64_t kMinColumnsPerThread = 32;  // below this a thread costs more than it saves
constexpr int kLanes = 4;                     // partial sums of a dot product (dot_fixed_order's scheme)
constexpr int64_t kQuad = kPanelWidth * kLanes;

static_assert(kRowChunk % kLanes == 0 && kPanelWidth % kLanes == 0,
              "row chunks and panels must keep each row in its dot-product lane");

// One panel's block reflector I - V T V^T.
struct BlockReflector {
  int64_t rows = 0;          // l
  int64_t width = 0;         // b
  int64_t ldv = 0;           // leading dimension of v (spread_leading_dimension(l))
  CacheLineDoubles v;        // [l, b] column-major
  CacheLineDoubles v_quads;  // [l4 / 4][kPanelWidth][4] (orthogonal_kernels.h)
  std::vector<double> t;     // [b, b] column-major, upper triangular

  PackedReflector packed() const { return {rows, width, ldv, v.data(), v_quads.data()}; }
};

enum class Side { transposed, plain };  // apply (I - V T^T V^T) or (I - V T V^T)

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

// The three steps of C <- (I - V op(T) V^T) C on `columns` columns of C (rows br.rows, leading
// dimension ldc), with the dot products' partial sums in `lanes` [columns][kQuad].
// Entry (i, c) of V^T C is exactly dot_fixed_order(V_i, C_c, l): lane u sums the rows r = u mod 4
// below l4 in increasing order (the row chunks change only which rows are in cache), the rows
// from l4 on go to lane 0 (finish_products), and the lanes add as (s0 + s1) + (s2 + s3).

// lanes <- the partial sums of V^T C over every row quad.
void dot_products(const BlockReflector& br, const ReflectorKernels& kernels, const double* c, int64_t ldc,
                  int64_t columns, double* lanes) {
  const int64_t quads = br.rows / kLanes;
  std::fill(lanes, lanes + columns * kQuad, 0.0);
  for (int64_t q0 = 0; q0 < quads; q0 += kRowChunk / kLanes) {
    kernels.dot_lanes(br.packed(), c, ldc, columns, q0, std::min(quads, q0 + kRowChunk / kLanes), lanes);
  }
}

// w [columns][kPanelWidth] <- op(T) V^T C from the partial sums and the rows from l4 on.
void finish_products(const BlockReflector& br, Side side, const double* c, int64_t ldc, int64_t columns,
                     const double* lanes, double* w) {
  const int64_t l = br.rows, b = br.width;
  const int64_t l4 = l - l % kLanes;
  for (int64_t jc = 0; jc < columns; ++jc) {
    const double* col = c + jc * ldc;
    double* wc = w + jc * kPanelWidth;
    for (int64_t i = 0; i < b; ++i) {
      const double* vi = br.v.data() + i * br.ldv;
      const double* s = lanes + jc * kQuad + i * kLanes;
      double s0 = s[0];
      for (int64_t r = l4; r < l; ++r) s0 += vi[r] * col[r];
      wc[i] = (s0 + s[1]) + (s[2] + s[3]);
    }
    triangular_multiply(br, side, wc);
  }
}

// C <- C - V w, a chunk of rows at a time. With `next` (the reflector that updates these columns
// next, whose row 0 is row `shift` of C: +kPanelWidth in the QR phase, -kPanelWidth in the Q
// phase), next_lanes <- the partial sums of next's V^T C as well, each chunk's rows right after
// they are final, so that C is read once for both. The rows of next above C (shift < 0), which
// this update does not change, come first, as they do in next's sums.
void subtract_products(const BlockReflector& br, const ReflectorKernels& kernels, const double* w, double* c,
                       int64_t ldc, int64_t columns, const BlockReflector* next, int64_t shift, double* next_lanes) {
  const int64_t l = br.rows;
  const int64_t next_l4 = next != nullptr ? next->rows - next->rows % kLanes : 0;
  if (next != nullptr) {
    std::fill(next_lanes, next_lanes + columns * kQuad, 0.0);
    if (shift < 0) kernels.dot_lanes(next->packed(), c + shift, ldc, columns, 0, -shift / kLanes, next_lanes);
  }
  for (int64_t r0 = 0; r0 < l; r0 += kRowChunk) {
    const int64_t r1 = std::min(l, r0 + kRowChunk);
    kernels.subtract(br.packed(), w, c, ldc, columns, r0, r1);
    if (next == nullptr) continue;
    // Rows [r0, r1) of C are rows [r0 - shift, r1 - shift) of next.
    const int64_t first = std::max<int64_t>(r0 - shift, 0), last = std::min(r1 - shift, next_l4);
    if (first < last) {
      kernels.dot_lanes(next->packed(), c + shift, ldc, columns, first / kLanes, last / kLanes, next_lanes);
    }
  }
}

// Hands out consecutive column ranges [begin, end) to the threads of one update: at most
// kMaxBlockColumns each, smaller towards the end so that the threads finish close together
// (whichever thread takes a range, its columns' arithmetic is the same).
class ColumnQueue {
 public:
  ColumnQueue(int64_t begin, int64_t end, int threads) : next_(begin), end_(end), threads_(threads) {}

  bool take(int64_t& begin, int64_t& end) {
    int64_t first = next_.load(std::memory_order_relaxed);
    int64_t last = 0;
    do {
      if (first >= end_) return false;
      const int64_t size = std::clamp<int64_t>((end_ - first) / (2 * threads_), kMinBlockColumns, kMaxBlockColumns);
      last = std::min(end_, first + size);
    } while (!next_.compare_exchange_weak(first, last, std::memory_order_relaxed));
    begin = first;
    end = last;
    return true;
  }

 private:
  std::atomic<int64_t> next_;
  int64_t end_;
  int64_t threads_;
};

// Threads worth starting for an update of `columns` columns.
int threads_for(int64_t columns, int threads) {
  return static_cast<int>(std::clamp<int64_t>(columns / kMinColumnsPerThread, 1, threads));
}

// Copies the panel's reflectors (columns k..k+b-1 of a [m, n] with leading dimension lda,
// rows k..m-1) into br.v with zeros above each v_i's first row, and into br.v_quads.
void copy_reflectors(const double* a, int64_t m, int64_t lda, int64_t k, int64_t b, BlockReflector& br) {
  const int64_t l = m - k;
  const int64_t quads = l / kLanes;
  br.rows = l;
  br.width = b;
  br.ldv = spread_leading_dimension(l);
  br.v.assign(static_cast<std::size_t>(br.ldv * b), 0.0);
  for (int64_t i = 0; i < b; ++i) {
    const double* src = a + (k + i) * lda + k;
    std::copy(src + i, src + l, br.v.data() + i * br.ldv + i);
  }
  br.v_quads.assign(static_cast<std::size_t>(quads * kQuad), 0.0);
  for (int64_t i = 0; i < b; ++i) {
    const double* vi = br.v.data() + i * br.ldv;
    for (int64_t q = 0; q < quads; ++q) {
      for (int u = 0; u < kLanes; ++u) br.v_quads[(q * kPanelWidth + i) * kLanes + u] = vi[q * kLanes + u];
    }
  }
}

// T_ii = 2, T[0:i, i] = -2 T[0:i, 0:i] (V[:, 0:i]^T v_i), from br.v.
void build_t(BlockReflector& br) {
  const int64_t l = br.rows, b = br.width;
  br.t.assign(static_cast<std::size_t>(b * b), 0.0);
  double z[kPanelWidth];
  for (int64_t i = 0; i < b; ++i) {
    const double* vi = br.v.data() + i * br.ldv;
    for (int64_t p = 0; p < i; ++p) z[p] = dot_fixed_order(br.v.data() + p * br.ldv + i, vi + i, l - i);
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
void factor_panel(double* a, int64_t m, int64_t lda, int64_t k, int64_t b, double* diag_r) {
  for (int64_t j = k; j < k + b; ++j) {
    double* x = a + j * lda + j;
    const int64_t len = m - j;
    const double norm = std::sqrt(dot_fixed_order(x, x, len));
    const double alpha = x[0] > 0 ? -norm : norm;  // R(j,j); sign chosen to avoid cancellation
    diag_r[j] = alpha;
    x[0] -= alpha;
    const double vnorm = std::sqrt(dot_fixed_order(x, x, len));
    if (vnorm == 0.0) continue;  // column already reduced: v_j = 0, H_j = I
    for (int64_t i = 0; i < len; ++i) x[i] /= vnorm;
    for (int64_t jj = j + 1; jj < k + b; ++jj) {
      double* col = a + jj * lda + j;
      const double s = 2.0 * dot_fixed_order(x, col, len);
      for (int64_t i = 0; i < len; ++i) col[i] -= s * x[i];
    }
  }
}

}  // namespace

void fill_orthogonal_blocked(TensorView<double> out, RandomStream& stream, double gain, int threads) {
  fill_orthogonal_blocked(out, stream, gain, threads, preferred_orthogonal_kernels());
}

void fill_orthogonal_blocked(TensorView<double> out, RandomStream& stream, double gain, int threads,
                             OrthogonalKernels which) {
  const ReflectorKernels& kernels = reflector_kernels(which);
  threads = std::max(1, threads);
  TallMatrix tall = draw_tall_normal(out.dim(0), out.dim(1), stream, threads, /*spread=*/true);
  const int64_t m = tall.m;
  const int64_t n = tall.n;
  const int64_t lda = tall.ld;
  if (n == 0) return;
  double* a = tall.values.data();
  std::vector<double> diag_r(static_cast<std::size_t>(n));
  const int64_t panels = (n + kPanelWidth - 1) / kPanelWidth;
  std::vector<std::vector<double>> t_of_panel(static_cast<std::size_t>(panels));
  BlockReflector br[2];
  // Per column: the partial sums of the dot products with the reflector that updates it next
  // (lanes[0]) and with the one after (lanes[1]), which the fused passes fill; has_lanes says
  // whether they were (a column whose update could not be fused gets its own dot pass).
  CacheLineDoubles lanes[2] = {CacheLineDoubles(static_cast<std::size_t>(n * kQuad)),
                               CacheLineDoubles(static_cast<std::size_t>(n * kQuad))};
  std::vector<char> has_lanes[2] = {std::vector<char>(static_cast<std::size_t>(n), 0),
                                    std::vector<char>(static_cast<std::size_t>(n), 0)};
  const int max_used = threads_for(n, threads);
  std::vector<std::vector<double>> w_of_thread(
      static_cast<std::size_t>(max_used),
      std::vector<double>(static_cast<std::size_t>(kMaxBlockColumns * kPanelWidth)));

  // Updates columns [begin, end) of A (end - begin <= kMaxBlockColumns) with `current`, whose
  // row 0 is row k: their dot products come from lanes[0] where has_lanes[0] says so, else from
  // a pass of their own; with `next`, the pass that subtracts also fills lanes[1] for it.
  const auto update = [&](const BlockReflector& current, Side side, int64_t k, int64_t begin, int64_t end,
                          const BlockReflector* next, int64_t shift, double* w) {
    double* c = a + begin * lda + k;
    double* sums = lanes[0].data() + begin * kQuad;
    for (int64_t j = begin; j < end;) {  // runs of columns without partial sums
      int64_t j1 = j;
      while (j1 < end && has_lanes[0][static_cast<std::size_t>(j1)] == 0) ++j1;
      if (j1 > j) dot_products(current, kernels, a + j * lda + k, lda, j1 - j, lanes[0].data() + j * kQuad);
      while (j1 < end && has_lanes[0][static_cast<std::size_t>(j1)] != 0) ++j1;
      j = j1;
    }
    finish_products(current, side, c, lda, end - begin, sums, w);
    subtract_products(current, kernels, w, c, lda, end - begin, next, shift, lanes[1].data() + begin * kQuad);
    std::fill(has_lanes[1].begin() + begin, has_lanes[1].begin() + end, next != nullptr ? 1 : 0);
  };
  const auto next_step = [&] {
    std::swap(lanes[0], lanes[1]);
    std::swap(has_lanes[0], has_lanes[1]);
  };

  // QR, panels first to last: A2 <- A2 - V (T^T (V^T A2)) for the columns right of the panel.
  // Thread 0 first updates the next panel's columns, factors that panel and builds its
  // reflector, and then joins the others on the remaining columns; those taken after the next
  // reflector is ready also get its dot products in the same pass.
  factor_panel(a, m, lda, 0, std::min(kPanelWidth, n), diag_r.data());
  if (panels > 1) {
    copy_reflectors(a, m, lda, 0, kPanelWidth, br[0]);
    build_t(br[0]);
    t_of_panel[0] = br[0].t;
  }
  for (int64_t p = 0; p + 1 < panels; ++p) {
    const int64_t k = p * kPanelWidth;
    const int64_t next = k + kPanelWidth;
    const int64_t next_width = std::min(kPanelWidth, n - next);
    const BlockReflector& current = br[p % 2];
    BlockReflector& following = br[(p + 1) % 2];
    const int used = std::min(threads_for(n - next, threads), max_used);
    ColumnQueue rest(next + next_width, n, used);
    std::atomic<bool> following_ready = false;
    run_on_threads(used, [&](int t) {
      double* w = w_of_thread[static_cast<std::size_t>(t)].data();
      if (t == 0) {
        update(current, Side::transposed, k, next, next + next_width, nullptr, 0, w);
        factor_panel(a, m, lda, next, next_width, diag_r.data());
        if (p + 2 < panels) {
          copy_reflectors(a, m, lda, next, next_width, following);
          build_t(following);
          t_of_panel[static_cast<std::size_t>(p + 1)] = following.t;
          following_ready.store(true, std::memory_order_release);
        }
      }
      int64_t begin = 0, end = 0;
      while (rest.take(begin, end)) {
        const bool fuse = following_ready.load(std::memory_order_acquire);
        update(current, Side::transposed, k, begin, end, fuse ? &following : nullptr, kPanelWidth, w);
      }
    });
    next_step();
  }

  // Q, panels last to first, over A: Q[k:m, k:n] <- Q - V (T (V^T Q)), where the panel's own
  // columns start as [0; I_b; 0] and the columns right of it already hold Q (zero above row k+b).
  // V is copied again from the v_j left in A (which no Q update reaches: they are left of it),
  // and T is the QR phase's (the last panel's T is built here: the same operations on the same
  // values as there would have been). Each pass also fills the partial sums for panel p - 1.
  std::fill(has_lanes[0].begin(), has_lanes[0].end(), 0);
  const auto load_reflector = [&](int64_t p, BlockReflector& into) {
    const int64_t k = p * kPanelWidth;
    copy_reflectors(a, m, lda, k, std::min(kPanelWidth, n - k), into);
    if (t_of_panel[static_cast<std::size_t>(p)].empty()) {
      build_t(into);
    } else {
      into.t = std::move(t_of_panel[static_cast<std::size_t>(p)]);
    }
  };
  load_reflector(panels - 1, br[(panels - 1) % 2]);
  for (int64_t p = panels - 1; p >= 0; --p) {
    const int64_t k = p * kPanelWidth;
    const int64_t b = std::min(kPanelWidth, n - k);
    const BlockReflector& current = br[p % 2];
    BlockReflector* previous = p > 0 ? &br[(p - 1) % 2] : nullptr;
    if (previous != nullptr) load_reflector(p - 1, *previous);
    for (int64_t j = k; j < k + b; ++j) {
      std::fill(a + j * lda, a + j * lda + m, 0.0);
      a[j * lda + j] = 1.0;
    }
    const int used = std::min(threads_for(n - k, threads), max_used);
    ColumnQueue columns(k, n, used);
    run_on_threads(used, [&](int t) {
      double* w = w_of_thread[static_cast<std::size_t>(t)].data();
      int64_t begin = 0, end = 0;
      while (columns.take(begin, end)) update(current, Side::plain, k, begin, end, previous, -kPanelWidth, w);
    });
    next_step();
  }
  write_signed_q(tall, a, lda, diag_r.data(), gain, out, threads);
}

}  // namespace rnnkit::detail

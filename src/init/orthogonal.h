// Internal: orthogonal matrices by Householder QR, in the two versions that the spec
// `orthogonal(gain, version)` names (checkpoints record the version; see initializer.h).
//
// Both versions compute the same matrix, up to rounding:
//   A [m, n], m = max(rows, cols), n = min(rows, cols): standard normals drawn row-major from
//     the stream as [rows, cols], transposed when rows < cols (so A is tall or square).
//   Householder QR: H_{n-1} ... H_1 H_0 A = R with reflectors H_k = I - 2 v_k v_k^T, ||v_k|| = 1:
//     x = rows k..m-1 of column k of H_{k-1} ... H_0 A, alpha_k = -sign(x_0) ||x|| (= R_kk),
//     v_k = (x - alpha_k e_0) / ||x - alpha_k e_0|| (H_k = I when x - alpha_k e_0 = 0).
//   Thin Q = H_0 H_1 ... H_{n-1} [I_n; 0]  [m, n], and the result is
//     out = gain * Q * diag(sign(R_kk))     (transposed back when rows < cols).
// A has full rank with probability 1, and then Q diag(sign R_kk) is the one thin Q whose R has a
// positive diagonal, so rounding alone separates the versions (about 1e-13 for n in the thousands).
//
// Version 1 (rnnkit 0.1): unblocked. Each reflector is applied to every remaining column of A,
// then to the columns of [I_n; 0] in reverse order: about 4 m n^2 - 4/3 n^3 flops, all as
// vector operations that stream the whole matrix from memory once per reflector.
//
// Version 2: blocked Householder QR in compact WY form (Schreiber and Van Loan, 1989).
// Columns are factored in panels of nb (kPanelWidth in orthogonal_kernels.h). The b reflectors
// of the panel starting at column k, v_k .. v_{k+b-1} stored as the columns of V [m-k, b]
// (zero above their first row), multiply to
//     H_k H_{k+1} ... H_{k+b-1} = I - V T V^T,   T [b, b] upper triangular:
//     T_ii = 2,  T[0:i, i] = -2 T[0:i, 0:i] (V[:, 0:i]^T v_i).
// QR, panels first to last: factor the panel column by column as version 1 does, build T, then
// update the trailing columns A2 = A[k:m, k+b:n] with two matrix products:
//     A2 <- (I - V T V^T)^T A2 = A2 - V (T^T (V^T A2)).
// Q, panels last to first (Q overwrites A, as LAPACK's dorgqr): columns k.. of Q start as
// [0; I_b; 0] in the panel's columns, and then
//     Q[k:m, k:n] <- (I - V T V^T) Q[k:m, k:n] = Q - V (T (V^T Q)).
// Same flop count as version 1, but each pass over V serves a group of columns while V's rows
// are in cache, which is what makes it several times faster. (How the work is scheduled, what
// runs on which thread, and which passes are fused, is in orthogonal_blocked.cc; none of it
// changes a value.)
//
// Determinism (both versions): every value is computed by a fixed sequence of IEEE double
// operations that depends on the shape alone:
//   - dot products keep 4 partial sums (row r goes to sum r mod 4, leftover rows to the first)
//     added as (s0 + s1) + (s2 + s3); a sum over a block's columns runs in column order;
//     C - V W adds V's columns four at a time, ((x0 + x1) + x2) + x3, and subtracts each sum
//     (orthogonal_kernels.h spells out both sequences);
//   - this code is compiled with -ffp-contract=off (src/CMakeLists.txt), so no a * b + c is
//     fused into one FMA, whatever the CPU or instruction set (a test disassembles the
//     objects and fails on any FMA instruction);
//   - version 2's block updates run in one of three forms of the same two kernels
//     (orthogonal_kernels.h): portable C++ built for the baseline instruction set (on x86-64,
//     SSE2), and on x86-64 an AVX2 and an AVX-512F form, compiled from intrinsics with target
//     attributes (not -march, not target_clones) into every build and chosen at run time from
//     what the CPU reports (the widest it runs). The vector forms give each lane one element's
//     sequence of operations, using only vector multiply, add and subtract (no FMA, no
//     horizontal or reassociated sums), so every form gives the same bits; tests compare all
//     the forms a CPU runs, with each other and with checksums of the values version 2 gave
//     when it was released (tests/init/orthogonal_bits_test.cc). The rest (panels, T, draws,
//     write-back) is portable C++ on every CPU;
//   - version 2 splits the columns of each update among threads, and its draws by rows, each
//     thread drawing from a copy of the stream skipped ahead to its rows; each value's
//     operations are the same whichever thread computes it, so the bits do not depend on the
//     thread count.
// So the bits depend on (draws, shape, gain, version) alone; the draws themselves go through
// the C library's log, sin, cos and sqrt (docs/initializers.md, "Across platforms").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "orthogonal_kernels.h"
#include "rnnkit/core/tensor.h"
#include "rnnkit/random/stream.h"

namespace rnnkit::detail {

// The versions `orthogonal(version=...)` accepts; the newest is what a spec typed without a
// version means.
inline constexpr int kOrthogonalOldestVersion = 1;
inline constexpr int kOrthogonalNewestVersion = 2;

// Version 1: fills out [rows, cols] with gain * Q as above, unblocked, on the calling thread.
void fill_orthogonal_unblocked(TensorView<double> out, RandomStream& stream, double gain);

// Version 2: the same matrix by blocked Householder QR; the trailing updates use up to
// `threads` threads (>= 1), with bits independent of that number, and the widest kernels this
// CPU runs (preferred_orthogonal_kernels(), orthogonal_kernels.h).
void fill_orthogonal_blocked(TensorView<double> out, RandomStream& stream, double gain, int threads);
// The same with the kernels named (for the tests that compare them); throws Error if this CPU
// cannot run them.
void fill_orthogonal_blocked(TensorView<double> out, RandomStream& stream, double gain, int threads,
                             OrthogonalKernels kernels);

// Shared by both versions.

// Memory for doubles that starts on a cache line (64 bytes). resize() leaves new elements
// uninitialized (default-initialized), since every caller writes them before reading: the
// pages are then first touched by the threads that fill them, not zeroed on one thread.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  explicit CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t count) { return static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  bool operator==(const CacheLineAllocator&) const = default;
};
using CacheLineDoubles = std::vector<double, CacheLineAllocator<double>>;

// The leading dimension for columns of `rows` doubles that start on cache lines an odd number of
// lines apart, so that one row of many columns falls in different sets of a cache.
int64_t spread_leading_dimension(int64_t rows);

struct TallMatrix {
  int64_t m = 0;            // rows, m >= n
  int64_t n = 0;            // columns
  int64_t ld = 0;           // leading dimension, ld >= m
  bool transposed = false;  // rows < cols: A is the draws transposed
  CacheLineDoubles values;  // column-major: values[j * ld + i] = A(i, j)
};
// A drawn as described above for an output of [rows, cols], with ld = m, or with
// ld = spread_leading_dimension(m) if `spread`; leaves the stream where drawing rows * cols
// normals one after the other would. With threads > 1, each thread draws a stretch of rows from
// a copy of the stream skipped ahead to it: the same values.
TallMatrix draw_tall_normal(int64_t rows, int64_t cols, RandomStream& stream, int threads = 1, bool spread = false);
// out = gain * Q * diag(sign(diag_r)), transposed back if a.transposed; q column-major [m, n]
// with leading dimension ldq. Each element is (gain * sign) * q on its own, so `threads`
// changes nothing in the values.
void write_signed_q(const TallMatrix& shape, const double* q, int64_t ldq, const double* diag_r, double gain,
                    TensorView<double> out, int threads = 1);

// Runs work(t) for t = 0 .. threads - 1, t = 0 on the calling thread. If a thread cannot be
// started, work(t) for it and the rest runs on the calling thread after work(0), so `work` must
// not wait for other threads. work(t) for t > 0 must not throw (nothing could catch it); an
// exception from the calling thread's share propagates once the other threads are done.
template <class Work>
void run_on_threads(int threads, const Work& work) {
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(std::max(threads - 1, 0)));
  int started = 1;
  for (; started < threads; ++started) {
    try {
      workers.emplace_back([&work, started] { work(started); });
    } catch (const std::system_error&) {
      break;
    }
  }
  const auto join = [&workers] {
    for (std::thread& worker : workers) worker.join();
  };
  try {
    work(0);
    for (int t = started; t < threads; ++t) work(t);
  } catch (...) {
    join();
    throw;
  }
  join();
}
// sum_i a[i] b[i] in the fixed order described above.
double dot_fixed_order(const double* a, const double* b, int64_t n);

}  // namespace rnnkit::detail

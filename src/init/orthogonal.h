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
// Columns are factored in panels of nb (kPanelWidth in orthogonal_blocked.cc). The b reflectors
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
// are in cache, which is what makes it several times faster.
//
// Determinism (both versions): every value is computed by a fixed sequence of IEEE double
// operations that depends on the shape alone:
//   - dot products keep 4 partial sums (row r goes to sum r mod 4, leftover rows to the first)
//     added as (s0 + s1) + (s2 + s3); a sum over a block's columns runs in column order;
//   - this code is compiled with -ffp-contract=off (src/CMakeLists.txt), so no a * b + c is
//     fused into one FMA on CPUs that have it, and without -march or target_clones, so one
//     instruction set serves every CPU. Vector instructions the compiler picks keep each
//     element's operations and their order (GCC reassociates only under -ffast-math);
//   - version 2 may split the columns of each update among threads; each column's
//     operations are the same whichever thread computes it, so the bits do not depend on
//     the thread count.
// So the bits depend on (draws, shape, gain, version) alone; the draws themselves go through
// the C library's log, sin, cos and sqrt (docs/initializers.md, "Across platforms").
#pragma once

#include <cstdint>
#include <vector>

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
// `threads` threads (>= 1), with bits independent of that number.
void fill_orthogonal_blocked(TensorView<double> out, RandomStream& stream, double gain, int threads);

// Shared by both versions.
struct TallMatrix {
  int64_t m = 0;               // rows, m >= n
  int64_t n = 0;               // columns
  bool transposed = false;     // rows < cols: A is the draws transposed
  std::vector<double> values;  // column-major: values[j * m + i] = A(i, j)
};
// A drawn as described above for an output of [rows, cols].
TallMatrix draw_tall_normal(int64_t rows, int64_t cols, RandomStream& stream);
// out = gain * Q * diag(sign(diag_r)), transposed back if a.transposed; q column-major [m, n].
void write_signed_q(const TallMatrix& shape, const double* q, const double* diag_r, double gain,
                    TensorView<double> out);
// sum_i a[i] b[i] in the fixed order described above.
double dot_fixed_order(const double* a, const double* b, int64_t n);

}  // namespace rnnkit::detail

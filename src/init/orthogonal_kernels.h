// Internal: the two kernels of orthogonal version 2's block updates (orthogonal_blocked.cc),
// C <- C - V op(T) V^T C for one panel's block reflector, in a portable form and in forms for
// AVX2 and AVX-512 chosen at run time. Every form computes each value by the same sequence of
// IEEE double operations (orthogonal.h, "Determinism"); the vector forms give each vector lane
// one of those sequences, so they differ only in speed.
//
// Shapes: the reflector has l rows (rows k..m-1 of the matrix) and b <= kPanelWidth columns;
// C is column-major with leading dimension ldc, its first row being row k of the matrix.
//   v       [l, b] column-major, zeros above each v_i's first row (v[i * ldv + r] = V(r, i));
//   v_quads the rows below l4 = l - l % 4 in groups of four: v_quads[(q * kPanelWidth + i) * 4 + u]
//           = V(4 q + u, i), zero for i >= b, so that one vector load gives the four lanes of a
//           dot product for one or two reflectors.
// `lanes` holds the dot products' four partial sums per (column, reflector), which the kernel
// accumulates into: lanes[(c * kPanelWidth + i) * 4 + u]; the caller starts them at +0.0.
#pragma once

#include <cstdint>
#include <vector>

namespace rnnkit::detail {

inline constexpr int64_t kPanelWidth = 32;  // reflectors per block (nb)

struct PackedReflector {
  int64_t rows = 0;                 // l
  int64_t width = 0;                // b
  int64_t ldv = 0;                  // leading dimension of v, >= l
  const double* v = nullptr;        // [l, b] column-major
  const double* v_quads = nullptr;  // [l4 / 4][kPanelWidth][4]
};

struct ReflectorKernels {
  // For columns c < columns of C and reflectors i < b, lane u:
  //   lanes(c, i, u) += V(4q + u, i) * C(4q + u, c)   for q = q0, q0 + 1, ..., q1 - 1 in turn
  // (each product rounded, then each sum), with 4 q1 <= l4.
  void (*dot_lanes)(const PackedReflector& v, const double* c, int64_t ldc, int64_t columns, int64_t q0, int64_t q1,
                    double* lanes);
  // For columns c < columns and rows r0 <= r < r1 of C, with w[c * kPanelWidth + i]:
  //   C(r, c) <- C(r, c) - (((V(r,i) w_i + V(r,i+1) w_{i+1}) + V(r,i+2) w_{i+2}) + V(r,i+3) w_{i+3})
  //   for i = 0, 4, ..., b4 - 4 in turn (b4 = b - b % 4), then C(r, c) <- C(r, c) - V(r, i) w_i
  //   for i = b4, ..., b - 1.
  void (*subtract)(const PackedReflector& v, const double* w, double* c, int64_t ldc, int64_t columns, int64_t r0,
                   int64_t r1);
};

// The forms of the kernels; which of them a CPU can run is found at run time.
enum class OrthogonalKernels { portable, avx2, avx512 };

const char* orthogonal_kernels_name(OrthogonalKernels kernels);
// The forms this CPU can run, portable first.
std::vector<OrthogonalKernels> supported_orthogonal_kernels();
// The form fill_orthogonal_blocked uses: the widest this CPU runs.
OrthogonalKernels preferred_orthogonal_kernels();
// The kernels of one form; throws Error if this CPU cannot run it.
const ReflectorKernels& reflector_kernels(OrthogonalKernels kernels);

}  // namespace rnnkit::detail

// GEMM of whole tensors, with the transposes in the names (core/matrix.h has the general
// matrix views these are built on).
//
// All matrices are row-major. gemm_XY computes C = alpha * op(A) * op(B) + beta * C
// where X (for A) and Y (for B) are n (as stored) or t (transposed):
//   gemm_nn: A [M,K], B [K,N]     gemm_nt: A [M,K], B [N,K]     gemm_tn: A [K,M], B [K,N]
// C is [M,N] and is overwritten when beta == 0 (even if it held NaNs), else accumulated.
// Shapes are checked; a mismatch throws Error with both shapes.
#pragma once

#include "rnnkit/core/matrix.h"
#include "rnnkit/core/tensor.h"

namespace rnnkit {

// A rank-2 tensor view as a matrix view. Throws Error for another rank.
template <class T>
MatrixView<T> as_matrix(TensorView<T> t) {
  if (t.rank() != 2) throw Error("as_matrix: a " + shape_to_string(t.shape()) + " tensor is not a matrix");
  return MatrixView<T>(t.data(), t.dim(0), t.dim(1));
}

void gemm_nn(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha = 1.0f,
             float beta = 0.0f);
void gemm_nt(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha = 1.0f,
             float beta = 0.0f);
void gemm_tn(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha = 1.0f,
             float beta = 0.0f);
void gemm_nn(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha = 1.0,
             double beta = 0.0);
void gemm_nt(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha = 1.0,
             double beta = 0.0);
void gemm_tn(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha = 1.0,
             double beta = 0.0);

}  // namespace rnnkit

// GEMM through BLAS, with the transposes in the names.
//
// All matrices are row-major. gemm_XY computes C = alpha * op(A) * op(B) + beta * C
// where X (for A) and Y (for B) are n (as stored) or t (transposed):
//   gemm_nn: A [M,K], B [K,N]     gemm_nt: A [M,K], B [N,K]     gemm_tn: A [K,M], B [K,N]
// C is [M,N] and is overwritten when beta == 0 (even if it held NaNs), else accumulated.
// Shapes are checked; a mismatch throws Error with both shapes.
#pragma once

#include "rnnkit/core/tensor.h"

namespace rnnkit {

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

// The general form for kernels that work on sub-blocks: row-major C [m,n] = alpha *
// op(A) op(B) + beta * C with leading dimensions (row strides) lda, ldb, ldc. No shape
// checks beyond non-negative sizes: callers are rnnkit's own kernels.
void gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace rnnkit

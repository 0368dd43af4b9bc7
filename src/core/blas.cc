// GEMM of whole tensors; see blas.h. The products themselves are core/matrix.cc's.
#include "rnnkit/core/blas.h"

#include <string>

namespace rnnkit {
namespace {

// Checks that op(A) [M,K] * op(B) [K,N] = C [M,N], then C = alpha op(A) op(B) + beta C.
template <class T>
void tensor_gemm(const char* name, bool trans_a, bool trans_b, TensorView<const T> a, TensorView<const T> b,
                 TensorView<T> c, T alpha, T beta) {
  if (a.rank() != 2 || b.rank() != 2 || c.rank() != 2) {
    throw Error(std::string(name) + ": expected rank-2 operands, got A " + shape_to_string(a.shape()) + ", B " +
                shape_to_string(b.shape()) + ", C " + shape_to_string(c.shape()));
  }
  const int64_t m = trans_a ? a.dim(1) : a.dim(0);
  const int64_t k = trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = trans_b ? b.dim(1) : b.dim(0);
  const int64_t n = trans_b ? b.dim(0) : b.dim(1);
  if (k != kb || c.dim(0) != m || c.dim(1) != n) {
    throw Error(std::string(name) + ": shapes do not agree: A " + shape_to_string(a.shape()) + ", B " +
                shape_to_string(b.shape()) + ", C " + shape_to_string(c.shape()) + " (expected C [" +
                std::to_string(m) + "," + std::to_string(n) + "] and inner extents equal)");
  }
  const MatrixView<const T> ma = as_matrix(a), mb = as_matrix(b);
  gemm(as_matrix(c), trans_a ? MatrixOperand<T>(ma.t()) : MatrixOperand<T>(ma),
       trans_b ? MatrixOperand<T>(mb.t()) : MatrixOperand<T>(mb), alpha, beta);
}

}  // namespace

void gemm_nn(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha, float beta) {
  tensor_gemm("gemm_nn", false, false, a, b, c, alpha, beta);
}
void gemm_nt(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha, float beta) {
  tensor_gemm("gemm_nt", false, true, a, b, c, alpha, beta);
}
void gemm_tn(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha, float beta) {
  tensor_gemm("gemm_tn", true, false, a, b, c, alpha, beta);
}
void gemm_nn(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha, double beta) {
  tensor_gemm("gemm_nn", false, false, a, b, c, alpha, beta);
}
void gemm_nt(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha, double beta) {
  tensor_gemm("gemm_nt", false, true, a, b, c, alpha, beta);
}
void gemm_tn(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha, double beta) {
  tensor_gemm("gemm_tn", true, false, a, b, c, alpha, beta);
}

}  // namespace rnnkit

// GEMM wrappers (row-major). See blas.h for the conventions.
//
// float GEMMs go to oneDNN's dnnl_sgemm, double GEMMs to OpenBLAS (CBLAS). oneDNN picks
// its kernels from the CPU's feature flags (AVX2, AVX-512), where Debian's OpenBLAS 0.3.21
// picks them from the CPU model and falls back to SSE3 kernels on models it does not
// know (measured on this project's machines: "Prescott", 19 GFLOP/s against oneDNN's
// ~150 on one thread). float is the type rnnkit computes in; double serves references
// and gradient checks, where speed matters less than being a second implementation.
#include "rnnkit/core/blas.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <string>

namespace rnnkit {
namespace {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                          beta, c, ldc);
  if (status != dnnl_success) {
    throw Error("sgemm: oneDNN failed with status " + std::to_string(static_cast<int>(status)) + " for M=" +
                std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k));
  }
}

struct GemmDims {
  int m, n, k;
};

// Checks that op(A) [M,K] * op(B) [K,N] = C [M,N] and returns M, N, K.
template <class T>
GemmDims check_gemm(const char* name, bool trans_a, bool trans_b, const TensorView<const T>& a,
                    const TensorView<const T>& b, const TensorView<T>& c) {
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
  return {static_cast<int>(m), static_cast<int>(n), static_cast<int>(k)};
}

template <class T>
void gemm(const char* name, bool trans_a, bool trans_b, TensorView<const T> a, TensorView<const T> b,
          TensorView<T> c, T alpha, T beta) {
  const GemmDims d = check_gemm(name, trans_a, trans_b, a, b, c);
  if (d.m == 0 || d.n == 0) return;
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  const int lda = static_cast<int>(a.dim(1));
  const int ldb = static_cast<int>(b.dim(1));
  const int ldc = d.n;
  if constexpr (std::is_same_v<T, float>) {
    sgemm(trans_a, trans_b, d.m, d.n, d.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, d.m, d.n, d.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  }
}

}  // namespace

void gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void gemm_nn(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha, float beta) {
  gemm("gemm_nn", false, false, a, b, c, alpha, beta);
}
void gemm_nt(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha, float beta) {
  gemm("gemm_nt", false, true, a, b, c, alpha, beta);
}
void gemm_tn(TensorView<const float> a, TensorView<const float> b, TensorView<float> c, float alpha, float beta) {
  gemm("gemm_tn", true, false, a, b, c, alpha, beta);
}
void gemm_nn(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha,
             double beta) {
  gemm("gemm_nn", false, false, a, b, c, alpha, beta);
}
void gemm_nt(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha,
             double beta) {
  gemm("gemm_nt", false, true, a, b, c, alpha, beta);
}
void gemm_tn(TensorView<const double> a, TensorView<const double> b, TensorView<double> c, double alpha,
             double beta) {
  gemm("gemm_tn", true, false, a, b, c, alpha, beta);
}

}  // namespace rnnkit

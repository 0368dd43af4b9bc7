// Matrix products through BLAS; see core/matrix.h. float goes to oneDNN's dnnl_sgemm, which
// picks its kernels from the CPU's feature flags (AVX2, AVX-512); double to OpenBLAS (CBLAS),
// whose Debian build picks kernels from the CPU model and falls back to SSE3 on models it does
// not know (measured on this project's machines: "Prescott", 19 GFLOP/s against oneDNN's ~150
// on one thread). float is what rnnkit computes in; double serves references and gradient
// checks, where being a second implementation matters more than speed.
#include "rnnkit/core/matrix.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <climits>

namespace rnnkit {
namespace {

std::string describe(const char* name, int64_t rows, int64_t cols, bool transposed) {
  return std::string(name) + (transposed ? "^T" : "") + " [" + std::to_string(rows) + "," + std::to_string(cols) + "]";
}

// Throws Error unless C [M, N] = op(A) [M, K] op(B) [K, N] and every extent fits BLAS's int.
template <class T>
void check_product(const char* op, const MatrixView<T>& c, const MatrixOperand<T>& a, const MatrixOperand<T>& b) {
  const bool fits = c.rows() <= INT_MAX && c.cols() <= INT_MAX && a.cols() <= INT_MAX && c.ld() <= INT_MAX &&
                    a.matrix.ld() <= INT_MAX && b.matrix.ld() <= INT_MAX;
  if (a.rows() != c.rows() || b.cols() != c.cols() || a.cols() != b.rows() || !fits) {
    throw Error(std::string(op) + ": shapes do not agree: C [" + std::to_string(c.rows()) + "," +
                std::to_string(c.cols()) + "] = " + describe("A", a.matrix.rows(), a.matrix.cols(), a.transposed) +
                " " + describe("B", b.matrix.rows(), b.matrix.cols(), b.transposed) +
                (fits ? "" : " (an extent is beyond 2^31 - 1)"));
  }
}

void product(const char* op, MatrixView<float> c, const MatrixOperand<float>& a, const MatrixOperand<float>& b,
             float alpha, float beta) {
  check_product(op, c, a, b);
  if (c.rows() == 0 || c.cols() == 0) return;
  const dnnl_status_t status =
      dnnl_sgemm(a.transposed ? 'T' : 'N', b.transposed ? 'T' : 'N', c.rows(), c.cols(), a.cols(), alpha,
                 a.matrix.data(), a.matrix.ld(), b.matrix.data(), b.matrix.ld(), beta, c.data(), c.ld());
  if (status != dnnl_success) {
    throw Error(std::string(op) + ": oneDNN's sgemm failed with status " + std::to_string(static_cast<int>(status)) +
                " for M=" + std::to_string(c.rows()) + " N=" + std::to_string(c.cols()) +
                " K=" + std::to_string(a.cols()));
  }
}

void product(const char* op, MatrixView<double> c, const MatrixOperand<double>& a, const MatrixOperand<double>& b,
             double alpha, double beta) {
  check_product(op, c, a, b);
  if (c.rows() == 0 || c.cols() == 0) return;
  cblas_dgemm(CblasRowMajor, a.transposed ? CblasTrans : CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans,
              static_cast<int>(c.rows()), static_cast<int>(c.cols()), static_cast<int>(a.cols()), alpha,
              a.matrix.data(), static_cast<int>(a.matrix.ld()), b.matrix.data(), static_cast<int>(b.matrix.ld()), beta,
              c.data(), static_cast<int>(c.ld()));
}

}  // namespace

void matmul(MatrixView<float> c, MatrixOperand<float> a, MatrixOperand<float> b) {
  product("matmul", c, a, b, 1.0f, 0.0f);
}
void matmul(MatrixView<double> c, MatrixOperand<double> a, MatrixOperand<double> b) {
  product("matmul", c, a, b, 1.0, 0.0);
}
void matmul_add(MatrixView<float> c, MatrixOperand<float> a, MatrixOperand<float> b) {
  product("matmul_add", c, a, b, 1.0f, 1.0f);
}
void matmul_add(MatrixView<double> c, MatrixOperand<double> a, MatrixOperand<double> b) {
  product("matmul_add", c, a, b, 1.0, 1.0);
}
void gemm(MatrixView<float> c, MatrixOperand<float> a, MatrixOperand<float> b, float alpha, float beta) {
  product("gemm", c, a, b, alpha, beta);
}
void gemm(MatrixView<double> c, MatrixOperand<double> a, MatrixOperand<double> b, double alpha, double beta) {
  product("gemm", c, a, b, alpha, beta);
}

}  // namespace rnnkit

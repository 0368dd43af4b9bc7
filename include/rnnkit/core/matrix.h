// Matrix views and matrix products whose calls read like their equations.
//
// A MatrixView is a row-major block of some buffer: rows x cols elements, row r starting at
// data + r * ld, where the leading dimension ld >= cols is the distance between rows (a block
// of columns of a wider matrix has ld > cols). Views never own memory.
//
// A product names its transposes on the operands, .t() marking one transposed:
//   matmul(xg, x, w_ih.t());           xg     = x W_ih^T
//   matmul_add(xg_t, h_prev, w_hh.t()); xg_t  += h_{t-1} W_hh^T
//   matmul_add(dw_ih, dxg.t(), x);      dW_ih += dxg^T x
// Shapes are checked on every call: C [M, N] = op(A) [M, K] op(B) [K, N]; a mismatch throws
// Error naming all three. matmul overwrites C (even where it held NaN); matmul_add adds to it.
// float products go to oneDNN's sgemm, double ones to OpenBLAS (core/matrix.cc).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "rnnkit/core/error.h"

namespace rnnkit {

template <class T>
class MatrixView {
 public:
  using value_type = std::remove_const_t<T>;

  MatrixView() = default;
  MatrixView(T* data, int64_t rows, int64_t cols) : MatrixView(data, rows, cols, cols) {}
  MatrixView(T* data, int64_t rows, int64_t cols, int64_t ld) : data_(data), rows_(rows), cols_(cols), ld_(ld) {
    if (rows < 0 || cols < 0 || ld < cols) {
      throw Error("matrix view: " + std::to_string(rows) + " x " + std::to_string(cols) + " with leading dimension " +
                  std::to_string(ld) + " (expected sizes >= 0 and ld >= cols)");
    }
  }
  // A view of const elements from a view of mutable ones.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  MatrixView(const MatrixView<U>& other)  // NOLINT(google-explicit-constructor): mutable to const, as T* to const T*
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), ld_(other.ld()) {}

  T* data() const { return data_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t ld() const { return ld_; }
  bool empty() const { return data_ == nullptr; }
  // The first element of row r.
  T* row(int64_t r) const { return data_ + r * ld_; }
  T& operator()(int64_t r, int64_t c) const { return data_[r * ld_ + c]; }

  // Rows [begin, begin + count) and columns [begin, begin + count), as views of the same memory.
  MatrixView row_range(int64_t begin, int64_t count) const {
    check_range("rows", begin, count, rows_);
    return MatrixView(data_ + begin * ld_, count, cols_, ld_);
  }
  MatrixView col_range(int64_t begin, int64_t count) const {
    check_range("columns", begin, count, cols_);
    return MatrixView(data_ + begin, rows_, count, ld_);
  }

  // This matrix as the transposed operand of a product.
  struct Transposed {
    MatrixView<const value_type> matrix;
  };
  Transposed t() const { return {*this}; }

 private:
  void check_range(const char* what, int64_t begin, int64_t count, int64_t extent) const {
    if (begin < 0 || count < 0 || begin + count > extent) {
      throw Error(std::string("matrix view: ") + what + " [" + std::to_string(begin) + ", " +
                  std::to_string(begin + count) + ") of a " + std::to_string(rows_) + " x " + std::to_string(cols_) +
                  " matrix");
    }
  }

  T* data_ = nullptr;
  int64_t rows_ = 0, cols_ = 0, ld_ = 0;
};

// An operand of a product: a matrix as it is, or transposed (from MatrixView::t()).
template <class T>
struct MatrixOperand {
  MatrixView<const T> matrix;
  bool transposed = false;

  MatrixOperand(MatrixView<const T> m) : matrix(m) {}  // NOLINT(google-explicit-constructor): A in matmul(C, A, B)
  MatrixOperand(MatrixView<T> m) : matrix(m) {}        // NOLINT(google-explicit-constructor)
  MatrixOperand(typename MatrixView<T>::Transposed m)  // NOLINT(google-explicit-constructor): A^T
      : matrix(m.matrix), transposed(true) {}
  MatrixOperand(typename MatrixView<const T>::Transposed m)  // NOLINT(google-explicit-constructor)
      : matrix(m.matrix), transposed(true) {}
  int64_t rows() const { return transposed ? matrix.cols() : matrix.rows(); }
  int64_t cols() const { return transposed ? matrix.rows() : matrix.cols(); }
};

// C = op(A) op(B)
void matmul(MatrixView<float> c, MatrixOperand<float> a, MatrixOperand<float> b);
void matmul(MatrixView<double> c, MatrixOperand<double> a, MatrixOperand<double> b);
// C += op(A) op(B)
void matmul_add(MatrixView<float> c, MatrixOperand<float> a, MatrixOperand<float> b);
void matmul_add(MatrixView<double> c, MatrixOperand<double> a, MatrixOperand<double> b);
// The general form: C = alpha op(A) op(B) + beta C (beta == 0 overwrites C).
void gemm(MatrixView<float> c, MatrixOperand<float> a, MatrixOperand<float> b, float alpha, float beta);
void gemm(MatrixView<double> c, MatrixOperand<double> a, MatrixOperand<double> b, double alpha, double beta);

}  // namespace rnnkit

// Tensors, shapes and the GEMM wrappers (against a naive triple loop).
#include "rnnkit/core/tensor.h"

#include <gtest/gtest.h>

#include <limits>

#include "rnnkit/core/blas.h"
#include "rnnkit/core/error.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {
namespace {

TEST(Shape, NumelAndPrinting) {
  EXPECT_EQ(shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({5, 0}), 0);
  EXPECT_EQ(shape_to_string({2, 5, 3}), "[2,5,3]");
  EXPECT_EQ(shape_to_string({}), "[]");
}

TEST(Shape, OverflowAndNegativeExtentsAreErrors) {
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_THROW(shape_numel({big, 3}), Error);
  EXPECT_THROW(shape_numel({2, -1}), Error);
}

TEST(Tensor, RowsViewIsContiguousAndChecked) {
  Tensor<float> t({6, 2});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i);
  TensorView<float> block = t.view().rows(2, 2);
  EXPECT_EQ(block.shape(), (Shape{2, 2}));
  EXPECT_EQ(block(0, 0), 4.0f);
  EXPECT_EQ(block(1, 1), 7.0f);
  block(0, 1) = -1.0f;
  EXPECT_EQ(t(2, 1), -1.0f);
  EXPECT_THROW(t.view().rows(5, 2), Error);
  EXPECT_THROW(t.view().reshaped({5, 2}), Error);
  EXPECT_THROW(Tensor<float>({2, 2}, std::vector<float>{1, 2, 3}), Error);
}

template <class T>
Tensor<T> random_matrix(int64_t rows, int64_t cols, const char* name) {
  RandomStream stream(7, name);
  Tensor<T> m({rows, cols});
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = static_cast<T>(stream.normal());
  return m;
}

// C = alpha * op(A) op(B) + beta * C, by definition.
template <class T>
Tensor<T> naive_gemm(const Tensor<T>& a, bool ta, const Tensor<T>& b, bool tb, const Tensor<T>& c0, T alpha, T beta) {
  const int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? b.dim(0) : b.dim(1);
  Tensor<T> c({m, n});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) s += double(ta ? a(p, i) : a(i, p)) * double(tb ? b(j, p) : b(p, j));
      c(i, j) = static_cast<T>(alpha * s + beta * c0(i, j));
    }
  }
  return c;
}

template <class T>
void check_all_gemms(double tolerance) {
  const int64_t m = 5, k = 7, n = 3;
  const T alpha = T(0.5), beta = T(2.0);
  const Tensor<T> a = random_matrix<T>(m, k, "a"), at = random_matrix<T>(k, m, "at");
  const Tensor<T> b = random_matrix<T>(k, n, "b"), bt = random_matrix<T>(n, k, "bt");
  const Tensor<T> c0 = random_matrix<T>(m, n, "c");
  struct Case {
    const Tensor<T>& a;
    bool ta;
    const Tensor<T>& b;
    bool tb;
  };
  for (const Case& cs : {Case{a, false, b, false}, Case{a, false, bt, true}, Case{at, true, b, false}}) {
    Tensor<T> c = c0;
    if (!cs.ta && !cs.tb) gemm_nn(cs.a.view(), cs.b.view(), c.view(), alpha, beta);
    if (!cs.ta && cs.tb) gemm_nt(cs.a.view(), cs.b.view(), c.view(), alpha, beta);
    if (cs.ta && !cs.tb) gemm_tn(cs.a.view(), cs.b.view(), c.view(), alpha, beta);
    const Tensor<T> expected = naive_gemm(cs.a, cs.ta, cs.b, cs.tb, c0, alpha, beta);
    for (int64_t i = 0; i < c.numel(); ++i) EXPECT_NEAR(c[i], expected[i], tolerance) << "element " << i;
  }
}

TEST(Blas, GemmVariantsMatchNaiveFloat) { check_all_gemms<float>(1e-5); }
TEST(Blas, GemmVariantsMatchNaiveDouble) { check_all_gemms<double>(1e-12); }

TEST(Blas, ShapeMismatchNamesBothShapes) {
  Tensor<float> a({2, 3}), b({4, 5}), c({2, 5});
  try {
    gemm_nn(a.view(), b.view(), c.view());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2,3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4,5]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rnnkit

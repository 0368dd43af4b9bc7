// Singular values by one-sided Jacobi: known spectra are recovered to rounding, small
// singular values keep their relative accuracy, and bad input is an error.
#include "rnnkit/analysis/singular_values.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/analysis/weight_stats.h"
#include "rnnkit/random/stream.h"
#include "test_support.h"

namespace rnnkit {
namespace {

// I - 2 u uᵀ / ‖u‖² for a random u: an orthogonal matrix.
Tensor<double> householder(int64_t n, RandomStream& random) {
  std::vector<double> u(static_cast<std::size_t>(n));
  double norm2 = 0;
  for (double& v : u) {
    v = random.normal();
    norm2 += v * v;
  }
  Tensor<double> q({n, n});
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) q[i * n + j] = (i == j ? 1.0 : 0.0) - 2 * u[i] * u[j] / norm2;
  }
  return q;
}

Tensor<double> matmul(const Tensor<double>& a, const Tensor<double>& b) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Tensor<double> c({m, n});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t p = 0; p < k; ++p) {
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += a[i * k + p] * b[p * n + j];
    }
  }
  return c;
}

// A = U diag(s) Vᵀ with U [m, m], V [n, n] orthogonal (products of two reflections).
Tensor<double> with_spectrum(int64_t m, int64_t n, const std::vector<double>& s, uint64_t seed) {
  RandomStream random(seed, "test/svd");
  const Tensor<double> u = matmul(householder(m, random), householder(m, random));
  const Tensor<double> v = matmul(householder(n, random), householder(n, random));
  Tensor<double> d({m, n});
  for (std::size_t i = 0; i < s.size(); ++i) d[static_cast<int64_t>(i) * n + static_cast<int64_t>(i)] = s[i];
  return matmul(matmul(u, d), transposed<double>(v.view()));
}

TEST(SingularValues, RecoversAKnownSpectrumOfTallAndWideMatrices) {
  const std::vector<double> s = {5.0, 2.5, 1.0, 0.3, 1e-6};
  for (const auto& [m, n] : {std::pair<int64_t, int64_t>{9, 5}, {5, 5}}) {
    const std::vector<double> got = singular_values(with_spectrum(m, n, s, 1).view());
    ASSERT_EQ(got.size(), s.size());
    for (std::size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(got[i], s[i], 1e-13 * s[0]) << m << "x" << n << " " << i;
    // The smallest keeps its relative accuracy (the eigenvalues of AᵀA would not: 1e-12 vs 25).
    EXPECT_NEAR(got.back() / s.back(), 1.0, 1e-6);
  }
  const Tensor<double> tall = with_spectrum(9, 5, s, 2);
  const std::vector<double> wide = singular_values(transposed<double>(tall.view()).view());
  const std::vector<double> direct = singular_values(tall.view());
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(wide[i], direct[i], 1e-13 * s[0]);
  EXPECT_NEAR(direct[0], largest_singular_value(tall.view()), 1e-12);
}

TEST(SingularValues, RankDeficientAndOrthogonalMatrices) {
  const std::vector<double> rank2 = singular_values(with_spectrum(6, 4, {3.0, 1.0, 0.0, 0.0}, 3).view());
  EXPECT_NEAR(rank2[1], 1.0, 1e-13);
  EXPECT_LT(rank2[2], 1e-14);
  RandomStream random(4, "test/svd");
  const std::vector<double> q = singular_values(householder(7, random).view());
  for (const double v : q) EXPECT_NEAR(v, 1.0, 1e-14);
  EXPECT_EQ(singular_values(Tensor<double>({3, 1}, {3.0, 0.0, 4.0}).view()), std::vector<double>{5.0});
}

TEST(SingularValues, RejectsNonMatricesAndNonFiniteValues) {
  EXPECT_NE(test::error_of([] {
              singular_values(Tensor<double>({2, 2, 2}).view());
            }).find("expected a matrix"),
            std::string::npos);
  Tensor<double> bad({2, 2}, {1.0, NAN, 0.5, 2.0});
  EXPECT_NE(test::error_of([&] { singular_values(bad.view()); }).find("NaN"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

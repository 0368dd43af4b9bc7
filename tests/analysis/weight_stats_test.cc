// Weight statistics: exact small cases and singular values known in closed form.
#include "rnnkit/analysis/weight_stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/init/initializer.h"

namespace rnnkit {
namespace {

TEST(WeightStats, MeanStdMinMax) {
  Tensor<double> t({4}, std::vector<double>{1, 2, 3, 6});
  const WeightStats s = compute_weight_stats(t.view());
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(3.5));
  EXPECT_EQ(s.min, 1.0);
  EXPECT_EQ(s.max, 6.0);
  EXPECT_FALSE(s.sigma_max.has_value());
}

TEST(WeightStats, LargestSingularValueOfKnownMatrices) {
  // diag(3, -5, 1) has sigma_max 5; a rank-one u v^T has ||u|| ||v||.
  Tensor<double> d({3, 3}, std::vector<double>{3, 0, 0, 0, -5, 0, 0, 0, 1});
  EXPECT_NEAR(largest_singular_value(d.view()), 5.0, 1e-8);
  Tensor<double> r({2, 3}, std::vector<double>{1, 2, 2, 2, 4, 4});  // (1,2)^T (1,2,2)
  EXPECT_NEAR(largest_singular_value(r.view()), std::sqrt(5.0) * 3.0, 1e-8);
  // Orthogonal times gain: every singular value is the gain.
  InitContext ctx{5, "q", {40, 25}, "", 0};
  const Tensor<double> q = initial_value(*parse_initializer("orthogonal(gain=1.7)"), ctx);
  EXPECT_NEAR(largest_singular_value(q.view()), 1.7, 1e-8);
  Tensor<double> zero({2, 2});
  EXPECT_EQ(largest_singular_value(zero.view()), 0.0);
}

TEST(WeightStats, LargestSingularValueWithATinyGap) {
  // A = U diag(s) V^T with orthogonal U [120,80], V [80,80] and s = 3, 2.9999, 2.9998, ... :
  // the case where power iteration crawls.
  const int64_t m = 120, n = 80;
  InitContext cu{1, "u", {m, n}, "", 0}, cv{2, "v", {n, n}, "", 0};
  const Tensor<double> u = initial_value(*parse_initializer("orthogonal"), cu);
  const Tensor<double> v = initial_value(*parse_initializer("orthogonal"), cv);
  Tensor<double> a({m, n});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double x = 0.0;
      for (int64_t k = 0; k < n; ++k) x += u(i, k) * (3.0 - 1e-4 * static_cast<double>(k)) * v(j, k);
      a(i, j) = x;
    }
  }
  EXPECT_NEAR(largest_singular_value(a.view()), 3.0, 1e-10);
}

TEST(WeightStats, GateBlocks) {
  Tensor<double> b({8}, std::vector<double>{0, 0, 1, 1, 0, 0, 0, 0});
  const std::vector<GateStats> gates = compute_gate_stats(b.view(), "ifgo");
  ASSERT_EQ(gates.size(), 4u);
  EXPECT_EQ(gates[1].gate, 'f');
  EXPECT_EQ(gates[1].stats.mean, 1.0);
  EXPECT_EQ(gates[0].stats.mean, 0.0);
  EXPECT_TRUE(compute_gate_stats(b.view(), "").empty());
  EXPECT_TRUE(compute_gate_stats(b.view(), "rzn").empty());  // 8 rows do not split in 3
}

}  // namespace
}  // namespace rnnkit

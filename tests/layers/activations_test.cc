// The float activations the cell kernels use (src/layers/activations.h) against double
// std::exp / std::tanh, over a dense sweep of their useful range.
#include "layers/activations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "test_support.h"

namespace rnnkit {
namespace {

// Error in units of float's last place at the exact value.
double ulps(float got, double exact) {
  // Below float's normal range (and at 0, where ilogb has no answer) the ulp is 2^-149.
  const int exponent = exact == 0.0 ? -126 : std::max(std::ilogb(static_cast<float>(exact)), -126);
  return std::abs(static_cast<double>(got) - exact) / std::ldexp(1.0, exponent - 23);
}

template <class Fn, class Ref>
double worst_ulps(Fn fn, Ref ref, float low, float high, int samples) {
  double worst = 0;
  for (int k = 0; k <= samples; ++k) {
    const float x = low + (high - low) * static_cast<float>(k) / static_cast<float>(samples);
    worst = test::nan_max(worst, ulps(fn(x), ref(static_cast<double>(x))));
  }
  return worst;
}

TEST(Activations, FloatExpWithinTwoUlps) {
  EXPECT_LE(worst_ulps(
                detail::exp_float, [](double x) { return std::exp(x); }, -87.0f, 88.0f, 2000000),
            2.0);
  EXPECT_EQ(detail::exp_float(0.0f), 1.0f);
}

TEST(Activations, FloatSigmoidWithinThreeUlps) {
  const auto fn = [](float x) { return detail::sigmoid(x); };
  EXPECT_LE(worst_ulps(
                fn, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, -30.0f, 30.0f, 2000000),
            3.0);
  EXPECT_EQ(detail::sigmoid(1000.0f), 1.0f);
  EXPECT_GE(detail::sigmoid(-1000.0f), 0.0f);
  EXPECT_LT(detail::sigmoid(-1000.0f), 1e-37f);
}

TEST(Activations, FloatTanhWithinThreeUlpsAndOdd) {
  const auto fn = [](float x) { return detail::tanh(x); };
  const auto ref = [](double x) { return std::tanh(x); };
  EXPECT_LE(worst_ulps(fn, ref, -10.0f, 10.0f, 2000000), 3.0);
  EXPECT_LE(worst_ulps(fn, ref, -0.3f, 0.3f, 2000000), 3.0);  // both sides of the 0.25 switch
  EXPECT_LE(worst_ulps(fn, ref, 1e-6f, 1e-3f, 100000), 3.0);  // tiny arguments keep relative accuracy
  EXPECT_EQ(detail::tanh(0.0f), 0.0f);
  EXPECT_EQ(detail::tanh(50.0f), 1.0f);
  for (float x : {0.1f, 0.25f, 0.7f, 3.0f}) EXPECT_EQ(detail::tanh(-x), -detail::tanh(x));
}

}  // namespace
}  // namespace rnnkit

// Learning-rate schedules from their formulas (schedule.h).
#include "rnnkit/train/schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.h"

namespace rnnkit {
namespace {

TEST(Schedule, ConstantStepCosineAndWarmup) {
  using Kind = LearningRateSchedule::Kind;
  EXPECT_EQ((LearningRateSchedule{}).rate(0.5, 1234), 0.5);
  const LearningRateSchedule step{.kind = Kind::step, .step_size = 10, .gamma = 0.5};
  EXPECT_DOUBLE_EQ(step.rate(1.0, 1), 1.0);
  EXPECT_DOUBLE_EQ(step.rate(1.0, 10), 1.0);
  EXPECT_DOUBLE_EQ(step.rate(1.0, 11), 0.5);
  EXPECT_DOUBLE_EQ(step.rate(1.0, 25), 0.25);
  const LearningRateSchedule cosine{.kind = Kind::cosine, .total_steps = 100, .min_rate = 0.1};
  EXPECT_DOUBLE_EQ(cosine.rate(1.1, 1), 1.1);
  EXPECT_NEAR(cosine.rate(1.1, 51), 0.6, 1e-15);  // half way: the mean of 1.1 and 0.1
  EXPECT_NEAR(cosine.rate(1.1, 101), 0.1, 1e-15);
  EXPECT_NEAR(cosine.rate(1.1, 500), 0.1, 1e-15);  // stays at the floor
  const LearningRateSchedule warm{.warmup_steps = 4};
  EXPECT_DOUBLE_EQ(warm.rate(2.0, 1), 0.5);
  EXPECT_DOUBLE_EQ(warm.rate(2.0, 3), 1.5);
  EXPECT_DOUBLE_EQ(warm.rate(2.0, 4), 2.0);
  EXPECT_DOUBLE_EQ(warm.rate(2.0, 9), 2.0);
  const LearningRateSchedule bad{.kind = Kind::cosine};
  EXPECT_NE(test::error_of([&] { bad.validate(); }).find("total_steps must be >= 1"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

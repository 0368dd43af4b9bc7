// Learning-rate schedules; the formulas are in schedule.h.
#include "rnnkit/train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "rnnkit/core/error.h"

namespace rnnkit {

void LearningRateSchedule::validate() const {
  if (kind == Kind::step && (step_size < 1 || !(gamma > 0))) {
    throw Error("learning-rate schedule 'step': step_size must be >= 1 and gamma > 0, got " +
                std::to_string(step_size) + " and " + std::to_string(gamma));
  }
  if (kind == Kind::cosine && total_steps < 1) {
    throw Error("learning-rate schedule 'cosine': total_steps must be >= 1, got " + std::to_string(total_steps));
  }
  if (warmup_steps < 0)
    throw Error("learning-rate schedule: warmup_steps must be >= 0, got " + std::to_string(warmup_steps));
}

double LearningRateSchedule::rate(double base_rate, int64_t step) const {
  const int64_t t = std::max<int64_t>(step, 1);
  double lr = base_rate;
  switch (kind) {
    case Kind::constant: break;
    case Kind::step: lr = base_rate * std::pow(gamma, static_cast<double>((t - 1) / step_size)); break;
    case Kind::cosine: {
      const double progress = static_cast<double>(std::min(t - 1, total_steps)) / static_cast<double>(total_steps);
      lr = min_rate + (base_rate - min_rate) * (1 + std::cos(std::numbers::pi * progress)) / 2;
      break;
    }
  }
  if (warmup_steps > 0 && t < warmup_steps) lr *= static_cast<double>(t) / static_cast<double>(warmup_steps);
  return lr;
}

}  // namespace rnnkit

// Learning-rate schedules: the rate for step t (t = 1, 2, ... as Optimizer::steps() counts
// after the step), from the base rate lr0.
//   constant:       lr0
//   step:           lr0 * gamma^floor((t - 1) / step_size)
//   cosine:         lr_min + (lr0 - lr_min) * (1 + cos(pi * min(t - 1, total) / total)) / 2
//   linear warm-up: lr0 * min(1, t / warmup) applied on top of any of the above
//                   (warm-up steps 1..warmup rise linearly to the schedule's rate)
#pragma once

#include <cstdint>
#include <string>

namespace rnnkit {

struct LearningRateSchedule {
  enum class Kind { constant, step, cosine };
  Kind kind = Kind::constant;
  int64_t step_size = 1000;  // step
  double gamma = 0.1;        // step
  int64_t total_steps = 0;   // cosine: steps to reach lr_min
  double min_rate = 0.0;     // cosine
  int64_t warmup_steps = 0;  // 0: no warm-up

  // Throws Error naming a field out of range (step_size < 1, gamma <= 0, cosine without
  // total_steps, negative warm-up).
  void validate() const;
  double rate(double base_rate, int64_t step) const;
};

}  // namespace rnnkit

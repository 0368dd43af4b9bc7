// The adding problem; see tasks/adding.h.
#include "rnnkit/tasks/adding.h"

#include <algorithm>

#include "rnnkit/core/error.h"

namespace rnnkit {

AddingBatch adding_batch(int64_t steps, int64_t batch, RandomStream& random) {
  if (steps < 2 || batch < 1) {
    throw Error("adding problem: T is " + std::to_string(steps) + " and B " + std::to_string(batch) +
                ", expected T >= 2 and B >= 1");
  }
  AddingBatch out{Tensor<float>({steps, batch, 2}), Tensor<float>({batch, 1})};
  const int64_t half = steps / 2;
  for (int64_t b = 0; b < batch; ++b) {
    // One mark in [0, half), one in [half, T).
    const int64_t first = std::min(half - 1, static_cast<int64_t>(random.uniform() * static_cast<double>(half)));
    const int64_t second =
        std::min(steps - 1, half + static_cast<int64_t>(random.uniform() * static_cast<double>(steps - half)));
    double sum = 0;
    for (int64_t t = 0; t < steps; ++t) {
      const float value = static_cast<float>(random.uniform());
      out.input[(t * batch + b) * 2] = value;
      if (t == first || t == second) {
        out.input[(t * batch + b) * 2 + 1] = 1.0f;
        sum += value;
      }
    }
    out.target[b] = static_cast<float>(sum);
  }
  return out;
}

}  // namespace rnnkit

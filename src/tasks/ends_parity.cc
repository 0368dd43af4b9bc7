// Ends parity; see tasks/ends_parity.h.
#include "rnnkit/tasks/ends_parity.h"

#include "rnnkit/core/error.h"

namespace rnnkit {

EndsParityBatch ends_parity_batch(int64_t steps, int64_t batch, RandomStream& random) {
  if (steps < 2 || batch < 1) {
    throw Error("ends parity: T is " + std::to_string(steps) + " and B " + std::to_string(batch) +
                ", expected T >= 2 and B >= 1");
  }
  EndsParityBatch out{Tensor<float>({steps, batch, 1}), std::vector<int64_t>(static_cast<std::size_t>(batch))};
  for (int64_t i = 0; i < out.input.numel(); ++i) out.input[i] = random.uniform() < 0.5 ? -1.0f : 1.0f;
  for (int64_t b = 0; b < batch; ++b) {
    out.labels[static_cast<std::size_t>(b)] = out.input[b] != out.input[(steps - 1) * batch + b] ? 1 : 0;
  }
  return out;
}

}  // namespace rnnkit

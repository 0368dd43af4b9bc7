// Ends parity: a sequence classification task made for bidirectional models, generated in
// process.
//   input [T, B, 1]: independent random bits, written as -1 and +1
//   label [B]:       1 if the first and the last bit differ, else 0
// The label needs both ends at once. A one-directional model must carry the first bit
// across all T steps to the end; a bidirectional one has it fresh in the reverse
// direction's final state (its output at t = 0) and the last bit fresh in the forward
// direction's, so it learns the task quickly for any T. Baseline (chance): cross-entropy
// ln 2, accuracy 1/2.
#pragma once

#include <cstdint>
#include <vector>

#include "rnnkit/core/tensor.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {

struct EndsParityBatch {
  Tensor<float> input;          // [T, B, 1]
  std::vector<int64_t> labels;  // B values in {0, 1}
};

// Throws Error if steps < 2 or batch < 1.
EndsParityBatch ends_parity_batch(int64_t steps, int64_t batch, RandomStream& random);

}  // namespace rnnkit

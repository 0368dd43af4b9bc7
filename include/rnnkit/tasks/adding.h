// The adding problem (Hochreiter and Schmidhuber 1997, in the form of Le, Jaitly and Hinton
// 2015), generated in process.
//   input [T, B, 2]: channel 0 holds values drawn from U(0, 1); channel 1 is 0 except at two
//                    positions, one in each half of the sequence, where it is 1
//   target [B, 1]:   the sum of the two marked values
// A model that always answers 1 (the mean target) has MSE 1/6, the variance of the sum of
// two U(0, 1) values: the baseline a model must beat to show it remembers.
#pragma once

#include "rnnkit/core/tensor.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {

inline constexpr double kAddingBaselineMse = 1.0 / 6.0;

struct AddingBatch {
  Tensor<float> input;   // [T, B, 2]
  Tensor<float> target;  // [B, 1]
};

// Throws Error if steps < 2 or batch < 1.
AddingBatch adding_batch(int64_t steps, int64_t batch, RandomStream& random);

}  // namespace rnnkit

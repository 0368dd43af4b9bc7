// The forward pass every probe measurement starts from: the model at initialization run on
// random inputs one step at a time, keeping each step's state and gate activations.
//
//   input  x_t ~ N(0, 1), [T, B, I], from the stream (seed, "probe/input")
//   h[t]   [L, B, R], the state of every layer after step t (h[0] = 0), t = 0..T
//   c[t]   [L, B, H], LSTM cell states likewise; empty for other cells
//   gates[t-1]  [L, B, G*H], the gate activations at step t (LSTM i, f, g, o; GRU r, z, n);
//          empty for RNN cells, whose activation is the state itself
// Unidirectional models only (a reverse direction has no state after step t of a forward
// run); the layer runs in inference mode (no dropout).
#pragma once

#include <cstdint>
#include <vector>

#include "rnnkit/core/tensor.h"
#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

struct ProbeTrajectory {
  Tensor<double> input;
  std::vector<Tensor<double>> h, c, gates;

  int64_t steps() const { return input.shape()[0]; }
  int64_t batch() const { return input.shape()[1]; }
  // Steps [begin, begin + count) of the input, [count, B, I].
  TensorView<const double> input_steps(int64_t begin, int64_t count) const;
};

// Throws Error for a bidirectional layer, steps < 1 or batch < 1.
ProbeTrajectory record_probe_trajectory(RecurrentLayer<double>& layer, int64_t steps, int64_t batch, uint64_t seed);

}  // namespace rnnkit

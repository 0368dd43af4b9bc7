// Gradient flow back through time at initialization: how much of a loss at the last step
// reaches the state of each earlier step.
//
// Inputs x_t ~ N(0, 1) [T, B, I] from the stream (seed, "probe/input"); the loss depends on
// the last step only: L = sum_b <u_b, h_T[b]> over the last layer's final output, u_b unit
// vectors from (seed, "probe/loss"). For every step t, ‖∂L/∂h_t‖ is the Frobenius norm over
// the batch and every layer's hidden state at t (an LSTM's cell state is not included).
// It is computed exactly, with the layer's own BPTT: run the steps 1..t to get the state at
// t, then the steps t+1..T from that state, and backpropagate L to that initial state; so
// it costs O(T^2) steps (T = 200, H = 128: well under a second).
//   norm[d] = ‖∂L/∂h_{T-d}‖ for the distance d = 0..T  (norm[0] = ‖u‖ = sqrt(B))
//   decay_per_step = exp(slope) of the least-squares line through (d, ln norm[d]), d >= 1
//   with norm > 0: below 1 the gradient vanishes geometrically, above 1 it explodes.
// Unidirectional models only: a backward direction has no "state at step t" that a loss at
// the last step flows through.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

struct GradientFlow {
  std::vector<double> norm;  // by distance from the last step, 0..T
  double decay_per_step = 0.0;
};

// `store` must be float64 and hold the layer's variables under `scope`. Throws Error for a
// bidirectional spec, steps < 1 or batch < 1.
GradientFlow measure_gradient_flow(VariableStore& store, const std::string& scope, const RecurrentSpec& spec,
                                   const RecurrentLayerOptions& options, int64_t steps, int64_t batch, uint64_t seed);

}  // namespace rnnkit

// Gradient flow back through time at initialization: how much of a loss at the last step
// reaches the state of each earlier step.
//
// On the probe's trajectory (probe_trajectory.h: inputs x_t ~ N(0, 1)), the loss depends on
// the last step only: L = sum_b <u_b, h_T[b]> over the last layer's final output, u_b unit
// vectors from (seed, "probe/loss"). For every step t, ‖∂L/∂h_t‖ is the Frobenius norm over
// the batch and every layer's hidden state at t (an LSTM's cell state is not included).
// It is computed exactly with the layer's own BPTT, one step at a time from the last: rerun
// step t from the trajectory's state at t-1 and backpropagate the gradient with respect to
// the state at t (h, and an LSTM's c) to the state at t-1. O(T) steps in all.
//   norm[d] = ‖∂L/∂h_{T-d}‖ for the distance d = 0..T  (norm[0] = ‖u‖ = sqrt(B))
//   decay_per_step = exp(slope) of the least-squares line through (d, ln norm[d]), d >= 1
//   with norm > 0: below 1 the gradient vanishes geometrically, above 1 it explodes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnnkit/analysis/probe_trajectory.h"
#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

struct GradientFlow {
  std::vector<double> norm;  // by distance from the last step, 0..T
  double decay_per_step = 0.0;
};

// `trajectory` must come from this layer (record_probe_trajectory). Parameter gradients the
// backward passes accumulate are zeroed in the layer's store afterwards.
GradientFlow measure_gradient_flow(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, uint64_t seed);

}  // namespace rnnkit

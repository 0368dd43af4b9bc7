// Gradient flow back through time at initialization: how much of a loss at the last step
// reaches each earlier step, as two different derivatives.
//
// The loss. On the probe's trajectory (probe_trajectory.h: inputs x_t ~ N(0, 1), zero initial
// state) it depends on the last step only,
//   L = sum_b <u_b, h^L_T[b]>,
// the last layer's state at step T, u_b a unit vector per sequence drawn from
// (seed, "probe/loss") (normal entries, then divided by their norm).
//
// Notation. Layers k = 1..L (layer k's variables are l{k-1}; arrays below index it k-1). One
// step of the stack, s_{t-1} -> s_t given x_t, computes bottom-up
//   (h^k_t, c^k_t) = cell_k(h^{k-1}_t, h^k_{t-1}, c^k_{t-1}),   h^0_t = x_t,
// (c only for an LSTM; R = P with a projection, else H) and its state is
//   s_t = (h^1_t, c^1_t, ..., h^L_t, c^L_t).
//
// (a) The state-space gradient: L as a function of the state s_t, every component of s_t an
//     independent variable (the view of step_jacobian.h, whose J_t = ∂s_t/∂s_{t-1} it obeys:
//     g_{t-1} = J_tᵀ g_t):
//       g_t = ∂L/∂s_t,   g_T = (0, 0, ..., u, 0),   g_{t-1} = J_tᵀ g_t.
//     Its block ∂L/∂h^k_t changes h^k_t with every other component of s_t held fixed, the
//     upper layers' h^{k+1..L}_t and c^{k+1..L}_t included: it counts h^k_t's paths through
//     step t+1 onward only, not its path through layers k+1..L within step t.
//       state_space_norm[d]          = ‖(∂L/∂h^1_{T-d}, ..., ∂L/∂h^L_{T-d})‖  (all layers together)
//       state_space_layer_norm[k][d] = ‖∂L/∂h^k_{T-d}‖
//     (Frobenius norms over the batch; the c blocks are not in these norms.)
// (b) The total derivative: h^k_t as an intermediate of the forward pass, a perturbation of it
//     propagated through everything downstream, layers k+1..L at the same step t included:
//       dL/dh^L_t = ∂L/∂h^L_t
//       dL/dh^k_t = ∂L/∂h^k_t + (∂(h^{k+1}_t, c^{k+1}_t)/∂h^k_t)ᵀ (dL/dh^{k+1}_t, ∂L/∂c^{k+1}_t),  k < L
//     (c^{k+1}_t's uses past step t are its state-space block; its use in h^{k+1}_t is inside
//     the Jacobian of cell_{k+1}). At t = 0 the initial states are inputs, not computed from a
//     lower layer: dL/dh^k_0 = ∂L/∂h^k_0.
//       total_norm[k][d] = ‖dL/dh^k_{T-d}‖
//     This is the gradient with respect to layer k's output that backpropagation through the
//     whole unrolled stack holds at step t; at d = 0 it is nonzero for k < L too.
// For one layer the two are the same number (computed once, bit for bit equal).
//
// Both are exact, with the layer's own BPTT, one step at a time from the last: rerun step t
// from the trajectory's state at t-1 and backpropagate g_t to g_{t-1}; the total derivatives at
// t take one more step of each upper layer alone (k+1 for k = L-1..1), fed h^k_t. O(L T) steps.
//   decay_per_step (of a norm by distance) = exp(slope) of the least-squares line through
//   (d, ln norm[d]), d >= 1 with norm > 0: below 1 the gradient vanishes geometrically, above
//   1 it explodes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rnnkit/analysis/probe_trajectory.h"
#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

// The gradients at step t = T - d, for every sequence.
struct ProbeStateGradient {
  int64_t distance = 0;    // d
  Tensor<double> state_h;  // ∂L/∂h^k_t  [L, B, R]  (a)
  Tensor<double> state_c;  // ∂L/∂c^k_t  [L, B, H]  (a), LSTM only; empty otherwise
  Tensor<double> total_h;  // dL/dh^k_t  [L, B, R]  (b)
};

struct GradientFlow {
  std::vector<double> state_space_norm;                     // (a), all layers' h blocks, by distance 0..T
  double state_space_decay_per_step = 0.0;                  // of state_space_norm
  std::vector<std::vector<double>> state_space_layer_norm;  // (a), [L][T+1]
  std::vector<double> state_space_layer_decay_per_step;     // of state_space_layer_norm[k], [L]
  std::vector<std::vector<double>> total_norm;              // (b), [L][T+1]
  std::vector<double> total_decay_per_step;                 // of total_norm[k], [L]
};

// Calls `visit` with the gradients at d = 0, 1, ..., T in that order. `trajectory` must come
// from this layer (record_probe_trajectory). Parameter gradients the backward passes
// accumulate are zeroed in the layer's store afterwards.
void visit_gradient_flow(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, uint64_t seed,
                         const std::function<void(const ProbeStateGradient&)>& visit);

// The norms of visit_gradient_flow's gradients.
GradientFlow measure_gradient_flow(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, uint64_t seed);

}  // namespace rnnkit

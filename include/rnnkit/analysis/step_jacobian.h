// The step Jacobian: how one step of the recurrence maps a small change of the state.
//
// The state of an L-layer model after step t is s_t = (h^1_t, ..., h^L_t), and for an LSTM
// also (c^1_t, ..., c^L_t): n = L*R (+ L*H) numbers per sequence. One step maps
// s_{t-1} -> s_t given x_t, and its Jacobian J_t = ∂s_t/∂s_{t-1} [n, n] governs gradient
// flow: a gradient at step t reaches step t-1 as J_tᵀ g, so ‖J_t‖₂ above 1 along a trajectory
// lets it grow, below 1 shrinks it (for a tanh RNN, J_t = diag(1 - h_t²) W_hh).
// J_t is computed exactly, row by row in one pass: the step runs on n copies of the
// sequence's state and backward seeds copy j with the unit vector e_j, so copy j's state
// gradient is row j of J_t. Its spectral norm is the largest singular value
// (analysis/weight_stats.h).
#pragma once

#include <cstdint>
#include <vector>

#include "rnnkit/analysis/probe_trajectory.h"
#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

// J_t [n, n] of sequence `sequence` at step t in 1..T of the trajectory (recorded from this
// layer). Rows and columns are ordered h^1..h^L, then c^1..c^L. Throws Error for t or
// sequence out of range.
Tensor<double> step_jacobian(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, int64_t t,
                             int64_t sequence);

// ‖J_t‖₂ for t = 1..T (index t-1) and each of the first `sequences` sequences: [T][sequences].
std::vector<std::vector<double>> step_jacobian_norms(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory,
                                                     int64_t sequences);

}  // namespace rnnkit

// rnnkit probe: a recurrent model before training, measured on random inputs. One call
// records the trajectory (probe_trajectory.h) and takes every measurement from it:
//   gradient_flow   for a loss at the last step, by distance d: the state-space gradient
//                   ‖∂L/∂h_{T-d}‖ (all layers' blocks, and each layer's) and each layer's total
//                   derivative ‖dL/dh^k_{T-d}‖ (gradient_flow.h defines both)
//   jacobian_norms  ‖∂s_t/∂s_{t-1}‖₂ along the trajectory, per sequence (step_jacobian.h)
//   health          state mean and std, saturated gate fractions per step (forward_health.h)
//   spectra         sigma_max and sigma_min of every recurrent gate block (recurrent_spectrum.h)
// Everything is computed in float64 and is a function of the weights, the seed and the
// options alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnnkit/analysis/forward_health.h"
#include "rnnkit/analysis/gradient_flow.h"
#include "rnnkit/analysis/recurrent_spectrum.h"
#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

struct ProbeOptions {
  int64_t steps = 100;             // T
  int64_t batch = 16;              // B random sequences
  uint64_t seed = 1;               // of the inputs and the loss directions
  int64_t jacobian_sequences = 4;  // step Jacobians of the first min(this, B) sequences
};

struct ProbeResult {
  GradientFlow gradient_flow;
  std::vector<std::vector<double>> jacobian_norms;  // [T][sequences], step t at index t-1
  ForwardHealth health;
  std::vector<BlockSpectrum> spectra;
};

// `store` must be float64 and hold the layer's variables under `scope`. Throws Error for a
// bidirectional spec, steps < 1 or batch < 1, or a missing variable.
ProbeResult probe_recurrent(VariableStore& store, const std::string& scope, const RecurrentSpec& spec,
                            const RecurrentLayerOptions& options, const ProbeOptions& probe);

}  // namespace rnnkit

// Forward health along the probe's trajectory: are the units alive, and are the gates
// saturated (a saturated sigmoid or tanh passes almost no gradient)?
//
// Per layer and step t = 1..T, over the batch and the layer's units:
//   state_mean[t-1], state_std[t-1]   of h_t (population std)
//   saturation: the fraction of entries that are saturated, per gate or activation:
//     LSTM  i, f, o: sigmoid > 0.99 or < 0.01;  g: |tanh| > 0.99;  tanh(c): |tanh(c_t)| > 0.99
//     GRU   r, z: sigmoid > 0.99 or < 0.01;     n: |tanh| > 0.99
//     RNN   tanh: |h_t| > 0.99;  relu: h_t = 0 (a unit that passes no gradient this step)
//   with a relu cell activation (options.activation), g, n and the LSTM's act(c) count as
//   saturated where they are 0; hard_sigmoid gates by the sigmoid rule (they saturate exactly).
#pragma once

#include <string>
#include <vector>

#include "rnnkit/analysis/probe_trajectory.h"
#include "rnnkit/layers/cell_options.h"
#include "rnnkit/layers/recurrent_spec.h"

namespace rnnkit {

struct Saturation {
  std::string name;              // "i", "f", "g", "o", "tanh(c)", "r", "z", "n", "h"
  std::string rule;              // e.g. "sigmoid > 0.99 or < 0.01"
  std::vector<double> fraction;  // by step 1..T
};

struct LayerHealth {
  std::vector<double> state_mean, state_std;  // by step 1..T
  std::vector<Saturation> saturation;
};

struct ForwardHealth {
  std::vector<LayerHealth> layers;
};

ForwardHealth measure_forward_health(const RecurrentSpec& spec, const ProbeTrajectory& trajectory,
                                     const CellOptions& options = {});

}  // namespace rnnkit

// The probe's forward pass; see analysis/probe_trajectory.h.
#include "rnnkit/analysis/probe_trajectory.h"

#include <algorithm>

#include "rnnkit/core/error.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {

TensorView<const double> ProbeTrajectory::input_steps(int64_t begin, int64_t count) const {
  const int64_t step_size = batch() * input.shape()[2];
  return TensorView<const double>(input.storage().data() + begin * step_size, {count, batch(), input.shape()[2]});
}

ProbeTrajectory record_probe_trajectory(RecurrentLayer<double>& layer, int64_t steps, int64_t batch, uint64_t seed) {
  const RecurrentSpec& spec = layer.spec();
  if (spec.bidirectional) {
    throw Error(
        "probe: the model is bidirectional; a state after step t exists only for a forward run "
        "(probe a unidirectional model)");
  }
  if (steps < 1 || batch < 1) {
    throw Error("probe: T is " + std::to_string(steps) + " and B " + std::to_string(batch) + ", expected >= 1");
  }
  layer.set_training(false);
  const int64_t L = spec.num_layers;
  const bool lstm = spec.cell == CellKind::lstm;
  const bool gated = lstm || spec.cell == CellKind::gru;
  ProbeTrajectory p;
  p.input = Tensor<double>({steps, batch, spec.input_size});
  RandomStream input_stream(seed, "probe/input");
  for (double& v : p.input.storage()) v = input_stream.normal();
  p.h.push_back(Tensor<double>({L, batch, spec.recurrent_width()}));
  if (lstm) p.c.push_back(Tensor<double>({L, batch, spec.hidden_size}));
  for (int64_t t = 1; t <= steps; ++t) {
    RecurrentResult<double> r = layer.forward(p.input_steps(t - 1, 1), {}, p.h.back().view(),
                                              lstm ? p.c.back().view() : TensorView<const double>{});
    p.h.push_back(std::move(r.h_n));
    if (lstm) p.c.push_back(std::move(r.c_n));
    if (gated) {
      const int64_t width = gate_count(spec.cell) * spec.hidden_size;
      Tensor<double> g({L, batch, width});
      for (int64_t l = 0; l < L; ++l) {
        const TensorView<const double> a = layer.gate_activations(l);
        std::copy(a.data(), a.data() + batch * width, g.data() + l * batch * width);
      }
      p.gates.push_back(std::move(g));
    }
  }
  return p;
}

}  // namespace rnnkit

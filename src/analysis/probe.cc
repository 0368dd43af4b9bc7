// The probe's measurements together; see analysis/probe.h.
#include "rnnkit/analysis/probe.h"

#include "rnnkit/analysis/probe_trajectory.h"
#include "rnnkit/analysis/step_jacobian.h"

namespace rnnkit {

ProbeResult probe_recurrent(VariableStore& store, const std::string& scope, const RecurrentSpec& spec,
                            const RecurrentLayerOptions& options, const ProbeOptions& probe) {
  RecurrentLayer<double> layer(store, scope, spec, options);
  const ProbeTrajectory trajectory = record_probe_trajectory(layer, probe.steps, probe.batch, probe.seed);
  ProbeResult result;
  result.gradient_flow = measure_gradient_flow(layer, trajectory, probe.seed);
  result.jacobian_norms = step_jacobian_norms(layer, trajectory, probe.jacobian_sequences);
  result.health = measure_forward_health(spec, trajectory, options.cell);
  result.spectra = recurrent_spectra(store, scope, spec);
  return result;
}

}  // namespace rnnkit

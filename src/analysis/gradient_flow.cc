// Gradient flow back through time; see analysis/gradient_flow.h.
#include "rnnkit/analysis/gradient_flow.h"

#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {
namespace {

double frobenius(const Tensor<double>& t) {
  double s = 0;
  for (const double v : t.storage()) s += v * v;
  return std::sqrt(s);
}

// exp of the least-squares slope of ln norm[d] against d over d >= 1 with a finite, positive norm.
double decay_rate(const std::vector<double>& norm) {
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t d = 1; d < norm.size(); ++d) {
    if (!(norm[d] > 0) || !std::isfinite(norm[d])) continue;
    const double x = static_cast<double>(d), y = std::log(norm[d]);
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  return n >= 2 ? std::exp((n * sxy - sx * sy) / (n * sxx - sx * sx)) : 0.0;
}

}  // namespace

GradientFlow measure_gradient_flow(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, uint64_t seed) {
  const RecurrentSpec& spec = layer.spec();
  const int64_t steps = trajectory.steps(), batch = trajectory.batch();
  const int64_t L = spec.num_layers, R = spec.recurrent_width();
  const bool lstm = spec.cell == CellKind::lstm;
  // u_b: a unit vector per sequence, placed in the last layer's rows of d_h_n.
  Tensor<double> d_h_n({L, batch, R});
  RandomStream loss_stream(seed, "probe/loss");
  for (int64_t b = 0; b < batch; ++b) {
    double* u = d_h_n.data() + ((L - 1) * batch + b) * R;
    double n = 0;
    for (int64_t j = 0; j < R; ++j) {
      u[j] = loss_stream.normal();
      n += u[j] * u[j];
    }
    for (int64_t j = 0; j < R; ++j) u[j] /= std::sqrt(n);
  }
  GradientFlow flow;
  flow.norm.assign(static_cast<std::size_t>(steps + 1), 0.0);
  flow.norm[0] = frobenius(d_h_n);
  // Back one step at a time: rerun step t from the state at t-1 and backpropagate the
  // gradient at t (h and, for an LSTM, c) to the state at t-1.
  Tensor<double> d_c_n;
  if (lstm) d_c_n = Tensor<double>({L, batch, spec.hidden_size});
  const Tensor<double> d_output({1, batch, layer.output_size()});
  for (int64_t t = steps; t >= 1; --t) {
    const auto previous = static_cast<std::size_t>(t - 1);
    layer.forward(trajectory.input_steps(t - 1, 1), {}, trajectory.h[previous].view(),
                  lstm ? trajectory.c[previous].view() : TensorView<const double>{});
    RecurrentGradients<double> g =
        layer.backward(d_output.view(), d_h_n.view(), lstm ? d_c_n.view() : TensorView<const double>{});
    d_h_n = std::move(g.d_h0);
    if (lstm) d_c_n = std::move(g.d_c0);
    flow.norm[static_cast<std::size_t>(steps - t + 1)] = frobenius(d_h_n);
  }
  layer.store().zero_grad();  // backward accumulated parameter gradients nobody asked for
  flow.decay_per_step = decay_rate(flow.norm);
  return flow;
}

}  // namespace rnnkit

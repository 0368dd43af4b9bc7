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

}  // namespace

GradientFlow measure_gradient_flow(VariableStore& store, const std::string& scope, const RecurrentSpec& spec,
                                   const RecurrentLayerOptions& options, int64_t steps, int64_t batch, uint64_t seed) {
  if (spec.bidirectional) {
    throw Error("gradient flow: the model is bidirectional; a loss at the last step flows back through a state at "
                "each step only in one direction (probe a unidirectional model)");
  }
  if (steps < 1 || batch < 1) {
    throw Error("gradient flow: T is " + std::to_string(steps) + " and B " + std::to_string(batch) + ", expected >= 1");
  }
  RecurrentLayer<double> layer(store, scope, spec, options);
  const int64_t I = spec.input_size, R = spec.recurrent_width(), L = spec.num_layers;
  const bool lstm = spec.cell == CellKind::lstm;
  Tensor<double> x({steps, batch, I});
  RandomStream input_stream(seed, "probe/input");
  for (double& v : x.storage()) v = input_stream.normal();
  // u_b: a unit vector per sequence, placed in the last layer's rows of d_h_n.
  Tensor<double> d_h_n({L, batch, R});
  RandomStream loss_stream(seed, "probe/loss");
  for (int64_t b = 0; b < batch; ++b) {
    double* u = d_h_n.storage().data() + ((L - 1) * batch + b) * R;
    double n = 0;
    for (int64_t j = 0; j < R; ++j) {
      u[j] = loss_stream.normal();
      n += u[j] * u[j];
    }
    for (int64_t j = 0; j < R; ++j) u[j] /= std::sqrt(n);
  }
  const int64_t step_size = batch * I;
  auto slice = [&](int64_t begin, int64_t count) {
    return TensorView<const double>(x.storage().data() + begin * step_size, {count, batch, I});
  };
  // The state after each step t = 0..T-1 (t = 0: zeros), one step at a time.
  std::vector<Tensor<double>> h(static_cast<std::size_t>(steps)), c(static_cast<std::size_t>(steps));
  h[0] = Tensor<double>({L, batch, R});
  if (lstm) c[0] = Tensor<double>({L, batch, spec.hidden_size});
  for (int64_t t = 1; t < steps; ++t) {
    RecurrentResult<double> r = layer.forward(slice(t - 1, 1), {}, h[static_cast<std::size_t>(t - 1)].view(),
                                              lstm ? c[static_cast<std::size_t>(t - 1)].view() : TensorView<const double>{});
    h[static_cast<std::size_t>(t)] = std::move(r.h_n);
    if (lstm) c[static_cast<std::size_t>(t)] = std::move(r.c_n);
  }
  GradientFlow flow;
  flow.norm.assign(static_cast<std::size_t>(steps + 1), 0.0);
  flow.norm[0] = frobenius(d_h_n);
  for (int64_t t = 0; t < steps; ++t) {
    const auto tt = static_cast<std::size_t>(t);
    layer.forward(slice(t, steps - t), {}, h[tt].view(), lstm ? c[tt].view() : TensorView<const double>{});
    const Tensor<double> d_output({steps - t, batch, layer.output_size()});
    const RecurrentGradients<double> g = layer.backward(d_output.view(), d_h_n.view());
    flow.norm[static_cast<std::size_t>(steps - t)] = frobenius(g.d_h0);
  }
  store.zero_grad();  // backward accumulated parameter gradients nobody asked for
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t d = 1; d < flow.norm.size(); ++d) {
    if (!(flow.norm[d] > 0) || !std::isfinite(flow.norm[d])) continue;
    const double xd = static_cast<double>(d), y = std::log(flow.norm[d]);
    n += 1;
    sx += xd;
    sy += y;
    sxx += xd * xd;
    sxy += xd * y;
  }
  flow.decay_per_step = n >= 2 ? std::exp((n * sxy - sx * sy) / (n * sxx - sx * sx)) : 0.0;
  return flow;
}

}  // namespace rnnkit

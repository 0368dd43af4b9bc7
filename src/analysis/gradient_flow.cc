// Gradient flow back through time; see analysis/gradient_flow.h.
#include "rnnkit/analysis/gradient_flow.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "rnnkit/core/error.h"
#include "rnnkit/init/initializer.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {
namespace {

double frobenius(const double* data, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += data[i] * data[i];
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

// Layers 2..L of the stack, each alone as a one-layer model over a copy of its variables: one
// step of layer k+1 fed h^k_t is what carries dL/dh^{k+1}_t down to dL/dh^k_t. upper[k] is
// layer k+1 (0-based: the stack's layer index k+1, variables l{k+1}).
class UpperLayers {
 public:
  explicit UpperLayers(const RecurrentLayer<double>& stack) : store_(0, DType::f64) {
    const RecurrentSpec& spec = stack.spec();
    RecurrentSpec one = spec;
    one.num_layers = 1;
    one.input_size = spec.recurrent_width();
    RecurrentLayerOptions options = stack.options();
    options.dropout = 0;  // inference, as the stack runs
    const std::string& scope = stack.scope();
    VariableOptions zeros{parse_initializer("zeros"), {}, {}, 0};
    for (int64_t k = 1; k < spec.num_layers; ++k) {
      const std::string own = "l" + std::to_string(k);
      for (const RecurrentParameter& p : recurrent_parameters(one)) {
        const std::string from_name = recurrent_variable_name(k, false, p.kind);
        const Variable& from = stack.store().at(scope.empty() ? from_name : scope + "/" + from_name);
        const Variable& to = store_.get_variable(own + "/" + p.name, p.shape, zeros);
        const TensorView<const double> src = stack.store().value<double>(from);
        std::copy(src.data(), src.data() + src.numel(), store_.value<double>(to).data());
      }
    }
    for (int64_t k = 1; k < spec.num_layers; ++k) {
      layers_.push_back(std::make_unique<RecurrentLayer<double>>(store_, "l" + std::to_string(k), one, options));
    }
  }

  // total_h [L, B, R] from g = (state_h, state_c) at step t in 1..T of the trajectory.
  void total_derivative(const ProbeTrajectory& trajectory, int64_t t, const Tensor<double>& state_h,
                        const Tensor<double>& state_c, Tensor<double>& total_h) {
    std::copy(state_h.storage().begin(), state_h.storage().end(), total_h.storage().begin());
    if (layers_.empty()) return;
    const int64_t L = state_h.shape()[0], B = state_h.shape()[1], R = state_h.shape()[2];
    const bool lstm = !state_c.storage().empty();
    const int64_t H = lstm ? state_c.shape()[2] : 0;
    const auto now = static_cast<std::size_t>(t), before = static_cast<std::size_t>(t - 1);
    auto rows = [](const Tensor<double>& x, int64_t layer, int64_t width, int64_t batch) {
      return TensorView<const double>(x.storage().data() + layer * batch * width, {1, batch, width});
    };
    for (int64_t k = L - 1; k >= 1; --k) {  // layer k (0-based) fed layer k-1's h_t
      RecurrentLayer<double>& upper = *layers_[static_cast<std::size_t>(k - 1)];
      upper.forward(rows(trajectory.h[now], k - 1, R, B), {}, rows(trajectory.h[before], k, R, B),
                    lstm ? rows(trajectory.c[before], k, H, B) : TensorView<const double>{});
      const RecurrentGradients<double> g =
          upper.backward({}, rows(total_h, k, R, B), lstm ? rows(state_c, k, H, B) : TensorView<const double>{});
      double* lower = total_h.data() + (k - 1) * B * R;
      for (int64_t i = 0; i < B * R; ++i) lower[i] += g.d_input.storage()[static_cast<std::size_t>(i)];
    }
    store_.zero_grad();
  }

 private:
  VariableStore store_;
  std::vector<std::unique_ptr<RecurrentLayer<double>>> layers_;
};

}  // namespace

void visit_gradient_flow(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, uint64_t seed,
                         const std::function<void(const ProbeStateGradient&)>& visit) {
  const RecurrentSpec& spec = layer.spec();
  const int64_t steps = trajectory.steps(), batch = trajectory.batch();
  const int64_t L = spec.num_layers, R = spec.recurrent_width();
  const bool lstm = spec.cell == CellKind::lstm;
  ProbeStateGradient g;
  // g_T: u_b, a unit vector per sequence, in the last layer's rows of ∂L/∂h_T.
  g.state_h = Tensor<double>({L, batch, R});
  RandomStream loss_stream(seed, "probe/loss");
  for (int64_t b = 0; b < batch; ++b) {
    double* u = g.state_h.data() + ((L - 1) * batch + b) * R;
    double n = 0;
    for (int64_t j = 0; j < R; ++j) {
      u[j] = loss_stream.normal();
      n += u[j] * u[j];
    }
    for (int64_t j = 0; j < R; ++j) u[j] /= std::sqrt(n);
  }
  if (lstm) g.state_c = Tensor<double>({L, batch, spec.hidden_size});
  g.total_h = Tensor<double>({L, batch, R});
  UpperLayers upper(layer);
  // Back one step at a time: rerun step t from the state at t-1 and backpropagate g_t (h and,
  // for an LSTM, c) to g_{t-1}.
  const Tensor<double> d_output({1, batch, layer.output_size()});
  for (int64_t t = steps; t >= 1; --t) {
    g.distance = steps - t;
    upper.total_derivative(trajectory, t, g.state_h, g.state_c, g.total_h);
    visit(g);
    const auto previous = static_cast<std::size_t>(t - 1);
    layer.forward(trajectory.input_steps(t - 1, 1), {}, trajectory.h[previous].view(),
                  lstm ? trajectory.c[previous].view() : TensorView<const double>{});
    RecurrentGradients<double> back =
        layer.backward(d_output.view(), g.state_h.view(), lstm ? g.state_c.view() : TensorView<const double>{});
    g.state_h = std::move(back.d_h0);
    if (lstm) g.state_c = std::move(back.d_c0);
  }
  layer.store().zero_grad();  // backward accumulated parameter gradients nobody asked for
  // t = 0: the initial states are inputs; no lower layer computes them.
  g.distance = steps;
  std::copy(g.state_h.storage().begin(), g.state_h.storage().end(), g.total_h.storage().begin());
  visit(g);
}

GradientFlow measure_gradient_flow(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, uint64_t seed) {
  const int64_t L = layer.spec().num_layers, steps = trajectory.steps();
  const auto count = static_cast<std::size_t>(steps + 1);
  GradientFlow flow;
  flow.state_space_norm.assign(count, 0.0);
  flow.state_space_layer_norm.assign(static_cast<std::size_t>(L), std::vector<double>(count, 0.0));
  flow.total_norm = flow.state_space_layer_norm;
  visit_gradient_flow(layer, trajectory, seed, [&](const ProbeStateGradient& g) {
    const auto d = static_cast<std::size_t>(g.distance);
    const int64_t block = g.state_h.numel() / L;  // B * R
    flow.state_space_norm[d] = frobenius(g.state_h.data(), g.state_h.numel());
    for (int64_t k = 0; k < L; ++k) {
      const auto layer_index = static_cast<std::size_t>(k);
      flow.state_space_layer_norm[layer_index][d] = frobenius(g.state_h.data() + k * block, block);
      flow.total_norm[layer_index][d] = frobenius(g.total_h.data() + k * block, block);
    }
  });
  flow.state_space_decay_per_step = decay_rate(flow.state_space_norm);
  for (const std::vector<double>& norm : flow.state_space_layer_norm) {
    flow.state_space_layer_decay_per_step.push_back(decay_rate(norm));
  }
  for (const std::vector<double>& norm : flow.total_norm) flow.total_decay_per_step.push_back(decay_rate(norm));
  return flow;
}

}  // namespace rnnkit

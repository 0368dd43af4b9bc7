// Gradient flow at initialization: exact where it must be, equal to finite differences of
// the documented loss (each derivative against its own definition, with the perturbation
// injected into a forward pass written here from the naive reference), and telling
// initializations apart the way theory says.
#include "rnnkit/analysis/gradient_flow.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/layers/reference_recurrent.h"
#include "rnnkit/random/stream.h"
#include "test_support.h"

namespace rnnkit {
namespace {

VariableStore make_store(const RecurrentSpec& spec, const std::string& recurrent_init, uint64_t seed = 3) {
  VariableStore store(seed, DType::f64);
  auto scope = store.scope("rnn");
  RecurrentInitChoice choice;
  choice.recurrent = parse_initializer(recurrent_init);
  create_recurrent_variables(store, spec, choice);
  return store;
}

GradientFlow flow_of(VariableStore& store, const RecurrentSpec& spec, int64_t steps, int64_t batch, uint64_t seed) {
  RecurrentLayer<double> layer(store, "rnn", spec);
  const ProbeTrajectory trajectory = record_probe_trajectory(layer, steps, batch, seed);
  return measure_gradient_flow(layer, trajectory, seed);
}

// The documented loss directions: u_b from (seed, "probe/loss"), normal entries made unit.
Tensor<double> loss_directions(uint64_t seed, int64_t batch, int64_t width) {
  Tensor<double> u({batch, width});
  RandomStream us(seed, "probe/loss");
  for (int64_t b = 0; b < batch; ++b) {
    double n = 0;
    for (int64_t j = 0; j < width; ++j) {
      u[b * width + j] = us.normal();
      n += u[b * width + j] * u[b * width + j];
    }
    for (int64_t j = 0; j < width; ++j) u[b * width + j] /= std::sqrt(n);
  }
  return u;
}

// Frobenius norm of n values; NaN stays NaN.
double norm_of(const double* v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += v[i] * v[i];
  return std::sqrt(s);
}

TEST(GradientFlow, ZeroRecurrentWeightsCutTheFlowAfterOneStep) {
  const RecurrentSpec spec{CellKind::rnn_tanh, 3, 6, 1, false, 0};
  VariableStore store = make_store(spec, "zeros");
  const GradientFlow flow = flow_of(store, spec, 7, 4, 1);
  ASSERT_EQ(flow.state_space_norm.size(), 8u);
  EXPECT_NEAR(flow.state_space_norm[0], 2.0, 1e-15);  // sqrt(B) unit vectors
  for (std::size_t d = 1; d < flow.state_space_norm.size(); ++d) EXPECT_EQ(flow.state_space_norm[d], 0.0) << d;
}

// ‖∂L/∂h_0‖ (distance T) against central differences of the documented loss, through the
// layer's own forward over the whole sequence.
TEST(GradientFlow, MatchesFiniteDifferencesOfTheDocumentedLoss) {
  const RecurrentSpec spec{CellKind::lstm, 3, 4, 2, false, 0};
  constexpr int64_t kSteps = 5, kBatch = 2;
  VariableStore store = make_store(spec, "orthogonal");
  const GradientFlow flow = flow_of(store, spec, kSteps, kBatch, 9);
  Tensor<double> x({kSteps, kBatch, 3});
  RandomStream xs(9, "probe/input");
  for (double& v : x.storage()) v = xs.normal();
  const Tensor<double> u = loss_directions(9, kBatch, 4);
  RecurrentLayer<double> layer(store, "rnn", spec);
  auto loss = [&](const Tensor<double>& h0) {
    const Tensor<double> c0({2, kBatch, 4});
    const RecurrentResult<double> r = layer.forward(x.view(), {}, h0.view(), c0.view());
    double l = 0;
    for (int64_t i = 0; i < kBatch * 4; ++i) l += u[i] * r.h_n[kBatch * 4 + i];  // the last layer's rows
    return l;
  };
  Tensor<double> h0({2, kBatch, 4});
  double squared = 0;
  for (int64_t i = 0; i < h0.numel(); ++i) {
    const double e = 1e-6;
    h0[i] = e;
    const double up = loss(h0);
    h0[i] = -e;
    const double down = loss(h0);
    h0[i] = 0;
    const double g = (up - down) / (2 * e);
    squared += g * g;
  }
  EXPECT_NEAR(flow.state_space_norm[kSteps], std::sqrt(squared), 1e-8 * std::sqrt(squared));
}

// The stacked model of `store`, one layer and one step at a time, each layer on its own copy
// of its variables through the naive reference (reference_recurrent.h), so that a
// perturbation can be injected into h^k_t at a chosen place:
//   Inject::total        right after layer k computes h^k_t: layer k+1 at step t reads it
//                        perturbed, as does everything after (the total derivative);
//   Inject::state_space  after the whole step t: only steps t+1.. see it (the state-space
//                        block, the upper layers' states at t as they were).
// At t = 0 both perturb the initial state.
enum class Inject { total, state_space };

class SteppedModel {
 public:
  SteppedModel(const VariableStore& stack, const RecurrentSpec& spec, const RecurrentLayerOptions& options)
      : spec_(spec), options_(options) {
    for (int64_t k = 0; k < spec.num_layers; ++k) {
      RecurrentSpec one = spec;
      one.num_layers = 1;
      one.input_size = spec.layer_input_size(k);
      layers_.emplace_back(0, DType::f64);
      VariableStore& store = layers_.back();
      for (const RecurrentParameter& p : recurrent_parameters(one)) {
        const Variable& from = stack.at("rnn/" + recurrent_variable_name(k, false, p.kind));
        const Variable& to = store.get_variable("one/" + p.name, p.shape, {parse_initializer("zeros"), {}, {}, 0});
        const TensorView<const double> src = stack.value<double>(from);
        std::copy(src.data(), src.data() + src.numel(), store.value<double>(to).data());
      }
      specs_.push_back(one);
    }
  }

  // h[t] [L, B, R] for t = 0..T without a perturbation (to check against the trajectory).
  std::vector<Tensor<double>> states(const Tensor<double>& x) const { return run(x, nullptr, 0, 0, Inject::total); }

  // L = sum_b <u_b, h^L_T[b]> with h^k_t perturbed by `delta` [B, R] at the place `inject` says.
  double loss(const Tensor<double>& x, const Tensor<double>& u, const Tensor<double>& delta, int64_t layer,
              int64_t step, Inject inject) const {
    const Tensor<double> h_T = run(x, &delta, layer, step, inject).back();
    const int64_t block = u.numel();
    double l = 0;
    for (int64_t i = 0; i < block; ++i) l += u[i] * h_T[(spec_.num_layers - 1) * block + i];
    return l;
  }

 private:
  std::vector<Tensor<double>> run(const Tensor<double>& x, const Tensor<double>* delta, int64_t layer, int64_t step,
                                  Inject inject) const {
    const int64_t T = x.shape()[0], B = x.shape()[1], L = spec_.num_layers;
    const int64_t R = spec_.recurrent_width(), H = spec_.hidden_size;
    const bool lstm = spec_.cell == CellKind::lstm;
    std::vector<Tensor<double>> h(static_cast<std::size_t>(L), Tensor<double>({1, B, R}));
    std::vector<Tensor<double>> c(static_cast<std::size_t>(L), Tensor<double>({1, B, H}));
    auto perturb = [&](Tensor<double>& state) {
      for (int64_t i = 0; i < B * R; ++i) state[i] += (*delta)[i];
    };
    auto stacked = [&] {
      Tensor<double> s({L, B, R});
      for (int64_t k = 0; k < L; ++k) std::copy_n(h[static_cast<std::size_t>(k)].data(), B * R, s.data() + k * B * R);
      return s;
    };
    if (delta != nullptr && step == 0) perturb(h[static_cast<std::size_t>(layer)]);
    std::vector<Tensor<double>> out{stacked()};
    for (int64_t t = 1; t <= T; ++t) {
      Tensor<double> input({1, B, spec_.input_size});
      std::copy_n(x.data() + (t - 1) * B * spec_.input_size, B * spec_.input_size, input.data());
      for (int64_t k = 0; k < L; ++k) {
        const auto kk = static_cast<std::size_t>(k);
        RecurrentResult<double> r =
            reference_recurrent_forward(layers_[kk], "one", specs_[kk], options_, input.view(), {}, h[kk].view(),
                                        lstm ? c[kk].view() : TensorView<const double>{});
        h[kk] = std::move(r.h_n);
        if (lstm) c[kk] = std::move(r.c_n);
        if (delta != nullptr && t == step && k == layer && inject == Inject::total) perturb(h[kk]);
        input = h[kk];
      }
      if (delta != nullptr && t == step && inject == Inject::state_space) perturb(h[static_cast<std::size_t>(layer)]);
      out.push_back(stacked());
    }
    return out;
  }

  RecurrentSpec spec_;
  RecurrentLayerOptions options_;
  std::vector<VariableStore> layers_;
  std::vector<RecurrentSpec> specs_;
};

// Central differences of the documented loss, one element of h^k_{T-d} at a time, against the
// reported dL/dh^k_{T-d} (Inject::total) or ∂L/∂h^k_{T-d} (Inject::state_space), for every
// layer k and the distances asked for. Returns, per distance, the largest |difference| over the
// layers relative to the largest |gradient| of its (layer, distance) block (NaN if any value is);
// `gap` gets the largest |total - state-space| of a layer below the top at 0 < d < T, relative
// to the same scale.
struct FdCase {
  RecurrentSpec spec;
  RecurrentLayerOptions options;
  std::string init;
};

std::vector<double> worst_relative_fd_error(const FdCase& c, Inject inject, const std::vector<int64_t>& distances,
                                            double& total_vs_state_gap) {
  constexpr int64_t kSteps = 6, kBatch = 2;
  constexpr uint64_t kSeed = 4;
  const RecurrentSpec& spec = c.spec;
  VariableStore store(5, DType::f64);
  {
    auto scope = store.scope("rnn");
    create_recurrent_variables(store, spec, parse_init_choice(c.init));
  }
  RecurrentLayer<double> layer(store, "rnn", spec, c.options);
  const ProbeTrajectory trajectory = record_probe_trajectory(layer, kSteps, kBatch, kSeed);
  std::vector<ProbeStateGradient> gradients;
  visit_gradient_flow(layer, trajectory, kSeed, [&](const ProbeStateGradient& g) { gradients.push_back(g); });
  EXPECT_EQ(gradients.size(), static_cast<std::size_t>(kSteps + 1));
  const GradientFlow flow = measure_gradient_flow(layer, trajectory, kSeed);

  const SteppedModel model(store, spec, c.options);
  const int64_t L = spec.num_layers, R = spec.recurrent_width(), block = kBatch * R;
  // The stepped model is the probe's forward pass: the same states at every step.
  const std::vector<Tensor<double>> states = model.states(trajectory.input);
  for (int64_t t = 0; t <= kSteps; ++t) {
    const auto tt = static_cast<std::size_t>(t);
    EXPECT_LE(test::max_abs_difference(states[tt].data(), trajectory.h[tt].data(), L * block), 1e-12) << "step " << t;
  }
  const Tensor<double> u = loss_directions(kSeed, kBatch, R);
  std::vector<double> worst;
  total_vs_state_gap = 0;
  for (const int64_t d : distances) {
    worst.push_back(0.0);
    const ProbeStateGradient& g = gradients.at(static_cast<std::size_t>(d));
    EXPECT_EQ(g.distance, d);
    const int64_t t = kSteps - d;
    for (int64_t k = 0; k < L; ++k) {
      const double* reported = (inject == Inject::total ? g.total_h : g.state_h).data() + k * block;
      Tensor<double> fd({kBatch, R}), delta({kBatch, R});
      for (int64_t i = 0; i < block; ++i) {
        const double e = 1e-6;
        delta[i] = e;
        const double up = model.loss(trajectory.input, u, delta, k, t, inject);
        delta[i] = -e;
        const double down = model.loss(trajectory.input, u, delta, k, t, inject);
        delta[i] = 0;
        fd[i] = (up - down) / (2 * e);
      }
      double scale = 0;
      for (int64_t i = 0; i < block; ++i) scale = test::nan_max(scale, std::abs(fd[i]));
      const double error = test::max_abs_difference(fd.data(), reported, block) / std::max(scale, 1e-300);
      SCOPED_TRACE("layer " + std::to_string(k + 1) + ", d = " + std::to_string(d));
      EXPECT_GT(scale, 1e-6);  // a gradient there to compare (else the check proves nothing)
      EXPECT_LE(error, 1e-6);
      worst.back() = test::nan_max(worst.back(), error);
      // The reported norm is the norm of this block.
      const auto kk = static_cast<std::size_t>(k), dd = static_cast<std::size_t>(d);
      const double norm = inject == Inject::total ? flow.total_norm[kk][dd] : flow.state_space_layer_norm[kk][dd];
      EXPECT_NEAR(norm, norm_of(reported, block), 1e-14 * norm_of(reported, block));
      if (k < L - 1 && d > 0 && d < kSteps) {
        const double* other = (inject == Inject::total ? g.state_h : g.total_h).data() + k * block;
        total_vs_state_gap =
            test::nan_max(total_vs_state_gap, test::max_abs_difference(reported, other, block) / scale);
      }
    }
  }
  // The state-space norm of all layers is the norm of the layers' blocks together.
  for (std::size_t d = 0; d < flow.state_space_norm.size(); ++d) {
    double squared = 0;
    for (const std::vector<double>& layer_norm : flow.state_space_layer_norm) squared += layer_norm[d] * layer_norm[d];
    EXPECT_NEAR(flow.state_space_norm[d], std::sqrt(squared), 1e-14 * flow.state_space_norm[d]) << d;
  }
  return worst;
}

std::vector<FdCase> stacked_cases() {
  return {{{CellKind::lstm, 3, 5, 3, false, 0}, {}, "preset=pytorch"},
          {{CellKind::lstm, 3, 5, 2, false, 4}, {}, "preset=keras"},  // with a projection: R = P = 4
          {{CellKind::gru, 3, 5, 3, false, 0}, {}, "preset=pytorch"},
          {{CellKind::gru, 3, 4, 2, false, 0}, {.cell = {.gru_reset = GruReset::before}}, "preset=tf1"},
          {{CellKind::rnn_tanh, 3, 5, 3, false, 0}, {}, "preset=pytorch"},
          {{CellKind::rnn_relu, 4, 5, 2, false, 0}, {}, "preset=pytorch"}};
}

// Prints the agreement figures.
void report(const FdCase& c, const char* what, const std::vector<int64_t>& distances, const std::vector<double>& worst,
            double gap) {
  std::cout << cell_name(c.spec.cell) << " L=" << c.spec.num_layers << " P=" << c.spec.proj_size << ": " << what
            << " vs finite differences, worst relative error by d:";
  for (std::size_t i = 0; i < distances.size(); ++i) std::cout << " d=" << distances[i] << " " << worst[i];
  std::cout << "; |total - state-space| / scale up to " << gap << " below the top layer (0 < d < T)\n";
}

// dL/dh^k_{T-d} for stacked LSTM (with and without a projection), GRU (both reset forms) and
// RNN (tanh, ReLU) against central differences that inject the perturbation right after
// layer k at step T-d, so that layers k+1..L see it within the step.
TEST(GradientFlow, TotalDerivativeMatchesFiniteDifferencesThroughTheStackedForwardPass) {
  const std::vector<int64_t> distances{0, 1, 3, 6};
  for (const FdCase& c : stacked_cases()) {
    SCOPED_TRACE(std::string(cell_name(c.spec.cell)) + " L=" + std::to_string(c.spec.num_layers) +
                 " P=" + std::to_string(c.spec.proj_size));
    double gap = 0;
    const std::vector<double> worst = worst_relative_fd_error(c, Inject::total, distances, gap);
    report(c, "total derivative", distances, worst, gap);
    for (const double w : worst) EXPECT_LE(w, 1e-6);
    // The two derivatives differ below the top layer by far more than the tolerance: the
    // finite differences tell them apart.
    EXPECT_GT(gap, 1e-3);
  }
}

// ∂L/∂h^k_{T-d} (the state-space block) against central differences that perturb h^k_{T-d}
// after the whole step, the upper layers' states at T-d as they were.
TEST(GradientFlow, StateSpaceBlocksMatchFiniteDifferencesOfTheStateAfterTheStep) {
  for (const FdCase& c : stacked_cases()) {
    SCOPED_TRACE(std::string(cell_name(c.spec.cell)) + " L=" + std::to_string(c.spec.num_layers) +
                 " P=" + std::to_string(c.spec.proj_size));
    double gap = 0;
    const std::vector<int64_t> distances{1, 2, 6};
    const std::vector<double> worst = worst_relative_fd_error(c, Inject::state_space, distances, gap);
    report(c, "state-space block", distances, worst, gap);
    for (const double w : worst) EXPECT_LE(w, 1e-6);
    EXPECT_GT(gap, 1e-3);
  }
}

// One layer: nothing is above it, so the total derivative is the state-space gradient, bit
// for bit, and the three norms are one.
TEST(GradientFlow, OneLayersTotalDerivativeIsItsStateSpaceGradient) {
  for (const CellKind cell : {CellKind::lstm, CellKind::gru, CellKind::rnn_tanh, CellKind::rnn_relu}) {
    SCOPED_TRACE(cell_name(cell));
    const RecurrentSpec spec{cell, 3, 5, 1, false, 0};
    VariableStore store = make_store(spec, "orthogonal");
    RecurrentLayer<double> layer(store, "rnn", spec);
    const ProbeTrajectory trajectory = record_probe_trajectory(layer, 8, 3, 2);
    int64_t visited = 0;
    visit_gradient_flow(layer, trajectory, 2, [&](const ProbeStateGradient& g) {
      ASSERT_EQ(g.total_h.shape(), g.state_h.shape());
      for (int64_t i = 0; i < g.state_h.numel(); ++i) ASSERT_EQ(g.total_h[i], g.state_h[i]) << g.distance << " " << i;
      ++visited;
    });
    EXPECT_EQ(visited, 9);
    const GradientFlow flow = measure_gradient_flow(layer, trajectory, 2);
    ASSERT_EQ(flow.total_norm.size(), 1u);
    EXPECT_EQ(flow.total_norm[0], flow.state_space_layer_norm[0]);
    EXPECT_EQ(flow.total_norm[0], flow.state_space_norm);
    EXPECT_EQ(flow.total_decay_per_step[0], flow.state_space_decay_per_step);
  }
}

// On a tanh RNN an orthogonal recurrent matrix keeps a loss's gradient alive 50 steps back;
// a small-scale normal one (sigma_max about 0.2) lets it vanish geometrically.
TEST(GradientFlow, OrthogonalKeepsWhatSmallNormalLoses) {
  const RecurrentSpec spec{CellKind::rnn_tanh, 8, 64, 1, false, 0};
  VariableStore orthogonal = make_store(spec, "orthogonal");
  VariableStore small = make_store(spec, "normal(stddev=0.01)");
  const GradientFlow a = flow_of(orthogonal, spec, 60, 4, 2);
  const GradientFlow b = flow_of(small, spec, 60, 4, 2);
  std::cout << "tanh RNN H=64, |dL/dh| at distance 50: orthogonal " << a.state_space_norm[50] << " (decay "
            << a.state_space_decay_per_step << "/step), normal(0.01) " << b.state_space_norm[50] << " (decay "
            << b.state_space_decay_per_step << "/step)\n";
  EXPECT_GT(a.state_space_norm[50], 1e3 * b.state_space_norm[50]);
  EXPECT_LT(b.state_space_decay_per_step, 0.5);
  EXPECT_GT(a.state_space_decay_per_step, b.state_space_decay_per_step);
}

TEST(GradientFlow, BidirectionalModelsAreRefused) {
  const RecurrentSpec spec{CellKind::gru, 3, 4, 1, true, 0};
  VariableStore store = make_store(spec, "orthogonal");
  EXPECT_NE(test::error_of([&] { flow_of(store, spec, 4, 2, 1); }).find("bidirectional"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

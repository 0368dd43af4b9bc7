// Gradient flow at initialization: exact where it must be, equal to finite differences of
// the documented loss, and telling initializations apart the way theory says.
#include "rnnkit/analysis/gradient_flow.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "rnnkit/layers/recurrent_variables.h"
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

TEST(GradientFlow, ZeroRecurrentWeightsCutTheFlowAfterOneStep) {
  const RecurrentSpec spec{CellKind::rnn_tanh, 3, 6, 1, false, 0};
  VariableStore store = make_store(spec, "zeros");
  const GradientFlow flow = flow_of(store, spec, 7, 4, 1);
  ASSERT_EQ(flow.norm.size(), 8u);
  EXPECT_NEAR(flow.norm[0], 2.0, 1e-15);  // sqrt(B) unit vectors
  for (std::size_t d = 1; d < flow.norm.size(); ++d) EXPECT_EQ(flow.norm[d], 0.0) << d;
}

// ‖∂L/∂h_0‖ (distance T) against central differences of the documented loss.
TEST(GradientFlow, MatchesFiniteDifferencesOfTheDocumentedLoss) {
  const RecurrentSpec spec{CellKind::lstm, 3, 4, 2, false, 0};
  constexpr int64_t kSteps = 5, kBatch = 2;
  VariableStore store = make_store(spec, "orthogonal");
  const GradientFlow flow = flow_of(store, spec, kSteps, kBatch, 9);
  Tensor<double> x({kSteps, kBatch, 3});
  RandomStream xs(9, "probe/input");
  for (double& v : x.storage()) v = xs.normal();
  Tensor<double> u({kBatch, 4});
  RandomStream us(9, "probe/loss");
  for (int64_t b = 0; b < kBatch; ++b) {
    double n = 0;
    for (int64_t j = 0; j < 4; ++j) {
      u[b * 4 + j] = us.normal();
      n += u[b * 4 + j] * u[b * 4 + j];
    }
    for (int64_t j = 0; j < 4; ++j) u[b * 4 + j] /= std::sqrt(n);
  }
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
  EXPECT_NEAR(flow.norm[kSteps], std::sqrt(squared), 1e-8 * std::sqrt(squared));
}

// On a tanh RNN an orthogonal recurrent matrix keeps a loss's gradient alive 50 steps back;
// a small-scale normal one (sigma_max about 0.2) lets it vanish geometrically.
TEST(GradientFlow, OrthogonalKeepsWhatSmallNormalLoses) {
  const RecurrentSpec spec{CellKind::rnn_tanh, 8, 64, 1, false, 0};
  VariableStore orthogonal = make_store(spec, "orthogonal");
  VariableStore small = make_store(spec, "normal(stddev=0.01)");
  const GradientFlow a = flow_of(orthogonal, spec, 60, 4, 2);
  const GradientFlow b = flow_of(small, spec, 60, 4, 2);
  std::cout << "tanh RNN H=64, |dL/dh| at distance 50: orthogonal " << a.norm[50] << " (decay " << a.decay_per_step
            << "/step), normal(0.01) " << b.norm[50] << " (decay " << b.decay_per_step << "/step)\n";
  EXPECT_GT(a.norm[50], 1e3 * b.norm[50]);
  EXPECT_LT(b.decay_per_step, 0.5);
  EXPECT_GT(a.decay_per_step, b.decay_per_step);
}

TEST(GradientFlow, BidirectionalModelsAreRefused) {
  const RecurrentSpec spec{CellKind::gru, 3, 4, 1, true, 0};
  VariableStore store = make_store(spec, "orthogonal");
  EXPECT_NE(test::error_of([&] { flow_of(store, spec, 4, 2, 1); }).find("bidirectional"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

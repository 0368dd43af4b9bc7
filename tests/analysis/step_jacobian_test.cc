// The step Jacobian: equal to the closed form for a tanh RNN, and to central differences
// of one step for stacked LSTMs (with a projection) and GRUs in both reset forms.
#include "rnnkit/analysis/step_jacobian.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/analysis/weight_stats.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/random/stream.h"
#include "test_support.h"

namespace rnnkit {
namespace {

VariableStore make_store(const RecurrentSpec& spec, const std::string& init, uint64_t seed = 5) {
  VariableStore store(seed, DType::f64);
  auto scope = store.scope("rnn");
  create_recurrent_variables(store, spec, parse_init_choice(init));
  return store;
}

TEST(StepJacobian, IsDiagOneMinusHSquaredTimesTheRecurrentMatrixForATanhRnn) {
  const RecurrentSpec spec{CellKind::rnn_tanh, 3, 6, 1, false, 0};
  VariableStore store = make_store(spec, "recurrent=orthogonal(gain=1.3)");
  RecurrentLayer<double> layer(store, "rnn", spec);
  const ProbeTrajectory trajectory = record_probe_trajectory(layer, 5, 3, 2);
  const TensorView<const double> w = store.value<double>(store.at("rnn/l0/fw/weight_hh"));
  for (int64_t t : {1, 5}) {
    const Tensor<double> j = step_jacobian(layer, trajectory, t, 2);
    ASSERT_EQ(j.shape(), (Shape{6, 6}));
    const double* h = trajectory.h[static_cast<std::size_t>(t)].data() + 2 * 6;
    for (int64_t a = 0; a < 6; ++a) {
      for (int64_t b = 0; b < 6; ++b) EXPECT_NEAR(j[a * 6 + b], (1 - h[a] * h[a]) * w.data()[a * 6 + b], 1e-14);
    }
  }
  const std::vector<std::vector<double>> norms = step_jacobian_norms(layer, trajectory, 2);
  ASSERT_EQ(norms.size(), 5u);
  ASSERT_EQ(norms[0].size(), 2u);
  EXPECT_NEAR(norms[4][1], largest_singular_value(step_jacobian(layer, trajectory, 5, 1).view()), 1e-12);
  EXPECT_LE(norms[4][1], 1.3 + 1e-12);  // |tanh'| <= 1 times sigma_max(W) = 1.3
  EXPECT_NE(test::error_of([&] { step_jacobian(layer, trajectory, 6, 0); }).find("steps 1..5"), std::string::npos);
}

// J v against (s_t(s_{t-1} + e v) - s_t(s_{t-1} - e v)) / 2e for random directions v.
void expect_matches_finite_differences(const RecurrentSpec& spec, GruReset reset, const std::string& init) {
  SCOPED_TRACE(cell_name(spec.cell));
  VariableStore store = make_store(spec, init);
  RecurrentLayer<double> layer(store, "rnn", spec, RecurrentLayerOptions{.cell = {.gru_reset = reset}});
  const ProbeTrajectory trajectory = record_probe_trajectory(layer, 4, 3, 7);
  const int64_t t = 3, seq = 1, L = spec.num_layers, R = spec.recurrent_width(), H = spec.hidden_size;
  const bool lstm = spec.cell == CellKind::lstm;
  const Tensor<double> j = step_jacobian(layer, trajectory, t, seq);
  const int64_t n = j.shape()[0];
  ASSERT_EQ(n, L * R + (lstm ? L * H : 0));
  // The sequence's state s_{t-1}, as a batch of one.
  auto state_of = [&](const std::vector<double>& s, Tensor<double>& h0, Tensor<double>& c0) {
    for (int64_t l = 0; l < L; ++l) {
      std::copy_n(s.data() + l * R, R, h0.data() + l * R);
      if (lstm) std::copy_n(s.data() + L * R + l * H, H, c0.data() + l * H);
    }
  };
  std::vector<double> s0(static_cast<std::size_t>(n));
  const auto tp = static_cast<std::size_t>(t - 1);
  for (int64_t l = 0; l < L; ++l) {
    std::copy_n(trajectory.h[tp].data() + (l * 3 + seq) * R, R, s0.data() + l * R);
    if (lstm) std::copy_n(trajectory.c[tp].data() + (l * 3 + seq) * H, H, s0.data() + L * R + l * H);
  }
  Tensor<double> x({1, 1, spec.input_size});
  std::copy_n(trajectory.input_steps(t - 1, 1).data() + seq * spec.input_size, spec.input_size, x.data());
  auto step = [&](const std::vector<double>& s) {
    Tensor<double> h0({L, 1, R}), c0;
    if (lstm) c0 = Tensor<double>({L, 1, H});
    state_of(s, h0, c0);
    const RecurrentResult<double> r =
        layer.forward(x.view(), {}, h0.view(), lstm ? c0.view() : TensorView<const double>{});
    std::vector<double> out(r.h_n.storage());
    if (lstm) out.insert(out.end(), r.c_n.storage().begin(), r.c_n.storage().end());
    return out;
  };
  RandomStream random(11, "test/direction");
  for (int k = 0; k < 3; ++k) {
    std::vector<double> v(static_cast<std::size_t>(n)), up = s0, down = s0;
    const double e = 1e-6;
    for (int64_t i = 0; i < n; ++i) {
      v[i] = random.normal();
      up[i] += e * v[i];
      down[i] -= e * v[i];
    }
    const std::vector<double> a = step(up), b = step(down);
    for (int64_t r = 0; r < n; ++r) {
      double jv = 0;
      for (int64_t c = 0; c < n; ++c) jv += j[r * n + c] * v[c];
      EXPECT_NEAR(jv, (a[r] - b[r]) / (2 * e), 1e-7) << "row " << r;
    }
  }
}

TEST(StepJacobian, MatchesFiniteDifferencesOfOneStep) {
  expect_matches_finite_differences({CellKind::lstm, 3, 5, 2, false, 0}, GruReset::after, "keras");
  expect_matches_finite_differences({CellKind::lstm, 3, 5, 2, false, 3}, GruReset::after, "pytorch");
  expect_matches_finite_differences({CellKind::gru, 3, 4, 2, false, 0}, GruReset::after, "pytorch");
  expect_matches_finite_differences({CellKind::gru, 3, 4, 1, false, 0}, GruReset::before, "tf1");
  expect_matches_finite_differences({CellKind::rnn_relu, 3, 4, 2, false, 0}, GruReset::after, "pytorch");
}

}  // namespace
}  // namespace rnnkit

// Forward health and recurrent spectra on models whose answers are known by construction.
#include "rnnkit/analysis/forward_health.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/analysis/recurrent_spectrum.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "test_support.h"

namespace rnnkit {
namespace {

struct Probed {
  VariableStore store;
  ForwardHealth health;
};

Probed probe(const RecurrentSpec& spec, const std::string& init) {
  Probed p{VariableStore(1, DType::f64), {}};
  {
    auto scope = p.store.scope("rnn");
    create_recurrent_variables(p.store, spec, parse_init_choice(init));
  }
  RecurrentLayer<double> layer(p.store, "rnn", spec);
  p.health = measure_forward_health(spec, record_probe_trajectory(layer, 6, 4, 3));
  return p;
}

const Saturation& named(const LayerHealth& layer, const std::string& name) {
  for (const Saturation& s : layer.saturation) {
    if (s.name == name) return s;
  }
  throw Error("no saturation entry " + name);
}

// With zero weights the gates are the biases' sigmoids and tanhs at every step.
TEST(ForwardHealth, LstmGatesSaturateExactlyWhereTheBiasesPutThem) {
  const RecurrentSpec spec{CellKind::lstm, 3, 5, 2, false, 0};
  const Probed p = probe(spec,
                         "kernel=zeros;recurrent=zeros;bias_hh=zeros;"
                         "bias=gates(i=constant(-100), f=constant(100), g=constant(0.1), o=constant(0))");
  ASSERT_EQ(p.health.layers.size(), 2u);
  for (const LayerHealth& layer : p.health.layers) {
    ASSERT_EQ(layer.state_std.size(), 6u);
    for (int t = 0; t < 6; ++t) {
      EXPECT_EQ(named(layer, "i").fraction[t], 1.0);  // sigmoid(-100) < 0.01
      EXPECT_EQ(named(layer, "f").fraction[t], 1.0);  // sigmoid(100) > 0.99
      EXPECT_EQ(named(layer, "g").fraction[t], 0.0);  // tanh(0.1)
      EXPECT_EQ(named(layer, "o").fraction[t], 0.0);  // sigmoid(0) = 0.5
      EXPECT_EQ(named(layer, "tanh(c)").fraction[t], 0.0);
      EXPECT_NEAR(layer.state_std[t], 0.0, 1e-15);
    }
    EXPECT_EQ(named(layer, "i").rule, "sigmoid > 0.99 or < 0.01");
  }
}

TEST(ForwardHealth, RnnStatesSaturateOrDie) {
  const RecurrentSpec tanh{CellKind::rnn_tanh, 3, 5, 1, false, 0};
  const Probed saturated = probe(tanh, "kernel=zeros;recurrent=zeros;bias=constant(2.5);bias_hh=constant(2.5)");
  EXPECT_EQ(saturated.health.layers[0].saturation[0].fraction.back(), 1.0);  // tanh(5) = 0.99991
  EXPECT_NEAR(saturated.health.layers[0].state_mean.back(), std::tanh(5.0), 1e-15);
  const Probed calm = probe(tanh, "kernel=zeros;recurrent=zeros;bias=constant(1);bias_hh=constant(1)");
  EXPECT_EQ(calm.health.layers[0].saturation[0].fraction.back(), 0.0);  // tanh(2) = 0.964
  const RecurrentSpec relu{CellKind::rnn_relu, 3, 5, 1, false, 0};
  const Probed dead = probe(relu, "kernel=zeros;recurrent=zeros;bias=constant(-1);bias_hh=zeros");
  EXPECT_EQ(dead.health.layers[0].saturation[0].name, "h");
  EXPECT_EQ(dead.health.layers[0].saturation[0].rule, "relu = 0");
  EXPECT_EQ(dead.health.layers[0].saturation[0].fraction.back(), 1.0);
  // Random inputs through Glorot weights: some but not all tanh units saturate, the mean is near 0.
  const Probed random = probe(tanh, "keras");
  EXPECT_GT(random.health.layers[0].state_std.back(), 0.1);
}

TEST(RecurrentSpectrum, OrthogonalIdentityAndScaledBlocks) {
  const RecurrentSpec lstm{CellKind::lstm, 3, 6, 2, false, 0};
  const Probed orthogonal = probe(lstm, "recurrent=per_gate(orthogonal)");
  const std::vector<BlockSpectrum> blocks = recurrent_spectra(orthogonal.store, "rnn", lstm);
  ASSERT_EQ(blocks.size(), 8u);  // 2 layers x i, f, g, o
  EXPECT_EQ(blocks[5].layer, 1);
  EXPECT_EQ(blocks[5].gate, 'f');
  for (const BlockSpectrum& b : blocks) {
    EXPECT_NEAR(b.sigma_max, 1.0, 1e-13);
    EXPECT_NEAR(b.sigma_min, 1.0, 1e-13);
  }
  const RecurrentSpec irnn{CellKind::rnn_relu, 3, 6, 1, false, 0};
  const Probed identity = probe(irnn, "recurrent=identity(gain=0.5)");
  const std::vector<BlockSpectrum> one = recurrent_spectra(identity.store, "rnn", irnn);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].gate, 'h');
  EXPECT_EQ(one[0].sigma_max, 0.5);
  EXPECT_EQ(one[0].sigma_min, 0.5);
  EXPECT_NE(test::error_of([&] { recurrent_spectra(identity.store, "other", irnn); }).find("other/l0/fw/weight_hh"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

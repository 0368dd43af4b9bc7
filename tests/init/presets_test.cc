// Presets reproduce the frameworks' defaults in distribution.
#include "rnnkit/init/presets.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

TEST(Presets, PytorchIsUniformOverOneOverSqrtH) {
  const RecurrentInitializers i = preset_initializers(Preset::pytorch, CellKind::lstm, 10, 20, 5);
  for (const InitializerPtr& p : {i.weight_ih, i.weight_hh, i.bias_ih, i.bias_hh, i.weight_hr}) {
    ASSERT_TRUE(p);
    EXPECT_EQ(p->spec(), "pytorch_default");
  }
}

TEST(Presets, KerasSpecs) {
  const RecurrentInitializers lstm = preset_initializers(Preset::keras, CellKind::lstm, 10, 20, 0);
  EXPECT_EQ(lstm.weight_ih->spec(), "glorot_uniform(gain=1.0)");
  EXPECT_EQ(lstm.weight_hh->spec(), "orthogonal(gain=1.0, version=2)");
  EXPECT_EQ(lstm.bias_ih->spec(), "gates(f=ones, default=zeros)");
  EXPECT_EQ(lstm.bias_hh->spec(), "zeros");
  EXPECT_FALSE(lstm.weight_hr);
  EXPECT_EQ(preset_initializers(Preset::keras, CellKind::gru, 10, 20, 0).bias_ih->spec(), "zeros");
}

TEST(Presets, Tf1UsesTheConcatenatedKernelsFans) {
  // LSTMCell kernel [I + H, 4H]: fan_in = I + H, fan_out = 4H for both halves.
  const RecurrentInitializers lstm = preset_initializers(Preset::tf1, CellKind::lstm, 10, 20, 0);
  EXPECT_EQ(lstm.weight_ih->spec(), "glorot_uniform(gain=1.0, fan_in=30.0, fan_out=80.0)");
  EXPECT_EQ(lstm.weight_hh->spec(), lstm.weight_ih->spec());
  EXPECT_EQ(lstm.bias_ih->spec(), "gates(f=ones, default=zeros)");
  // GRUCell: gates kernel [I + H, 2H], candidate kernel [I + H, H], gate bias 1.
  const RecurrentInitializers gru = preset_initializers(Preset::tf1, CellKind::gru, 10, 20, 0);
  EXPECT_EQ(gru.weight_ih->spec(),
            "gates(r=glorot_uniform(gain=1.0, fan_in=30.0, fan_out=40.0), z=glorot_uniform(gain=1.0, fan_in=30.0, "
            "fan_out=40.0), n=glorot_uniform(gain=1.0, fan_in=30.0, fan_out=20.0), default=zeros)");
  EXPECT_EQ(gru.bias_ih->spec(), "gates(r=ones, z=ones, default=zeros)");
  // With a projection the recurrent input is P wide.
  EXPECT_EQ(preset_initializers(Preset::tf1, CellKind::lstm, 10, 20, 4).weight_ih->spec(),
            "glorot_uniform(gain=1.0, fan_in=14.0, fan_out=80.0)");
}

TEST(Presets, ForgetBiasOverridesOnlyTheForgetBlock) {
  EXPECT_EQ(with_forget_bias(parse_initializer("zeros"), 2.0)->spec(), "gates(f=constant(value=2.0), default=zeros)");
  EXPECT_EQ(with_forget_bias(parse_initializer("gates(f=ones, i=normal)"), 0.0)->spec(),
            "gates(i=normal(mean=0.0, stddev=0.05), f=constant(value=0.0), default=zeros)");
}

TEST(Presets, Names) {
  EXPECT_EQ(parse_preset("tf1"), Preset::tf1);
  EXPECT_THROW(parse_preset("tf2"), Error);
  EXPECT_EQ(kDefaultPreset, Preset::keras);
}

}  // namespace
}  // namespace rnnkit

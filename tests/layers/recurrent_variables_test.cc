// A recurrent layer's variables: the naming contract, shapes, gate orders, presets and
// overrides, and the architecture's JSON form.
#include "rnnkit/layers/recurrent_variables.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/layers/gate_view.h"
#include "test_support.h"

namespace rnnkit {
namespace {

TEST(RecurrentSpec, GateOrdersAreTheContract) {
  EXPECT_EQ(gate_letters(CellKind::lstm), "ifgo");
  EXPECT_EQ(gate_letters(CellKind::gru), "rzn");
  EXPECT_EQ(gate_letters(CellKind::rnn_tanh), "");
  EXPECT_EQ(gate_count(CellKind::lstm), 4);
  EXPECT_EQ(gate_count(CellKind::gru), 3);
  EXPECT_EQ(gate_count(CellKind::rnn_relu), 1);
}

TEST(RecurrentSpec, NamesAndShapesOfAStackedBidirectionalProjectedLstm) {
  RecurrentSpec spec{CellKind::lstm, 3, 5, 2, true, 4};
  const auto params = recurrent_parameters(spec);
  ASSERT_EQ(params.size(), 2u * 2u * 5u);
  EXPECT_EQ(params[0].name, "l0/fw/weight_ih");
  EXPECT_EQ(params[0].shape, (Shape{20, 3}));
  EXPECT_EQ(params[1].name, "l0/fw/weight_hh");
  EXPECT_EQ(params[1].shape, (Shape{20, 4}));
  EXPECT_EQ(params[4].name, "l0/fw/weight_hr");
  EXPECT_EQ(params[4].shape, (Shape{4, 5}));
  EXPECT_EQ(params[5].name, "l0/bw/weight_ih");
  EXPECT_EQ(params[10].name, "l1/fw/weight_ih");
  EXPECT_EQ(params[10].shape, (Shape{20, 8}));  // D * P
  EXPECT_EQ(params[12].shape, (Shape{20}));
}

TEST(RecurrentSpec, ValidationNamesTheField) {
  auto message = [](RecurrentSpec s) {
    try {
      s.validate();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({CellKind::gru, 3, 5, 1, false, 2}).find("proj_size is for LSTM only"), std::string::npos);
  EXPECT_NE(message({CellKind::lstm, 3, 5, 1, false, 5}).find("smaller than hidden_size"), std::string::npos);
  EXPECT_NE(message({CellKind::lstm, 0, 5, 1, false, 0}).find("input_size"), std::string::npos);
  EXPECT_NE(message({CellKind::lstm, 3, 5, 0, false, 0}).find("num_layers"), std::string::npos);
}

TEST(RecurrentSpec, JsonRoundTripAndErrors) {
  const RecurrentSpec spec{CellKind::gru, 7, 9, 3, true, 0};
  const RecurrentSpec back = RecurrentSpec::from_json(spec.to_json());
  EXPECT_EQ(back.to_json(), spec.to_json());
  EXPECT_THROW(RecurrentSpec::from_json("{"), Error);
  EXPECT_THROW(RecurrentSpec::from_json(R"({"cell":"lstm","input_size":3})"), Error);
  EXPECT_THROW(RecurrentSpec::from_json(R"({"cell":"lstm","input_size":"3","hidden_size":4})"), Error);
  EXPECT_THROW(RecurrentSpec::from_json(R"({"cell":"transformer","input_size":3,"hidden_size":4})"), Error);
}

TEST(RecurrentVariables, KerasDefaultWithForgetBiasAndOverrides) {
  VariableStore store(11);
  auto s = store.scope("lstm");
  RecurrentInitChoice choice;
  choice.recurrent = parse_initializer("per_gate(orthogonal)");
  choice.forget_bias = 2.0;
  const RecurrentSpec spec{CellKind::lstm, 3, 5, 1, false, 0};
  create_recurrent_variables(store, spec, choice);
  EXPECT_EQ(store.at("lstm/l0/fw/weight_ih").init_spec, "glorot_uniform(gain=1.0)");
  EXPECT_EQ(store.at("lstm/l0/fw/weight_hh").init_spec, "per_gate(init=orthogonal(gain=1.0, version=2))");
  EXPECT_EQ(store.at("lstm/l0/fw/bias_ih").init_spec, "gates(f=constant(value=2.0), default=zeros)");
  const auto bias = store.value<float>(store.at("lstm/l0/fw/bias_ih"));
  for (int64_t j = 0; j < 5; ++j) {
    EXPECT_EQ(bias[j], 0.0f);
    EXPECT_EQ(bias[5 + j], 2.0f);  // the f block: second in i, f, g, o
    EXPECT_EQ(bias[10 + j], 0.0f);
  }
  for (float x : store.value<float>(store.at("lstm/l0/fw/bias_hh")).span()) EXPECT_EQ(x, 0.0f);
}

TEST(RecurrentVariables, PytorchPresetBoundsAllFourTensors) {
  VariableStore store(11);
  const RecurrentSpec spec{CellKind::gru, 3, 16, 1, false, 0};
  create_recurrent_variables(store, spec, {.preset = Preset::pytorch});
  for (const Variable& v : store.variables()) {
    double largest = 0.0;
    for (float x : store.value<float>(v).span()) largest = test::nan_max(largest, std::abs(x));
    EXPECT_LE(largest, 0.25f) << v.name;
    EXPECT_GT(largest, 0.2f) << v.name;  // not zero: bias_hh is random in PyTorch too
  }
}

TEST(RecurrentVariables, ForgetBiasIsForLstmOnly) {
  VariableStore store;
  RecurrentInitChoice choice;
  choice.forget_bias = 1.0;
  EXPECT_THROW(create_recurrent_variables(store, {CellKind::gru, 3, 5, 1, false, 0}, choice), Error);
}

TEST(RecurrentVariables, TwoLayersSharingAScopeShareWeights) {
  VariableStore store;
  const RecurrentSpec spec{CellKind::rnn_tanh, 3, 4, 1, false, 0};
  std::vector<const Variable*> first, second;
  {
    auto s = store.scope("rnn");
    first = create_recurrent_variables(store, spec);
  }
  {
    auto s = store.scope("rnn", {.reuse = Reuse::yes});
    second = create_recurrent_variables(store, spec);
  }
  EXPECT_EQ(first, second);
  EXPECT_EQ(store.variables().size(), 4u);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

TEST(GateView, ReadsAndWritesOneGateInPlace) {
  VariableStore store(3);
  {
    auto s = store.scope("lstm");
    create_recurrent_variables(store, {CellKind::lstm, 3, 5, 1, false, 2});
  }
  const Variable& bias = store.at("lstm/l0/fw/bias_ih");
  const TensorView<float> forget = gate_view<float>(store, bias, 'f');
  EXPECT_EQ(forget.shape(), Shape{5});
  for (float x : forget.span()) EXPECT_EQ(x, 1.0f);  // keras preset: forget bias 1
  forget[2] = 7.0f;
  EXPECT_EQ(store.value<float>(bias)[5 + 2], 7.0f);  // the f block is the second of i, f, g, o
  const TensorView<float> g_hh = gate_view<float>(store, store.at("lstm/l0/fw/weight_hh"), 'g');
  EXPECT_EQ(g_hh.shape(), (Shape{5, 2}));  // [H, P] with projection
  EXPECT_EQ(g_hh.data(), store.value<float>(store.at("lstm/l0/fw/weight_hh")).data() + 2 * 5 * 2);
  EXPECT_THROW(gate_view<float>(store, bias, 'z'), Error);
  EXPECT_THROW(gate_view<float>(store, store.at("lstm/l0/fw/weight_hr"), 'i'), Error);
}

}  // namespace
}  // namespace rnnkit

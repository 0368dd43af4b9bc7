// The fused recurrent layer as a tape node, mixed with hand-written ops: finite-difference
// checks of the input, h0, c0 and every parameter (the layer's and a head's) in float64.
#include "rnnkit/autograd/recurrent_op.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/autograd/ops.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "test_support.h"

namespace rnnkit {
namespace {

Tensor<double> random_tensor(Shape shape, const std::string& name) {
  RandomStream stream(11, name);
  Tensor<double> t(std::move(shape));
  for (double& x : t.storage()) x = stream.uniform(-1, 1);
  return t;
}

TEST(RecurrentOp, GradientsThroughLayerAndHeadMatchFiniteDifferences) {
  const RecurrentSpec spec{CellKind::lstm, 3, 4, 2, true, 0};
  VariableStore store(5, DType::f64);
  {
    auto scope = store.scope("enc");
    create_recurrent_variables(store, spec, {.preset = Preset::pytorch});
  }
  const Variable& head = store.get_variable("head/weight", {8, 2});
  RecurrentLayer<double> layer(store, "enc", spec);
  Tensor<double> x = random_tensor({5, 3, 3}, "x"), h0 = random_tensor({4, 3, 4}, "h0"),
                 c0 = random_tensor({4, 3, 4}, "c0");
  const std::vector<int64_t> lengths = {5, 2, 4};
  const Tensor<double> r = random_tensor({12, 4}, "r");
  Tape<double> tape(store);
  // loss = mean(tanh(output W_head)) + sum(h_n * r): the output and h_n both feed it.
  auto run = [&](bool grad) {
    tape.clear();
    Value<double> xi = tape.input(x.view(), grad), h0i = tape.input(h0.view(), grad), c0i = tape.input(c0.view(), grad);
    RecurrentValues<double> y = recurrent(layer, xi, lengths, h0i, c0i);
    Value<double> logits = tanh(matmul(reshape(y.output, {15, 8}), tape.param(head)));
    Value<double> l = mean(logits) + sum(mul(reshape(y.h_n, {12, 4}), tape.input(r.view())));
    if (grad) {
      store.zero_grad();
      tape.backward(l);
    }
    return std::make_tuple(l.value()[0], xi, h0i, c0i);
  };
  auto [loss, xi, h0i, c0i] = run(true);
  (void)loss;
  const Tensor<double> dx(xi.grad().shape(),
                          std::vector<double>(xi.grad().data(), xi.grad().data() + xi.grad().numel()));
  const Tensor<double> dh0(h0i.grad().shape(),
                           std::vector<double>(h0i.grad().data(), h0i.grad().data() + h0i.grad().numel()));
  const Tensor<double> dc0(c0i.grad().shape(),
                           std::vector<double>(c0i.grad().data(), c0i.grad().data() + c0i.grad().numel()));
  std::vector<double> dparams(store.gradients<double>().begin(), store.gradients<double>().end());
  constexpr double eps = 1e-6;
  auto numeric = [&](double& v) {
    const double saved = v;
    v = saved + eps;
    const double up = std::get<0>(run(false));
    v = saved - eps;
    const double down = std::get<0>(run(false));
    v = saved;
    return (up - down) / (2 * eps);
  };
  auto expect = [](double a, double n, const std::string& what) {
    EXPECT_NEAR(a, n, 1e-7 * std::max({1.0, std::abs(a), std::abs(n)})) << what;
  };
  for (int64_t i = 0; i < x.numel(); ++i) expect(dx[i], numeric(x[i]), "x " + std::to_string(i));
  for (int64_t i = 0; i < h0.numel(); ++i) expect(dh0[i], numeric(h0[i]), "h0 " + std::to_string(i));
  for (int64_t i = 0; i < c0.numel(); ++i) expect(dc0[i], numeric(c0[i]), "c0 " + std::to_string(i));
  std::span<double> values = store.parameters<double>();
  for (const Variable& v : store.variables()) {
    for (int64_t i = 0; i < v.numel; ++i) {
      const std::size_t at = static_cast<std::size_t>(v.offset + i);
      expect(dparams[at], numeric(values[at]), v.name + " " + std::to_string(i));
    }
  }
}

TEST(RecurrentOp, ALayerObjectRecordedTwiceIsAnError) {
  const RecurrentSpec spec{CellKind::gru, 3, 3, 1, false, 0};
  VariableStore store(5, DType::f64);
  {
    auto scope = store.scope("g");
    create_recurrent_variables(store, spec);
  }
  RecurrentLayer<double> layer(store, "g", spec);
  Tape<double> tape(store);
  Tensor<double> x({4, 2, 3});
  Value<double> xi = tape.input(x.view());
  RecurrentValues<double> a = recurrent(layer, xi);
  RecurrentValues<double> b = recurrent(layer, a.output);  // wrong: the workspace now holds the second use
  EXPECT_FALSE(b.c_n.valid());
  EXPECT_NE(test::error_of([&] { tape.backward(sum(a.output) + sum(b.h_n)); }).find("record one layer object per use"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

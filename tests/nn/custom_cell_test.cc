// A hand-written cell through unroll: the per-gate LSTM of examples/custom_lstm, loaded with
// the fused LSTM's weights (per-gate blocks, transposed; bi = b_ih + b_hh), gives the fused
// layer's outputs, final states and every gradient; lengths keep states and zero outputs
// as the fused layer does; and the tape's memory grows linearly with T.
#include <gtest/gtest.h>

#include <cmath>

#include "custom_lstm/per_gate_lstm.h"
#include "test_support.h"

namespace rnnkit {
namespace {

constexpr int64_t kI = 3, kH = 5, kB = 4, kT = 6;

Tensor<double> random_tensor(Shape shape, const std::string& name) {
  RandomStream stream(17, name);
  Tensor<double> t(std::move(shape));
  for (double& x : t.storage()) x = stream.uniform(-1, 1);
  return t;
}

double max_diff(TensorView<const double> a, TensorView<const double> b) {
  EXPECT_EQ(a.shape(), b.shape());
  return test::max_abs_difference(a.data(), b.data(), a.numel());  // NaN if either holds one
}

// A fused LSTM store under "rnn" with every weight and bias from N(0, 0.5).
VariableStore make_fused_store(const RecurrentSpec& spec) {
  VariableStore store(3, DType::f64);
  auto scope = store.scope("rnn");
  RecurrentInitChoice choice;
  choice.kernel = choice.recurrent = choice.bias = choice.bias_hh = parse_initializer("normal(0, 0.5)");
  create_recurrent_variables(store, spec, choice);
  return store;
}

// The fused direction `fused_prefix` ("rnn/l0/fw/") into the per-gate cell under
// `cell_prefix` ("LSTMcell/"): gate g's block of W_ih [4H, I] transposed is wx [I, H].
void load_fused_into_cell(VariableStore& fused, const std::string& fused_prefix, VariableStore& custom,
                          const std::string& cell_prefix) {
  const auto w_ih = fused.value<double>(fused.at(fused_prefix + "weight_ih"));
  const auto w_hh = fused.value<double>(fused.at(fused_prefix + "weight_hh"));
  const auto b_ih = fused.value<double>(fused.at(fused_prefix + "bias_ih"));
  const auto b_hh = fused.value<double>(fused.at(fused_prefix + "bias_hh"));
  for (int64_t gate = 0; gate < 4; ++gate) {
    const std::string scope = cell_prefix + per_gate_lstm::kGates[static_cast<std::size_t>(gate)] + "/";
    auto wx = custom.value<double>(custom.at(scope + "wx"));
    auto wt = custom.value<double>(custom.at(scope + "wt"));
    auto bi = custom.value<double>(custom.at(scope + "bi"));
    for (int64_t j = 0; j < kH; ++j) {
      for (int64_t i = 0; i < kI; ++i) wx[i * kH + j] = w_ih[(gate * kH + j) * kI + i];
      for (int64_t i = 0; i < kH; ++i) wt[i * kH + j] = w_hh[(gate * kH + j) * kH + i];
      bi[j] = b_ih[gate * kH + j] + b_hh[gate * kH + j];
    }
  }
}

// The largest difference between the fused direction's parameter gradients and the cell's.
double max_gradient_difference(VariableStore& fused, const std::string& fused_prefix, VariableStore& custom,
                               const std::string& cell_prefix) {
  const auto dw_ih = fused.grad<double>(fused.at(fused_prefix + "weight_ih"));
  const auto dw_hh = fused.grad<double>(fused.at(fused_prefix + "weight_hh"));
  const auto db_ih = fused.grad<double>(fused.at(fused_prefix + "bias_ih"));
  const auto db_hh = fused.grad<double>(fused.at(fused_prefix + "bias_hh"));
  double worst = 0;
  for (int64_t gate = 0; gate < 4; ++gate) {
    const std::string scope = cell_prefix + per_gate_lstm::kGates[static_cast<std::size_t>(gate)] + "/";
    const auto dwx = custom.grad<double>(custom.at(scope + "wx"));
    const auto dwt = custom.grad<double>(custom.at(scope + "wt"));
    const auto dbi = custom.grad<double>(custom.at(scope + "bi"));
    for (int64_t j = 0; j < kH; ++j) {
      for (int64_t i = 0; i < kI; ++i)
        worst = test::nan_max(worst, std::abs(dwx[i * kH + j] - dw_ih[(gate * kH + j) * kI + i]));
      for (int64_t i = 0; i < kH; ++i)
        worst = test::nan_max(worst, std::abs(dwt[i * kH + j] - dw_hh[(gate * kH + j) * kH + i]));
      worst = test::nan_max(worst, std::abs(dbi[j] - db_ih[gate * kH + j]));
      worst =
          test::nan_max(worst, std::abs(db_ih[gate * kH + j] - db_hh[gate * kH + j]));  // b_ih and b_hh get the same
    }
  }
  return worst;
}

TEST(CustomCell, PerGateLstmEqualsTheFusedLayerInOutputsAndGradients) {
  const RecurrentSpec spec{CellKind::lstm, kI, kH, 1, false, 0};
  VariableStore fused_store = make_fused_store(spec);
  const Tensor<double> x = random_tensor({kT, kB, kI}, "x"), h0 = random_tensor({1, kB, kH}, "h0"),
                       c0 = random_tensor({1, kB, kH}, "c0"), r_out = random_tensor({kT, kB, kH}, "r_out"),
                       r_h = random_tensor({1, kB, kH}, "r_h"), r_c = random_tensor({1, kB, kH}, "r_c");
  const std::vector<int64_t> lengths = {6, 2, 5, 1};

  RecurrentLayer<double> fused(fused_store, "rnn", spec);
  const RecurrentResult<double> y = fused.forward(x.view(), lengths, h0.view(), c0.view());
  fused_store.zero_grad();
  const RecurrentGradients<double> g = fused.backward(r_out.view(), r_h.view(), r_c.view());

  VariableStore custom_store(4, DType::f64);
  Tape<double> tape(custom_store);
  auto run = [&] {
    tape.clear();
    Value<double> xi = tape.input(x.view(), true);
    Value<double> h0i = tape.input(h0.view().reshaped({kB, kH}), true),
                  c0i = tape.input(c0.view().reshaped({kB, kH}), true);
    UnrollResult<double> u = unroll(per_gate_lstm::cell(tape, kI, kH), xi, lengths, {h0i, c0i});
    Value<double> loss = sum(mul(u.output, tape.input(r_out.view()))) +
                         sum(mul(u.final_state[0], tape.input(r_h.view().reshaped({kB, kH})))) +
                         sum(mul(u.final_state[1], tape.input(r_c.view().reshaped({kB, kH}))));
    return std::make_tuple(u, loss, xi, h0i, c0i);
  };
  run();  // creates the cell's variables
  load_fused_into_cell(fused_store, "rnn/l0/fw/", custom_store, "LSTMcell/");
  auto [u, loss, xi, h0i, c0i] = run();
  custom_store.zero_grad();
  tape.backward(loss);

  constexpr double kTol = 1e-12;  // float64 on both sides, different summation orders
  EXPECT_LT(max_diff(u.output.value(), y.output.view()), kTol);
  EXPECT_LT(max_diff(u.final_state[0].value(), y.h_n.view().reshaped({kB, kH})), kTol);
  EXPECT_LT(max_diff(u.final_state[1].value(), y.c_n.view().reshaped({kB, kH})), kTol);
  EXPECT_LT(max_diff(xi.grad(), g.d_input.view()), kTol);
  EXPECT_LT(max_diff(h0i.grad(), g.d_h0.view().reshaped({kB, kH})), kTol);
  EXPECT_LT(max_diff(c0i.grad(), g.d_c0.view().reshaped({kB, kH})), kTol);
  EXPECT_LT(max_gradient_difference(fused_store, "rnn/l0/fw/", custom_store, "LSTMcell/"), kTol);
}

TEST(CustomCell, BidirectionalPerGateLstmEqualsTheFusedBidirectionalLayer) {
  const RecurrentSpec spec{CellKind::lstm, kI, kH, 1, true, 0};
  VariableStore fused_store = make_fused_store(spec);
  const Tensor<double> x = random_tensor({kT, kB, kI}, "x"), r_out = random_tensor({kT, kB, 2 * kH}, "r_out");
  const std::vector<int64_t> lengths = {6, 2, 5, 1};
  RecurrentLayer<double> fused(fused_store, "rnn", spec);
  const RecurrentResult<double> y = fused.forward(x.view(), lengths);
  fused_store.zero_grad();
  const RecurrentGradients<double> g = fused.backward(r_out.view());

  VariableStore custom_store(4, DType::f64);
  Tape<double> tape(custom_store);
  auto in_scope = [&](const char* name) -> CellFunction<double> {  // one cell per direction, own weights
    return [&custom_store, &tape, name](Value<double> xt, const std::vector<Value<double>>& state) {
      auto scope = custom_store.scope(name, {.reuse = Reuse::automatic});
      return per_gate_lstm::cell(tape, kI, kH)(xt, state);
    };
  };
  const Tensor<double> zeros({kB, kH});
  auto run = [&] {
    tape.clear();
    Value<double> xi = tape.input(x.view(), true);
    auto init = [&] { return std::vector<Value<double>>{tape.input(zeros.view()), tape.input(zeros.view())}; };
    BidirectionalResult<double> u = unroll_bidirectional(in_scope("fw"), in_scope("bw"), xi, lengths, init(), init());
    return std::make_tuple(u, sum(mul(u.output, tape.input(r_out.view()))), xi);
  };
  run();  // creates the variables
  load_fused_into_cell(fused_store, "rnn/l0/fw/", custom_store, "fw/LSTMcell/");
  load_fused_into_cell(fused_store, "rnn/l0/bw/", custom_store, "bw/LSTMcell/");
  auto [u, loss, xi] = run();
  custom_store.zero_grad();
  tape.backward(loss);
  constexpr double kTol = 1e-12;
  EXPECT_LT(max_diff(u.output.value(), y.output.view()), kTol);
  EXPECT_LT(max_diff(u.backward_state[0].value(), y.h_n.view().rows(1, 1).reshaped({kB, kH})), kTol);
  EXPECT_LT(max_diff(xi.grad(), g.d_input.view()), kTol);
  EXPECT_LT(max_gradient_difference(fused_store, "rnn/l0/fw/", custom_store, "fw/LSTMcell/"), kTol);
  EXPECT_LT(max_gradient_difference(fused_store, "rnn/l0/bw/", custom_store, "bw/LSTMcell/"), kTol);
}

// Tape memory for the per-gate cell, B=4, I=8, H=16, float32. Stated bound: at most 64
// values of B*H floats per step (the cell records 31 values and their gradients, 62),
// plus the input, its gradient and the stacked output (I + I + H per step and row), plus
// one arena block (256K floats) of slack. And linear: T=1000 takes about 10x T=100.
TEST(CustomCell, TapeMemoryIsLinearInTAndWithinTheStatedBound) {
  constexpr int64_t kBatch = 4, kIn = 8, kHidden = 16;
  auto peak = [&](int64_t steps) {
    VariableStore store(1);
    Tape<float> tape(store);
    Tensor<float> x({steps, kBatch, kIn}), zeros({kBatch, kHidden});
    auto u = unroll(per_gate_lstm::cell(tape, kIn, kHidden), tape.input(x.view(), true), {},
                    {tape.input(zeros.view()), tape.input(zeros.view())});
    tape.backward(mean(u.output));
    return tape.peak_bytes();
  };
  const std::size_t p1000 = peak(1000), p2000 = peak(2000);
  const double bound = (64.0 * kBatch * kHidden + (2 * kIn + kHidden) * kBatch) * 4.0 * 1000 + 4.0 * (1 << 18);
  EXPECT_LE(static_cast<double>(p1000), bound) << "peak " << p1000 << " bytes";
  EXPECT_GT(static_cast<double>(p2000) / static_cast<double>(p1000), 1.8);
  EXPECT_LT(static_cast<double>(p2000) / static_cast<double>(p1000), 2.2);
  std::cout << "tape peak: T=1000 " << p1000 << " bytes (bound " << bound << "), T=2000 " << p2000 << " bytes\n";
}

TEST(CustomCell, UnrollNamesWhatDoesNotFit) {
  VariableStore store(1, DType::f64);
  Tape<double> tape(store);
  Tensor<double> x({3, 2, 4}), h({2, 5});
  const Value<double> xi = tape.input(x.view()), hi = tape.input(h.view());
  const CellFunction<double> shrinking = [](Value<double> xt, const std::vector<Value<double>>&) {
    return std::vector<Value<double>>{xt};  // [2, 4], not [2, 5]
  };
  EXPECT_NE(test::error_of([&] { unroll(shrinking, xi, {}, {hi}); }).find("state value 0 is [2,4], expected [2,5]"),
            std::string::npos);
  const std::vector<int64_t> bad = {3, 4};
  EXPECT_NE(
      test::error_of([&] { unroll(shrinking, xi, bad, {hi}); }).find("lengths[1] is 4, expected a value in [1, 3]"),
      std::string::npos);
}

}  // namespace
}  // namespace rnnkit

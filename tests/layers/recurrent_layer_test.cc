// The recurrent layer: fast path against the naive reference, finite-difference gradient
// checks in float64 of every input, state and parameter for every cell, variant and option,
// batched against one sequence at a time, bidirectional against a manually reversed
// direction, per-direction stacking against two separate stacks, closed-form steps, and
// errors on bad input. Sizes are all different (I=3, H=5, B=4, T=6, P=2) so that a swapped
// dimension shows. Every comparison fails on NaN (ComparisonsFailOnNan shows it).
#include "rnnkit/layers/recurrent_layer.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/layers/reference_recurrent.h"
#include "rnnkit/random/stream.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;
using test::max_abs_difference;

// Tolerances, named per dtype: float64 paths agree to rounding; central differences with
// step 1e-6 have truncation error ~1e-12 and cancellation error ~1e-10 relative.
constexpr double kForwardTol64 = 1e-12;
constexpr double kForwardTol32 = 2e-5;
constexpr double kGradientTol64 = 1e-6;

constexpr int64_t kI = 3, kH = 5, kB = 4, kT = 6, kP = 2;
const std::vector<int64_t> kLengths = {6, 2, 5, 1};

// Clips small enough that the N(0, 0.5) weights below make each of them bite.
constexpr double kGateClip = 1.0, kCellClip = 0.6, kProjClip = 0.4;

struct Config {
  RecurrentSpec spec;
  RecurrentLayerOptions options;
  bool lengths = false;
  bool initial_state = false;
};

// The test's name, made from the fields, so that it cannot say something else than they do.
std::string label_of(const Config& c) {
  const RecurrentSpec& s = c.spec;
  const CellOptions& o = c.options.cell;
  std::string l = cell_name(s.cell);
  if (s.cell == CellKind::gru && o.gru_reset == GruReset::before) l += "_reset_before";
  if (s.num_layers > 1) l += "_" + std::to_string(s.num_layers) + "layers";
  if (s.bidirectional) l += "_bi";
  if (s.stacking == Stacking::per_direction) l += "_per_direction";
  if (s.proj_size > 0) l += "_proj";
  if (!s.bias) l += "_no_bias";
  if (s.peepholes) l += "_peepholes";
  if (!o.recurrent_activation.is_sigmoid()) l += "_hard_sigmoid";
  if (o.activation == CellActivation::relu && s.cell != CellKind::rnn_relu) l += "_relu";
  if (o.gate_clip > 0) l += "_gate_clip";
  if (o.cell_clip > 0) l += "_cell_clip";
  if (o.proj_clip > 0) l += "_proj_clip";
  if (c.options.merge != BidirectionalMerge::concat) l += std::string("_") + merge_name(c.options.merge);
  if (c.options.dropout > 0) l += "_dropout";
  if (c.options.batch_first) l += "_batch_first";
  if (c.lengths) l += "_lengths";
  if (c.initial_state) l += "_state";
  return l;
}

void PrintTo(const Config& c, std::ostream* os) { *os << label_of(c); }

RecurrentSpec sized(RecurrentSpec s) {
  s.input_size = kI;
  s.hidden_size = kH;
  if (s.proj_size > 0) s.proj_size = kP;
  return s;
}

const std::vector<Config>& configs() {
  using enum CellKind;
  const GateActivation hard = GateActivation::hard_sigmoid(0.2, 0.5);
  const GateActivation keras3 = GateActivation::hard_sigmoid(1.0 / 6.0, 0.5);
  static const std::vector<Config> all = {
      {.spec = sized({.cell = lstm})},
      {.spec = sized({.cell = lstm, .num_layers = 2, .bidirectional = true}), .lengths = true, .initial_state = true},
      {.spec = sized({.cell = lstm, .bidirectional = true, .proj_size = kP}), .lengths = true, .initial_state = true},
      {.spec = sized({.cell = lstm, .num_layers = 3, .proj_size = kP}), .options = {.batch_first = true}},
      {.spec = sized({.cell = gru})},
      {.spec = sized({.cell = gru, .num_layers = 2, .bidirectional = true}), .lengths = true, .initial_state = true},
      {.spec = sized({.cell = gru}), .options = {.cell = {.gru_reset = GruReset::before}}},
      {.spec = sized({.cell = gru, .num_layers = 2, .bidirectional = true}),
       .options = {.cell = {.gru_reset = GruReset::before}},
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = gru, .num_layers = 2}),
       .options = {.cell = {.gru_reset = GruReset::before}, .batch_first = true},
       .initial_state = true},
      {.spec = sized({.cell = rnn_tanh, .num_layers = 2, .bidirectional = true}),
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = rnn_relu}), .options = {.batch_first = true}, .initial_state = true},
      {.spec = sized({.cell = rnn_relu, .num_layers = 2, .bidirectional = true}), .lengths = true},
      {.spec = sized({.cell = lstm, .bidirectional = true}),
       .options = {.merge = BidirectionalMerge::mul},
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = gru, .num_layers = 2, .bidirectional = true}),
       .options = {.merge = BidirectionalMerge::sum, .dropout = 0.4}},
      {.spec = sized({.cell = lstm, .num_layers = 3, .bidirectional = true, .proj_size = kP}),
       .options = {.merge = BidirectionalMerge::ave, .dropout = 0.5},
       .lengths = true},
      // The variants real checkpoints hold.
      {.spec = sized({.cell = lstm, .peepholes = true}), .lengths = true, .initial_state = true},
      {.spec = sized({.cell = lstm, .num_layers = 2, .bidirectional = true, .proj_size = kP, .peepholes = true}),
       .options = {.cell = {.cell_clip = kCellClip, .proj_clip = kProjClip}},
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = lstm, .bidirectional = true}),
       .options = {.cell = {.recurrent_activation = hard, .gate_clip = kGateClip}},
       .lengths = true},
      {.spec = sized({.cell = lstm}),
       .options = {.cell = {.activation = CellActivation::relu, .cell_clip = kCellClip}},
       .initial_state = true},
      {.spec = sized({.cell = lstm, .peepholes = true}),
       .options = {.cell = {.recurrent_activation = keras3, .gate_clip = kGateClip, .cell_clip = kCellClip}},
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = lstm, .num_layers = 2, .bidirectional = true, .bias = false})},
      {.spec = sized({.cell = lstm, .proj_size = kP, .bias = false, .peepholes = true}), .lengths = true},
      {.spec = sized({.cell = gru, .num_layers = 2, .bidirectional = true, .bias = false}), .lengths = true},
      {.spec = sized({.cell = gru, .bias = false}),
       .options = {.cell = {.gru_reset = GruReset::before}},
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = gru}),
       .options = {.cell = {.recurrent_activation = hard, .activation = CellActivation::relu, .gate_clip = kGateClip}},
       .lengths = true},
      {.spec = sized({.cell = gru, .bidirectional = true}),
       .options = {.cell = {.gru_reset = GruReset::before, .recurrent_activation = keras3, .gate_clip = kGateClip}},
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = rnn_tanh, .bias = false}),
       .options = {.cell = {.gate_clip = kGateClip}},
       .lengths = true},
      {.spec = sized({.cell = rnn_relu, .bidirectional = true}), .options = {.cell = {.gate_clip = kGateClip}}},
      {.spec = sized({.cell = lstm, .num_layers = 3, .bidirectional = true, .stacking = Stacking::per_direction}),
       .lengths = true,
       .initial_state = true},
      {.spec = sized({.cell = gru, .num_layers = 2, .bidirectional = true, .stacking = Stacking::per_direction}),
       .options = {.merge = BidirectionalMerge::sum, .dropout = 0.3}},
      {.spec = sized({.cell = lstm,
                      .num_layers = 2,
                      .bidirectional = true,
                      .proj_size = kP,
                      .bias = false,
                      .peepholes = true,
                      .stacking = Stacking::per_direction}),
       .options = {.batch_first = true},
       .initial_state = true},
      {.spec = sized({.cell = rnn_tanh, .num_layers = 2, .bidirectional = true, .stacking = Stacking::per_direction}),
       .lengths = true},
  };
  return all;
}

// A store with every weight and bias drawn from N(0, 0.5): gates far from trivial.
template <class T>
VariableStore make_store(const Config& c) {
  VariableStore store(21, DTypeOf<T>::value);
  auto scope = store.scope("rnn");
  RecurrentInitChoice choice;
  choice.kernel = choice.recurrent = parse_initializer("normal(0, 0.5)");
  if (c.spec.bias) choice.bias = choice.bias_hh = choice.kernel;
  if (c.spec.peepholes) choice.peephole = choice.kernel;
  create_recurrent_variables(store, c.spec, choice);
  return store;
}

template <class T>
Tensor<T> random_tensor(Shape shape, const std::string& name) {
  RandomStream stream(5, name);
  Tensor<T> t(std::move(shape));
  for (T& x : t.storage()) x = static_cast<T>(stream.normal());
  return t;
}

struct Inputs {
  Tensor<double> x, h0, c0;
  std::vector<int64_t> lengths;
};

Inputs make_inputs(const Config& c) {
  const RecurrentSpec& s = c.spec;
  Inputs in;
  in.x = random_tensor<double>(c.options.batch_first ? Shape{kB, kT, kI} : Shape{kT, kB, kI}, "x");
  if (c.initial_state) {
    in.h0 = random_tensor<double>({s.num_layers * s.directions(), kB, s.recurrent_width()}, "h0");
    if (s.cell == CellKind::lstm) in.c0 = random_tensor<double>({s.num_layers * s.directions(), kB, kH}, "c0");
  }
  if (c.lengths) in.lengths = kLengths;
  return in;
}

template <class T>
TensorView<const T> view_or_empty(const Tensor<T>& t) {
  return t.numel() > 0 ? t.view() : TensorView<const T>();
}

// Fails (on NaN too) unless every element of `got` is within `tol` of `expected`.
template <class T>
void expect_close(const Tensor<T>& got, const Tensor<double>& expected, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), expected.shape()) << what;
  EXPECT_LE(max_abs_difference(got.data(), expected.data(), expected.numel()), tol) << what;
}

class RecurrentLayerTest : public ::testing::TestWithParam<Config> {};

TEST_P(RecurrentLayerTest, FastPathMatchesReference) {
  const Config& c = GetParam();
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> layer(store, "rnn", c.spec, c.options);
  const auto fast = layer.forward(in.x.view(), in.lengths, view_or_empty(in.h0), view_or_empty(in.c0));
  const auto ref = reference_recurrent_forward(store, "rnn", c.spec, c.options, in.x.view(), in.lengths,
                                               view_or_empty(in.h0), view_or_empty(in.c0));
  expect_close(fast.output, ref.output, kForwardTol64, "output");
  expect_close(fast.h_n, ref.h_n, kForwardTol64, "h_n");
  expect_close(fast.c_n, ref.c_n, kForwardTol64, "c_n");
  if (c.lengths && !c.options.batch_first) {  // padding is exactly zero
    const int64_t ow = fast.output.dim(2);
    for (int64_t j = 0; j < ow; ++j) EXPECT_EQ(fast.output[(3 * kB + 1) * ow + j], 0.0);  // t=3, b=1 (length 2)
  }
}

TEST_P(RecurrentLayerTest, Float32MatchesReference) {
  const Config& c = GetParam();
  VariableStore store = make_store<float>(c);
  const Inputs in = make_inputs(c);
  auto to_float = [](const Tensor<double>& t) {
    if (t.numel() == 0) return Tensor<float>();  // absent stays absent
    Tensor<float> f(t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) f[i] = static_cast<float>(t[i]);
    return f;
  };
  const Tensor<float> x = to_float(in.x), h0 = to_float(in.h0), c0 = to_float(in.c0);
  RecurrentLayer<float> layer(store, "rnn", c.spec, c.options);
  const auto fast = layer.forward(x.view(), in.lengths, view_or_empty(h0), view_or_empty(c0));
  const auto ref = reference_recurrent_forward(store, "rnn", c.spec, c.options, in.x.view(), in.lengths,
                                               view_or_empty(in.h0), view_or_empty(in.c0));
  expect_close(fast.output, ref.output, kForwardTol32, "output");
  expect_close(fast.h_n, ref.h_n, kForwardTol32, "h_n");
  expect_close(fast.c_n, ref.c_n, kForwardTol32, "c_n");
}

// Loss = sum(output * R1) + sum(h_n * R2) + sum(c_n * R3): a non-uniform upstream gradient.
struct Loss {
  Tensor<double> r_out, r_h, r_c;
  double operator()(const RecurrentResult<double>& y) const {
    double l = 0.0;
    for (int64_t i = 0; i < y.output.numel(); ++i) l += y.output[i] * r_out[i];
    for (int64_t i = 0; i < y.h_n.numel(); ++i) l += y.h_n[i] * r_h[i];
    for (int64_t i = 0; i < y.c_n.numel(); ++i) l += y.c_n[i] * r_c[i];
    return l;
  }
};

void expect_gradient(double analytic, double numeric, const std::string& what) {
  EXPECT_NEAR(analytic, numeric, kGradientTol64 * std::max({1.0, std::abs(analytic), std::abs(numeric)})) << what;
}

TEST_P(RecurrentLayerTest, GradientsMatchFiniteDifferences) {
  const Config& c = GetParam();
  VariableStore store = make_store<double>(c);
  Inputs in = make_inputs(c);
  RecurrentLayer<double> layer(store, "rnn", c.spec, c.options);
  layer.set_training(c.options.dropout > 0.0);
  auto run = [&] {
    layer.set_dropout_seed(99);  // the same masks in every forward
    return layer.forward(in.x.view(), in.lengths, view_or_empty(in.h0), view_or_empty(in.c0));
  };

  const RecurrentResult<double> y = run();
  Loss loss{random_tensor<double>(y.output.shape(), "r1"), random_tensor<double>(y.h_n.shape(), "r2"),
            y.c_n.numel() > 0 ? random_tensor<double>(y.c_n.shape(), "r3") : Tensor<double>()};
  store.zero_grad();
  const RecurrentGradients<double> g = layer.backward(loss.r_out.view(), loss.r_h.view(), view_or_empty(loss.r_c));

  constexpr double eps = 1e-6;
  auto numeric = [&](double& x) {
    const double saved = x;
    x = saved + eps;
    const double up = loss(run());
    x = saved - eps;
    const double down = loss(run());
    x = saved;
    return (up - down) / (2 * eps);
  };
  for (int64_t i = 0; i < in.x.numel(); ++i)
    expect_gradient(g.d_input[i], numeric(in.x[i]), "input " + std::to_string(i));
  for (int64_t i = 0; i < in.h0.numel(); ++i) expect_gradient(g.d_h0[i], numeric(in.h0[i]), "h0 " + std::to_string(i));
  for (int64_t i = 0; i < in.c0.numel(); ++i) expect_gradient(g.d_c0[i], numeric(in.c0[i]), "c0 " + std::to_string(i));
  int64_t checked = 0;
  for (const Variable& v : store.variables()) {
    const TensorView<double> values = store.value<double>(v);
    const TensorView<double> grads = store.grad<double>(v);
    for (int64_t i = 0; i < v.numel; ++i)
      expect_gradient(grads[i], numeric(values[i]), v.name + " " + std::to_string(i));
    checked += v.numel;
  }
  EXPECT_EQ(checked, store.parameter_count());
}

// Each sequence on its own (time-major, T = its length) gives the batched layer's numbers.
TEST_P(RecurrentLayerTest, BatchedEqualsOneSequenceAtATime) {
  const Config& c = GetParam();
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  const RecurrentSpec& s = c.spec;
  RecurrentLayerOptions options = c.options;
  options.dropout = 0.0;
  RecurrentLayer<double> layer(store, "rnn", s, options);
  const auto all = layer.forward(in.x.view(), in.lengths, view_or_empty(in.h0), view_or_empty(in.c0));
  const bool bf = options.batch_first;
  options.batch_first = false;
  const int64_t ld = s.num_layers * s.directions(), rw = s.recurrent_width(), ow = all.output.dim(2);
  auto at = [&](int64_t t, int64_t b) { return bf ? b * kT + t : t * kB + b; };  // row of (t, b) in x and output
  for (int64_t b = 0; b < kB; ++b) {
    const int64_t len = c.lengths ? kLengths[static_cast<std::size_t>(b)] : kT;
    Tensor<double> x({len, 1, kI}), h0({ld, 1, rw}), c0({ld, 1, kH});
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t j = 0; j < kI; ++j) x[t * kI + j] = in.x[at(t, b) * kI + j];
    }
    for (int64_t r = 0; r < ld && c.initial_state; ++r) {
      for (int64_t j = 0; j < rw; ++j) h0[r * rw + j] = in.h0[(r * kB + b) * rw + j];
      for (int64_t j = 0; j < kH && s.cell == CellKind::lstm; ++j) c0[r * kH + j] = in.c0[(r * kB + b) * kH + j];
    }
    RecurrentLayer<double> single(store, "rnn", s, options);
    const auto one =
        single.forward(x.view(), {}, c.initial_state ? h0.view() : TensorView<const double>(),
                       c.initial_state && s.cell == CellKind::lstm ? c0.view() : TensorView<const double>());
    double worst = 0.0;
    for (int64_t t = 0; t < len; ++t) {
      worst =
          test::nan_max(worst, max_abs_difference(one.output.data() + t * ow, all.output.data() + at(t, b) * ow, ow));
    }
    for (int64_t r = 0; r < ld; ++r) {
      worst = test::nan_max(worst, max_abs_difference(one.h_n.data() + r * rw, all.h_n.data() + (r * kB + b) * rw, rw));
    }
    EXPECT_LE(worst, kForwardTol64) << "sequence " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, RecurrentLayerTest, ::testing::ValuesIn(configs()),
                         [](const ::testing::TestParamInfo<Config>& param) { return label_of(param.param); });

TEST(RecurrentLayer, LabelsAreUnique) {
  std::set<std::string> labels;
  for (const Config& c : configs()) EXPECT_TRUE(labels.insert(label_of(c)).second) << label_of(c);
}

TEST(RecurrentLayer, ComparisonsFailOnNan) {
  const Config c{.spec = sized({.cell = CellKind::lstm})};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> layer(store, "rnn", c.spec);
  auto y = layer.forward(in.x.view());
  const Tensor<double> expected = y.output;
  y.output[7] = std::nan("");
  EXPECT_NONFATAL_FAILURE(expect_close(y.output, expected, kForwardTol64, "output"), "output");
  EXPECT_TRUE(std::isnan(test::nan_max(0.0, std::nan(""))));
  EXPECT_TRUE(std::isnan(test::nan_max(std::nan(""), 1.0)));
  EXPECT_EQ(test::nan_max(1.0, 2.0), 2.0);
}

TEST(RecurrentLayer, BidirectionalEqualsTwoManualDirections) {
  const Config c{.spec = sized({.cell = CellKind::gru, .bidirectional = true}), .lengths = true};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> bi(store, "rnn", c.spec);
  const auto both = bi.forward(in.x.view(), in.lengths);
  // A one-directional layer whose weights are the reverse direction's, fed each sequence reversed.
  VariableStore uni(0, DType::f64);
  const RecurrentSpec s1 = sized({.cell = CellKind::gru});
  {
    auto scope = uni.scope("rev");
    create_recurrent_variables(uni, s1);
  }
  for (const char* kind : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    const auto src = store.value<double>(store.at(std::string("rnn/l0/bw/") + kind));
    const auto dst = uni.value<double>(uni.at(std::string("rev/l0/fw/") + kind));
    std::copy(src.data(), src.data() + src.numel(), dst.data());
  }
  Tensor<double> reversed({kT, kB, kI});
  for (int64_t b = 0; b < kB; ++b) {
    const int64_t len = kLengths[static_cast<std::size_t>(b)];
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t j = 0; j < kI; ++j) reversed[(t * kB + b) * kI + j] = in.x[((len - 1 - t) * kB + b) * kI + j];
    }
  }
  RecurrentLayer<double> manual(uni, "rev", s1);
  const auto rev = manual.forward(reversed.view(), in.lengths);
  double worst = 0.0;
  for (int64_t b = 0; b < kB; ++b) {
    const int64_t len = kLengths[static_cast<std::size_t>(b)];
    for (int64_t t = 0; t < len; ++t) {
      worst = test::nan_max(worst, max_abs_difference(both.output.data() + (t * kB + b) * 2 * kH + kH,
                                                      rev.output.data() + ((len - 1 - t) * kB + b) * kH, kH));
    }
    worst = test::nan_max(worst, max_abs_difference(both.h_n.data() + (kB + b) * kH, rev.h_n.data() + b * kH, kH));
  }
  EXPECT_LE(worst, kForwardTol64);
}

// Per-direction stacking (TF1's bidirectional_dynamic_rnn over two MultiRNNCells) is two
// independent stacks: a forward one over the sequences and a forward one over each sequence
// reversed within its length, their last layers' outputs side by side.
TEST(RecurrentLayer, PerDirectionStackingIsTwoIndependentStacks) {
  const Config c{.spec = sized({.cell = CellKind::lstm,
                                .num_layers = 3,
                                .bidirectional = true,
                                .peepholes = true,
                                .stacking = Stacking::per_direction}),
                 .lengths = true,
                 .initial_state = true};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> bi(store, "rnn", c.spec);
  const auto both = bi.forward(in.x.view(), in.lengths, in.h0.view(), in.c0.view());

  RecurrentSpec one = c.spec;
  one.bidirectional = false;
  one.stacking = Stacking::per_layer;
  const int64_t L = c.spec.num_layers;
  Tensor<double> reversed({kT, kB, kI});
  for (int64_t b = 0; b < kB; ++b) {
    const int64_t len = kLengths[static_cast<std::size_t>(b)];
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t j = 0; j < kI; ++j) reversed[(t * kB + b) * kI + j] = in.x[((len - 1 - t) * kB + b) * kI + j];
    }
  }
  for (int d = 0; d < 2; ++d) {
    VariableStore stack(0, DType::f64);
    {
      auto scope = stack.scope("stack");
      create_recurrent_variables(stack, one);
    }
    Tensor<double> h0({L, kB, kH}), c0({L, kB, kH});
    for (int64_t l = 0; l < L; ++l) {
      for (const RecurrentParameter& p : recurrent_parameters(one)) {
        if (p.layer != l) continue;
        const std::string from = "rnn/" + recurrent_variable_name(l, d == 1, p.kind);
        const auto src = store.value<double>(store.at(from));
        std::copy(src.data(), src.data() + src.numel(), stack.value<double>(stack.at("stack/" + p.name)).data());
      }
      std::copy(in.h0.data() + (l * 2 + d) * kB * kH, in.h0.data() + (l * 2 + d + 1) * kB * kH,
                h0.data() + l * kB * kH);
      std::copy(in.c0.data() + (l * 2 + d) * kB * kH, in.c0.data() + (l * 2 + d + 1) * kB * kH,
                c0.data() + l * kB * kH);
    }
    RecurrentLayer<double> layer(stack, "stack", one);
    const auto y = layer.forward(d == 0 ? in.x.view() : reversed.view(), in.lengths, h0.view(), c0.view());
    double worst = 0.0;
    for (int64_t b = 0; b < kB; ++b) {
      const int64_t len = kLengths[static_cast<std::size_t>(b)];
      for (int64_t t = 0; t < len; ++t) {
        const int64_t t_stack = d == 0 ? t : len - 1 - t;
        worst = test::nan_max(worst, max_abs_difference(both.output.data() + (t * kB + b) * 2 * kH + d * kH,
                                                        y.output.data() + (t_stack * kB + b) * kH, kH));
      }
    }
    for (int64_t l = 0; l < L; ++l) {  // h_n row l*D + d is layer l of direction d
      worst = test::nan_max(
          worst, max_abs_difference(both.h_n.data() + (l * 2 + d) * kB * kH, y.h_n.data() + l * kB * kH, kB * kH));
      worst = test::nan_max(
          worst, max_abs_difference(both.c_n.data() + (l * 2 + d) * kB * kH, y.c_n.data() + l * kB * kH, kB * kH));
    }
    EXPECT_LE(worst, kForwardTol64) << (d == 0 ? "forward" : "backward") << " stack";
  }
  EXPECT_EQ(store.at("rnn/l1/fw/weight_ih").shape, (Shape{4 * kH, kH}));  // layer 1 reads one direction
}

// One step of a peephole LSTM with hard_sigmoid gates and a cell clip, worked by hand: with
// W_ih = W_hh = 0 the gates see only their biases and the peepholes.
TEST(RecurrentLayer, PeepholeHardSigmoidClippedStepByHand) {
  const RecurrentSpec spec{.cell = CellKind::lstm, .input_size = 1, .hidden_size = 1, .peepholes = true};
  const RecurrentLayerOptions options{
      .cell = {.recurrent_activation = GateActivation::hard_sigmoid(0.2, 0.5), .cell_clip = 0.9}};
  VariableStore store(0, DType::f64);
  {
    auto scope = store.scope("rnn");
    create_recurrent_variables(store, spec,
                               {.kernel = parse_initializer("zeros"),
                                .recurrent = parse_initializer("zeros"),
                                .bias_hh = parse_initializer("zeros")});
  }
  const double b_i = 1.0, b_f = -2.0, b_g = 0.3, b_o = 4.0, p_i = 0.5, p_f = 1.5, p_o = -1.0, c0 = 2.0;
  const std::vector<double> bias = {b_i, b_f, b_g, b_o}, peephole = {p_i, p_f, p_o};
  std::copy(bias.begin(), bias.end(), store.value<double>(store.at("rnn/l0/fw/bias_ih")).data());
  std::copy(peephole.begin(), peephole.end(), store.value<double>(store.at("rnn/l0/fw/weight_peephole")).data());
  auto hs = [](double x) { return std::min(1.0, std::max(0.0, 0.2 * x + 0.5)); };
  const double i = hs(b_i + p_i * c0);                           // 0.2 * 2 + 0.5 = 0.9
  const double f = hs(b_f + p_f * c0);                           // 0.2 * 1 + 0.5 = 0.7
  const double c1 = std::min(0.9, f * c0 + i * std::tanh(b_g));  // 1.4 + 0.26: clipped to 0.9
  const double o = hs(b_o + p_o * c1);                           // 0.2 * 3.1 + 0.5 = 1.12: saturated at 1
  EXPECT_EQ(c1, 0.9);
  EXPECT_EQ(o, 1.0);
  RecurrentLayer<double> layer(store, "rnn", spec, options);
  const Tensor<double> x({1, 1, 1}), h0({1, 1, 1}), c({1, 1, 1}, std::vector<double>{c0});
  const auto y = layer.forward(x.view(), {}, h0.view(), c.view());
  EXPECT_NEAR(y.c_n[0], 0.9, 1e-15);
  EXPECT_NEAR(y.h_n[0], o * std::tanh(c1), 1e-15);
  const TensorView<const double> gates = layer.gate_activations(0);
  EXPECT_NEAR(gates[0], i, 1e-15);
  EXPECT_NEAR(gates[1], f, 1e-15);
  EXPECT_NEAR(gates[3], 1.0, 1e-15);
  // Backward: the clipped cell passes no gradient to c0 through c1; o is saturated, so only
  // the cell's own path through tanh(c1) remains, and it stops at the clip.
  const Tensor<double> d_h({1, 1, 1}, std::vector<double>{1.0});
  const auto g = layer.backward({}, d_h.view());
  EXPECT_EQ(g.d_c0[0], 0.0);
}

// The clips bound what they clip, and bite in the configurations above.
TEST(RecurrentLayer, ClipsBoundTheirValues) {
  const Config c{.spec = sized({.cell = CellKind::lstm, .proj_size = kP}),
                 .options = {.cell = {.gate_clip = kGateClip, .cell_clip = kCellClip, .proj_clip = kProjClip}},
                 .initial_state = true};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> layer(store, "rnn", c.spec, c.options);
  const auto y = layer.forward(in.x.view(), {}, in.h0.view(), in.c0.view());
  double largest_h = 0.0, largest_c = 0.0;
  for (double v : y.output.storage()) largest_h = test::nan_max(largest_h, std::abs(v));
  for (double v : y.c_n.storage()) largest_c = test::nan_max(largest_c, std::abs(v));
  EXPECT_EQ(largest_h, kProjClip);
  EXPECT_LE(largest_c, kCellClip);
  // Gate activations stay within sigma([-G, G]), and reach its ends.
  const TensorView<const double> gates = layer.gate_activations(0);
  const double top = 1.0 / (1.0 + std::exp(-kGateClip));
  double high = 0.0;
  for (int64_t r = 0; r < kT * kB; ++r) {
    for (int64_t j = 0; j < kH; ++j) high = test::nan_max(high, gates[r * 4 * kH + j]);  // the i block
  }
  EXPECT_NEAR(high, top, 1e-15);
}

TEST(RecurrentLayer, DropoutOnlyWhileTrainingReproducibleBySeed) {
  const Config c{.spec = sized({.cell = CellKind::lstm, .num_layers = 2, .bidirectional = true})};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> plain(store, "rnn", c.spec);
  RecurrentLayer<double> dropping(store, "rnn", c.spec, {.dropout = 0.5});
  const auto reference = plain.forward(in.x.view());
  const auto eval = dropping.forward(in.x.view());  // not training: no dropout
  const int64_t n = reference.output.numel();
  EXPECT_EQ(max_abs_difference(eval.output.data(), reference.output.data(), n), 0.0);
  dropping.set_training(true);
  dropping.set_dropout_seed(7);
  const auto first = dropping.forward(in.x.view());
  const auto second = dropping.forward(in.x.view());  // a fresh mask
  dropping.set_dropout_seed(7);
  const auto again = dropping.forward(in.x.view());
  EXPECT_GT(max_abs_difference(first.output.data(), reference.output.data(), n), 1e-3);
  EXPECT_GT(max_abs_difference(first.output.data(), second.output.data(), n), 1e-3);
  EXPECT_EQ(max_abs_difference(first.output.data(), again.output.data(), n), 0.0);
  // Layer 0's own final state is before any dropout.
  EXPECT_EQ(max_abs_difference(first.h_n.data(), reference.h_n.data(), 2 * kB * kH), 0.0);
  EXPECT_NE(error_of([&] {
              RecurrentLayer<double>(store, "rnn", c.spec, {.dropout = 1.0});
            }).find("dropout is 1.000000, expected a value in [0, 1)"),
            std::string::npos);
}

TEST(RecurrentLayer, MergeModesCombineTheTwoDirections) {
  const Config c{.spec = sized({.cell = CellKind::gru, .bidirectional = true}), .lengths = true};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> concat(store, "rnn", c.spec);
  const auto both = concat.forward(in.x.view(), in.lengths);
  for (BidirectionalMerge m : {BidirectionalMerge::sum, BidirectionalMerge::mul, BidirectionalMerge::ave}) {
    RecurrentLayer<double> merged(store, "rnn", c.spec, {.merge = m});
    EXPECT_EQ(merged.output_size(), kH);
    const auto y = merged.forward(in.x.view(), in.lengths);
    ASSERT_EQ(y.output.shape(), (Shape{kT, kB, kH}));
    for (int64_t r = 0; r < kT * kB; ++r) {
      for (int64_t j = 0; j < kH; ++j) {
        const double fw = both.output[r * 2 * kH + j], bw = both.output[r * 2 * kH + kH + j];
        const double expected = m == BidirectionalMerge::sum   ? fw + bw
                                : m == BidirectionalMerge::mul ? fw * bw
                                                               : (fw + bw) / 2;
        EXPECT_EQ(y.output[r * kH + j], expected) << merge_name(m);
      }
    }
  }
  EXPECT_EQ(parse_merge("ave"), BidirectionalMerge::ave);
  EXPECT_NE(error_of([] { parse_merge("max"); }).find("expected one of concat, sum, mul, ave"), std::string::npos);
  const Config uni{.spec = sized({.cell = CellKind::gru})};
  VariableStore ustore = make_store<double>(uni);
  EXPECT_NE(error_of([&] {
              RecurrentLayer<double>(ustore, "rnn", uni.spec, {.merge = BidirectionalMerge::sum});
            }).find("merge 'sum' needs a bidirectional layer"),
            std::string::npos);
}

TEST(RecurrentLayer, BadInputIsNamedWithExpectedAndFound) {
  const Config c{.spec = sized({.cell = CellKind::lstm, .num_layers = 2, .bidirectional = true})};
  VariableStore store = make_store<double>(c);
  RecurrentLayer<double> layer(store, "rnn", c.spec);
  Tensor<double> x({kT, kB, kI}), wrong({kT, kB, 7}), h0({4, kB, 3});
  EXPECT_NE(error_of([&] { layer.forward(wrong.view()); }).find("expected input size 3"), std::string::npos);
  EXPECT_NE(error_of([&] {
              layer.forward(x.view(), {}, h0.view());
            }).find("h0 has shape [4,4,3], expected [4,4,5] (layers*directions, batch, hidden)"),
            std::string::npos);
  const std::vector<int64_t> long_lengths = {1, 7, 2, 2}, few = {1, 2};
  EXPECT_NE(
      error_of([&] { layer.forward(x.view(), long_lengths); }).find("lengths[1] is 7, expected a value in [1, 6]"),
      std::string::npos);
  EXPECT_NE(error_of([&] { layer.forward(x.view(), few); }).find("lengths has 2 values"), std::string::npos);
  RecurrentLayer<double> fresh(store, "rnn", c.spec);
  EXPECT_NE(error_of([&] { fresh.backward({}); }).find("before forward"), std::string::npos);

  const Config g{.spec = sized({.cell = CellKind::gru})};
  VariableStore gstore = make_store<double>(g);
  RecurrentLayer<double> gru(gstore, "rnn", g.spec);
  Tensor<double> c0({1, kB, kH});
  EXPECT_NE(error_of([&] { gru.forward(x.view(), {}, {}, c0.view()); }).find("only an LSTM has a cell state"),
            std::string::npos);
  EXPECT_NE(error_of([&] { RecurrentLayer<float> wrong_dtype(gstore, "rnn", g.spec); }).find("holds F64"),
            std::string::npos);
  EXPECT_NE(error_of([&] { RecurrentLayer<double> missing(gstore, "other", g.spec); }).find("'other/l0/fw/weight_ih'"),
            std::string::npos);
  // A layer built with biases does not bind to a store without them, and the other way round.
  RecurrentSpec no_bias = g.spec;
  no_bias.bias = false;
  EXPECT_NO_THROW(RecurrentLayer<double>(gstore, "rnn", no_bias));  // extra variables are not its business
  const Config nb{.spec = no_bias};
  VariableStore nbstore = make_store<double>(nb);
  EXPECT_NE(
      error_of([&] { RecurrentLayer<double>(nbstore, "rnn", g.spec); }).find("'rnn/l0/fw/bias_ih' is not in the store"),
      std::string::npos);
}

// Options that do not fit the cell are errors naming the option.
TEST(RecurrentLayer, OptionsThatDoNotFitTheCellAreNamed) {
  auto spec_error = [](RecurrentSpec s) { return error_of([&] { sized(s).validate(); }); };
  EXPECT_NE(spec_error({.cell = CellKind::gru, .peepholes = true}).find("peepholes are for LSTM only, the cell is gru"),
            std::string::npos);
  EXPECT_NE(spec_error({.cell = CellKind::lstm, .stacking = Stacking::per_direction})
                .find("per-direction stacking needs a bidirectional layer"),
            std::string::npos);
  auto option_error = [](RecurrentSpec s, CellOptions o) {
    return error_of([&] { check_recurrent_options(sized(s), {.cell = o}); });
  };
  EXPECT_NE(option_error({.cell = CellKind::rnn_tanh}, {.recurrent_activation = GateActivation::hard_sigmoid()})
                .find("recurrent_activation hard_sigmoid(alpha=0.2, beta=0.5) applies to the gates of an LSTM or GRU"),
            std::string::npos);
  EXPECT_NE(option_error({.cell = CellKind::rnn_tanh}, {.activation = CellActivation::relu})
                .find("an RNN's activation is its cell kind"),
            std::string::npos);
  EXPECT_NE(option_error({.cell = CellKind::gru}, {.cell_clip = 1.0}).find("cell_clip clips an LSTM's cell state"),
            std::string::npos);
  EXPECT_NE(option_error({.cell = CellKind::lstm}, {.proj_clip = 1.0}).find("proj_clip clips an LSTM's projection"),
            std::string::npos);
  EXPECT_NE(option_error({.cell = CellKind::lstm}, {.gate_clip = -1.0}).find("gate_clip is -1.0, expected 0 (none)"),
            std::string::npos);
  EXPECT_NE(option_error({.cell = CellKind::lstm}, {.gru_reset = GruReset::before}).find("applies to a GRU only"),
            std::string::npos);
  EXPECT_EQ(parse_gate_activation("hard_sigmoid").spec(), "hard_sigmoid(alpha=0.2, beta=0.5)");
  EXPECT_EQ(parse_gate_activation("hard_sigmoid(0.16666666666666666, 0.5)"),
            GateActivation::hard_sigmoid(1.0 / 6, 0.5));
  EXPECT_EQ(parse_gate_activation("hard_sigmoid(beta=0.25)"), GateActivation::hard_sigmoid(0.2, 0.25));
  EXPECT_EQ(parse_gate_activation(GateActivation::hard_sigmoid(1.0 / 6, 0.5).spec()),
            GateActivation::hard_sigmoid(1.0 / 6, 0.5));
  EXPECT_NE(error_of([] { parse_gate_activation("hard_sigmoid(alpha=0)"); }).find("alpha must be positive"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_gate_activation("softsign"); }).find("unknown activation 'softsign'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_gate_activation("hard_sigmoid(gamma=1)"); }).find("unknown argument 'gamma'"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

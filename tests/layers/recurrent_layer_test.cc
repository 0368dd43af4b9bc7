// The recurrent layer: fast path against the naive reference, finite-difference gradient
// checks in float64 for every cell and option, batched against one sequence at a time,
// bidirectional against a manually reversed direction, and errors on bad input.
// Sizes are all different (I=3, H=5, B=4, T=6, P=2) so that a swapped dimension shows.
#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_layer.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/layers/reference_recurrent.h"
#include "rnnkit/random/stream.h"
#include "test_support.h"

namespace rnnkit {
namespace {

// Tolerances, named per dtype: float64 paths agree to rounding; central differences with
// step 1e-6 have truncation error ~1e-12 and cancellation error ~1e-10 relative.
constexpr double kForwardTol64 = 1e-12;
constexpr double kForwardTol32 = 2e-5;
constexpr double kGradientTol64 = 1e-6;

struct Config {
  const char* label;
  CellKind cell;
  int64_t layers = 1;
  bool bidirectional = false;
  int64_t proj = 0;
  bool lengths = false;
  bool initial_state = false;
  bool batch_first = false;
  GruReset reset = GruReset::after;
  BidirectionalMerge merge = BidirectionalMerge::concat;
  double dropout = 0.0;  // used while training: the gradient check trains with fixed masks
};

void PrintTo(const Config& c, std::ostream* os) { *os << c.label; }

RecurrentLayerOptions options_of(const Config& c) {
  return {.cell = {.gru_reset = c.reset}, .batch_first = c.batch_first, .merge = c.merge, .dropout = c.dropout};
}

constexpr int64_t kI = 3, kH = 5, kB = 4, kT = 6;
const std::vector<int64_t> kLengths = {6, 2, 5, 1};

RecurrentSpec spec_of(const Config& c) { return {c.cell, kI, kH, c.layers, c.bidirectional, c.proj}; }

// A store with every weight and bias drawn from N(0, 0.5): gates far from trivial.
template <class T>
VariableStore make_store(const Config& c) {
  VariableStore store(21, DTypeOf<T>::value);
  auto scope = store.scope("rnn");
  RecurrentInitChoice choice;
  choice.kernel = choice.recurrent = choice.bias = choice.bias_hh = parse_initializer("normal(0, 0.5)");
  create_recurrent_variables(store, spec_of(c), choice);
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
  const RecurrentSpec s = spec_of(c);
  Inputs in;
  in.x = random_tensor<double>(c.batch_first ? Shape{kB, kT, kI} : Shape{kT, kB, kI}, "x");
  if (c.initial_state) {
    in.h0 = random_tensor<double>({s.num_layers * s.directions(), kB, s.recurrent_width()}, "h0");
    if (c.cell == CellKind::lstm) in.c0 = random_tensor<double>({s.num_layers * s.directions(), kB, kH}, "c0");
  }
  if (c.lengths) in.lengths = kLengths;
  return in;
}

template <class T>
TensorView<const T> view_or_empty(const Tensor<T>& t) {
  return t.numel() > 0 ? t.view() : TensorView<const T>();
}

const std::vector<Config>& configs() {
  static const std::vector<Config> all = {
      {"lstm", CellKind::lstm},
      {"lstm_bi_2layers_lengths_state", CellKind::lstm, 2, true, 0, true, true},
      {"lstm_proj_bi_lengths_state", CellKind::lstm, 1, true, 2, true, true},
      {"lstm_proj_3layers_batch_first", CellKind::lstm, 3, false, 2, false, false, true},
      {"gru", CellKind::gru},
      {"gru_bi_2layers_lengths_state", CellKind::gru, 2, true, 0, true, true},
      {"gru_reset_before", CellKind::gru, 1, false, 0, false, false, false, GruReset::before},
      {"gru_reset_before_bi_lengths_state", CellKind::gru, 2, true, 0, true, true, true, GruReset::before},
      {"rnn_tanh_bi_lengths", CellKind::rnn_tanh, 2, true, 0, true, true},
      {"rnn_relu_batch_first", CellKind::rnn_relu, 1, false, 0, false, true, true},
      {"rnn_relu_bi_lengths", CellKind::rnn_relu, 2, true, 0, true, false},
      {"lstm_bi_mul_lengths_state", CellKind::lstm, 1, true, 0, true, true, false, GruReset::after,
       BidirectionalMerge::mul},
      {"gru_bi_2layers_sum_dropout", CellKind::gru, 2, true, 0, false, false, false, GruReset::after,
       BidirectionalMerge::sum, 0.4},
      {"lstm_proj_bi_ave_3layers_dropout_lengths", CellKind::lstm, 3, true, 2, true, false, false, GruReset::after,
       BidirectionalMerge::ave, 0.5},
  };
  return all;
}

class RecurrentLayerTest : public ::testing::TestWithParam<Config> {};

double max_abs_diff(const double* a, const double* b, int64_t n) {
  double worst = 0.0;
  for (int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

TEST_P(RecurrentLayerTest, FastPathMatchesReference) {
  const Config& c = GetParam();
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  const RecurrentLayerOptions options = options_of(c);
  RecurrentLayer<double> layer(store, "rnn", spec_of(c), options);
  const auto fast = layer.forward(in.x.view(), in.lengths, view_or_empty(in.h0), view_or_empty(in.c0));
  const auto ref = reference_recurrent_forward(store, "rnn", spec_of(c), options, in.x.view(), in.lengths,
                                               view_or_empty(in.h0), view_or_empty(in.c0));
  ASSERT_EQ(fast.output.shape(), ref.output.shape());
  EXPECT_LT(max_abs_diff(fast.output.data(), ref.output.data(), ref.output.numel()), kForwardTol64);
  EXPECT_LT(max_abs_diff(fast.h_n.data(), ref.h_n.data(), ref.h_n.numel()), kForwardTol64);
  EXPECT_EQ(fast.c_n.numel(), ref.c_n.numel());
  EXPECT_LT(max_abs_diff(fast.c_n.data(), ref.c_n.data(), ref.c_n.numel()), kForwardTol64);
  // Padding is exactly zero.
  if (c.lengths && !c.batch_first) {
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
  const RecurrentLayerOptions options = options_of(c);
  RecurrentLayer<float> layer(store, "rnn", spec_of(c), options);
  const auto fast = layer.forward(x.view(), in.lengths, view_or_empty(h0), view_or_empty(c0));
  const auto ref = reference_recurrent_forward(store, "rnn", spec_of(c), options, in.x.view(), in.lengths,
                                               view_or_empty(in.h0), view_or_empty(in.c0));
  for (int64_t i = 0; i < ref.output.numel(); ++i) EXPECT_NEAR(fast.output[i], ref.output[i], kForwardTol32) << i;
  for (int64_t i = 0; i < ref.h_n.numel(); ++i) EXPECT_NEAR(fast.h_n[i], ref.h_n[i], kForwardTol32) << i;
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
  RecurrentLayer<double> layer(store, "rnn", spec_of(c), options_of(c));
  layer.set_training(c.dropout > 0.0);
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
  for (int64_t i = 0; i < in.x.numel(); ++i) expect_gradient(g.d_input[i], numeric(in.x[i]), "input " + std::to_string(i));
  for (int64_t i = 0; i < in.h0.numel(); ++i) expect_gradient(g.d_h0[i], numeric(in.h0[i]), "h0 " + std::to_string(i));
  for (int64_t i = 0; i < in.c0.numel(); ++i) expect_gradient(g.d_c0[i], numeric(in.c0[i]), "c0 " + std::to_string(i));
  for (const Variable& v : store.variables()) {
    const TensorView<double> values = store.value<double>(v);
    const TensorView<double> grads = store.grad<double>(v);
    for (int64_t i = 0; i < v.numel; ++i) expect_gradient(grads[i], numeric(values[i]), v.name + " " + std::to_string(i));
  }
}

TEST_P(RecurrentLayerTest, BatchedEqualsOneSequenceAtATime) {
  const Config& c = GetParam();
  if (c.batch_first) GTEST_SKIP() << "covered by the time-major configurations";
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  const RecurrentSpec s = spec_of(c);
  RecurrentLayer<double> layer(store, "rnn", s, {.cell = {.gru_reset = c.reset}, .merge = c.merge});
  const auto all = layer.forward(in.x.view(), in.lengths, view_or_empty(in.h0), view_or_empty(in.c0));
  const int64_t ld = s.num_layers * s.directions(), rw = s.recurrent_width(), ow = all.output.dim(2);
  for (int64_t b = 0; b < kB; ++b) {
    const int64_t len = c.lengths ? kLengths[static_cast<std::size_t>(b)] : kT;
    Tensor<double> x({len, 1, kI}), h0({ld, 1, rw}), c0({ld, 1, kH});
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t j = 0; j < kI; ++j) x[t * kI + j] = in.x[(t * kB + b) * kI + j];
    }
    for (int64_t r = 0; r < ld && c.initial_state; ++r) {
      for (int64_t j = 0; j < rw; ++j) h0[r * rw + j] = in.h0[(r * kB + b) * rw + j];
      for (int64_t j = 0; j < kH && c.cell == CellKind::lstm; ++j) c0[r * kH + j] = in.c0[(r * kB + b) * kH + j];
    }
    RecurrentLayer<double> single(store, "rnn", s, {.cell = {.gru_reset = c.reset}, .merge = c.merge});
    const auto one = single.forward(x.view(), {}, c.initial_state ? h0.view() : TensorView<const double>(),
                                    c.initial_state && c.cell == CellKind::lstm ? c0.view() : TensorView<const double>());
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t j = 0; j < ow; ++j) {
        EXPECT_NEAR(one.output[t * ow + j], all.output[(t * kB + b) * ow + j], kForwardTol64) << "b " << b << " t " << t;
      }
    }
    for (int64_t r = 0; r < ld; ++r) {
      for (int64_t j = 0; j < rw; ++j) EXPECT_NEAR(one.h_n[r * rw + j], all.h_n[(r * kB + b) * rw + j], kForwardTol64);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, RecurrentLayerTest, ::testing::ValuesIn(configs()),
                         [](const ::testing::TestParamInfo<Config>& param_info) { return std::string(param_info.param.label); });

TEST(RecurrentLayer, BidirectionalEqualsTwoManualDirections) {
  const Config c{"gru_bi", CellKind::gru, 1, true, 0, true};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> bi(store, "rnn", spec_of(c));
  const auto both = bi.forward(in.x.view(), in.lengths);
  // A one-directional layer whose weights are the reverse direction's, fed each sequence reversed.
  VariableStore uni(0, DType::f64);
  const RecurrentSpec s1{CellKind::gru, kI, kH, 1, false, 0};
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
    for (int64_t t = 0; t < kLengths[static_cast<std::size_t>(b)]; ++t) {
      for (int64_t j = 0; j < kI; ++j) {
        reversed[(t * kB + b) * kI + j] = in.x[((kLengths[static_cast<std::size_t>(b)] - 1 - t) * kB + b) * kI + j];
      }
    }
  }
  RecurrentLayer<double> manual(uni, "rev", s1);
  const auto rev = manual.forward(reversed.view(), in.lengths);
  for (int64_t b = 0; b < kB; ++b) {
    const int64_t len = kLengths[static_cast<std::size_t>(b)];
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t j = 0; j < kH; ++j) {
        EXPECT_NEAR(both.output[(t * kB + b) * 2 * kH + kH + j], rev.output[((len - 1 - t) * kB + b) * kH + j], kForwardTol64);
      }
    }
    for (int64_t j = 0; j < kH; ++j) EXPECT_NEAR(both.h_n[(kB + b) * kH + j], rev.h_n[b * kH + j], kForwardTol64);
  }
}

using test::error_of;

TEST(RecurrentLayer, DropoutOnlyWhileTrainingReproducibleBySeed) {
  const Config c{"lstm_2layers", CellKind::lstm, 2, true};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> plain(store, "rnn", spec_of(c));
  RecurrentLayer<double> dropping(store, "rnn", spec_of(c), {.dropout = 0.5});
  const auto reference = plain.forward(in.x.view());
  const auto eval = dropping.forward(in.x.view());  // not training: no dropout
  EXPECT_EQ(max_abs_diff(eval.output.data(), reference.output.data(), reference.output.numel()), 0.0);
  dropping.set_training(true);
  dropping.set_dropout_seed(7);
  const auto first = dropping.forward(in.x.view());
  const auto second = dropping.forward(in.x.view());  // a fresh mask
  dropping.set_dropout_seed(7);
  const auto again = dropping.forward(in.x.view());
  EXPECT_GT(max_abs_diff(first.output.data(), reference.output.data(), reference.output.numel()), 1e-3);
  EXPECT_GT(max_abs_diff(first.output.data(), second.output.data(), reference.output.numel()), 1e-3);
  EXPECT_EQ(max_abs_diff(first.output.data(), again.output.data(), reference.output.numel()), 0.0);
  // Layer 0's own final state is before any dropout.
  for (int64_t i = 0; i < 2 * kB * kH; ++i) EXPECT_EQ(first.h_n[i], reference.h_n[i]);
  EXPECT_NE(error_of([&] { RecurrentLayer<double>(store, "rnn", spec_of(c), {.dropout = 1.0}); })
                .find("dropout is 1.000000, expected a value in [0, 1)"),
            std::string::npos);
}

TEST(RecurrentLayer, MergeModesCombineTheTwoDirections) {
  const Config c{"gru_bi", CellKind::gru, 1, true, 0, true};
  VariableStore store = make_store<double>(c);
  const Inputs in = make_inputs(c);
  RecurrentLayer<double> concat(store, "rnn", spec_of(c));
  const auto both = concat.forward(in.x.view(), in.lengths);
  for (BidirectionalMerge m : {BidirectionalMerge::sum, BidirectionalMerge::mul, BidirectionalMerge::ave}) {
    RecurrentLayer<double> merged(store, "rnn", spec_of(c), {.merge = m});
    EXPECT_EQ(merged.output_size(), kH);
    const auto y = merged.forward(in.x.view(), in.lengths);
    ASSERT_EQ(y.output.shape(), (Shape{kT, kB, kH}));
    for (int64_t r = 0; r < kT * kB; ++r) {
      for (int64_t j = 0; j < kH; ++j) {
        const double fw = both.output[r * 2 * kH + j], bw = both.output[r * 2 * kH + kH + j];
        const double expected = m == BidirectionalMerge::sum ? fw + bw : m == BidirectionalMerge::mul ? fw * bw : (fw + bw) / 2;
        EXPECT_EQ(y.output[r * kH + j], expected) << merge_name(m);
      }
    }
  }
  EXPECT_EQ(parse_merge("ave"), BidirectionalMerge::ave);
  EXPECT_NE(error_of([] { parse_merge("max"); }).find("expected one of concat, sum, mul, ave"), std::string::npos);
  const Config uni{"gru", CellKind::gru};
  VariableStore ustore = make_store<double>(uni);
  EXPECT_NE(error_of([&] { RecurrentLayer<double>(ustore, "rnn", spec_of(uni), {.merge = BidirectionalMerge::sum}); })
                .find("merge 'sum' needs a bidirectional layer"),
            std::string::npos);
}

TEST(RecurrentLayer, BadInputIsNamedWithExpectedAndFound) {
  const Config c{"lstm", CellKind::lstm, 2, true};
  VariableStore store = make_store<double>(c);
  RecurrentLayer<double> layer(store, "rnn", spec_of(c));
  Tensor<double> x({kT, kB, kI}), wrong({kT, kB, 7}), h0({4, kB, 3});
  EXPECT_NE(error_of([&] { layer.forward(wrong.view()); }).find("expected input size 3"), std::string::npos);
  EXPECT_NE(error_of([&] { layer.forward(x.view(), {}, h0.view()); })
                .find("h0 has shape [4,4,3], expected [4,4,5] (layers*directions, batch, hidden)"),
            std::string::npos);
  const std::vector<int64_t> long_lengths = {1, 7, 2, 2}, few = {1, 2};
  EXPECT_NE(error_of([&] { layer.forward(x.view(), long_lengths); }).find("lengths[1] is 7, expected a value in [1, 6]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { layer.forward(x.view(), few); }).find("lengths has 2 values"), std::string::npos);
  RecurrentLayer<double> fresh(store, "rnn", spec_of(c));
  EXPECT_NE(error_of([&] { fresh.backward({}); }).find("before forward"), std::string::npos);

  const Config g{"gru", CellKind::gru};
  VariableStore gstore = make_store<double>(g);
  RecurrentLayer<double> gru(gstore, "rnn", spec_of(g));
  Tensor<double> c0({1, kB, kH});
  EXPECT_NE(error_of([&] { gru.forward(x.view(), {}, {}, c0.view()); }).find("only an LSTM has a cell state"),
            std::string::npos);
  EXPECT_NE(error_of([&] { RecurrentLayer<float> wrong_dtype(gstore, "rnn", spec_of(g)); }).find("holds F64"),
            std::string::npos);
  EXPECT_NE(error_of([&] { RecurrentLayer<double> missing(gstore, "other", spec_of(g)); }).find("'other/l0/fw/weight_ih'"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

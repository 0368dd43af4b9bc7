// Every autograd op against central finite differences in float64: loss = sum(y * R) with
// a fixed random R (a non-uniform upstream gradient), every element of every input.
#include "rnnkit/autograd/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;
using Build = std::function<Value<double>(std::vector<Value<double>>&)>;

Tensor<double> random_tensor(Shape shape, const std::string& name, double low = -1.0, double high = 1.0) {
  RandomStream stream(3, name);
  Tensor<double> t(std::move(shape));
  for (double& x : t.storage()) x = stream.uniform(low, high);
  return t;
}

// Builds the op on a fresh record, returns sum(y * R) (R drawn once for y's shape).
struct Harness {
  VariableStore store{0, DType::f64};
  Tape<double> tape{store};
  Tensor<double> r;

  double loss(std::vector<Tensor<double>>& inputs, const Build& build, bool with_grad) {
    tape.clear();
    std::vector<Value<double>> leaves;
    for (const Tensor<double>& t : inputs) leaves.push_back(tape.input(t.view(), with_grad));
    Value<double> y = build(leaves);
    if (r.numel() == 0) r = random_tensor(y.shape(), "upstream", -2.0, 2.0);
    EXPECT_EQ(r.shape(), y.shape());
    Value<double> l = sum(mul(y, tape.input(r.view())));
    if (with_grad) {
      tape.backward(l);
      grads.clear();
      for (const Value<double>& v : leaves) grads.emplace_back(v.grad().data(), v.grad().data() + v.grad().numel());
    }
    return l.value()[0];
  }
  std::vector<std::vector<double>> grads;
};

void check_gradients(const std::string& what, std::vector<Tensor<double>> inputs, const Build& build) {
  SCOPED_TRACE(what);
  Harness h;
  h.loss(inputs, build, true);
  const std::vector<std::vector<double>> analytic = h.grads;
  constexpr double eps = 1e-6;
  int checked = 0;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    ASSERT_EQ(static_cast<int64_t>(analytic[k].size()), inputs[k].numel()) << "input " << k << " has no gradient";
    for (int64_t i = 0; i < inputs[k].numel(); ++i) {
      const double saved = inputs[k][i];
      inputs[k][i] = saved + eps;
      const double up = h.loss(inputs, build, false);
      inputs[k][i] = saved - eps;
      const double down = h.loss(inputs, build, false);
      inputs[k][i] = saved;
      const double numeric = (up - down) / (2 * eps);
      const double a = analytic[k][static_cast<std::size_t>(i)];
      EXPECT_NEAR(a, numeric, 1e-7 * std::max({1.0, std::abs(a), std::abs(numeric)}))
          << "input " << k << " element " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(AutogradOps, MatmulInEveryTransposeCombination) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Shape a = ta ? Shape{4, 3} : Shape{3, 4}, b = tb ? Shape{5, 4} : Shape{4, 5};
      check_gradients("matmul " + std::to_string(ta) + std::to_string(tb),
                      {random_tensor(a, "a"), random_tensor(b, "b")},
                      [&](auto& v) { return matmul(v[0], v[1], ta, tb); });
    }
  }
}

TEST(AutogradOps, AddSubMulScaleWithBroadcastBias) {
  const auto a = random_tensor({3, 4}, "a"), b = random_tensor({3, 4}, "b");
  check_gradients("add", {a, b}, [](auto& v) { return v[0] + v[1]; });
  check_gradients("add bias [F]", {a, random_tensor({4}, "bias")}, [](auto& v) { return v[0] + v[1]; });
  check_gradients("add bias [1,F]", {a, random_tensor({1, 4}, "bias")}, [](auto& v) { return add(v[0], v[1]); });
  check_gradients("sub", {a, b}, [](auto& v) { return v[0] - v[1]; });
  check_gradients("mul", {a, b}, [](auto& v) { return v[0] * v[1]; });
  check_gradients("scale", {a}, [](auto& v) { return scale(v[0], -2.5); });
  check_gradients("mul of a value with itself", {a}, [](auto& v) { return v[0] * v[0]; });
}

TEST(AutogradOps, ShapeOps) {
  const auto a = random_tensor({2, 3, 4}, "a");
  check_gradients("reshape", {a}, [](auto& v) { return reshape(v[0], {6, 4}); });
  check_gradients("slice", {a}, [](auto& v) { return slice(v[0], 1, 3); });
  check_gradients("concat", {a, random_tensor({2, 3, 2}, "b"), random_tensor({2, 3, 1}, "c")}, [](auto& v) {
    return concat<double>({v[0], v[1], v[2]});
  });
  check_gradients("split", {a}, [](auto& v) {
    auto parts = split(v[0], {1, 2, 1});
    return concat<double>({parts[2], parts[0], tanh(parts[1])});
  });
  check_gradients("take", {a}, [](auto& v) { return take(v[0], 1); });
  check_gradients("stack", {random_tensor({3, 2}, "p"), random_tensor({3, 2}, "q")}, [](auto& v) {
    return stack<double>({v[1], v[0], v[1]});
  });
  check_gradients("reverse_sequences", {random_tensor({4, 3, 2}, "seq")}, [](auto& v) {
    return reverse_sequences(v[0], {4, 1, 3});
  });
  check_gradients("sum", {a}, [](auto& v) { return sum(v[0]); });
  check_gradients("mean", {a}, [](auto& v) { return mean(v[0]); });
}

TEST(AutogradOps, Activations) {
  // Away from relu's kink at 0, where the derivative is not defined.
  Tensor<double> a = random_tensor({3, 5}, "a", -2.0, 2.0);
  for (double& x : a.storage()) x = std::abs(x) < 0.05 ? x + 0.2 : x;
  check_gradients("sigmoid", {a}, [](auto& v) { return sigmoid(v[0]); });
  check_gradients("tanh", {a}, [](auto& v) { return tanh(v[0]); });
  check_gradients("relu", {a}, [](auto& v) { return relu(v[0]); });
  check_gradients("dropout (fixed mask)", {a}, [](auto& v) {
    RandomStream random(9, "dropout");  // the same mask every evaluation
    return dropout(v[0], 0.4, random);
  });
}

TEST(AutogradOps, EmbeddingAndLosses) {
  const std::vector<int64_t> ids = {2, 0, 2, 4};  // a repeated id accumulates
  check_gradients("embedding", {random_tensor({5, 3}, "table")}, [&](auto& v) { return embedding(v[0], ids); });
  const std::vector<int64_t> targets = {1, -100, 0, 3};
  check_gradients("softmax_cross_entropy", {random_tensor({4, 5}, "logits", -3.0, 3.0)},
                  [&](auto& v) { return softmax_cross_entropy(v[0], targets); });
  check_gradients("mse", {random_tensor({3, 2}, "a"), random_tensor({3, 2}, "b")},
                  [](auto& v) { return mse(v[0], v[1]); });
}

TEST(AutogradOps, LossValuesFromTheirDefinitions) {
  VariableStore store(0, DType::f64);
  Tape<double> tape(store);
  // Uniform logits over C classes: cross-entropy ln C; the ignored row does not count.
  Tensor<double> logits({3, 4});
  const std::vector<int64_t> targets = {0, 3, 7};
  Value<double> ce = softmax_cross_entropy(tape.input(logits.view()), targets, 7);
  EXPECT_NEAR(ce.value()[0], std::log(4.0), 1e-15);
  Tensor<double> a({2}, std::vector<double>{1, 2}), b({2}, std::vector<double>{0, 0});
  EXPECT_DOUBLE_EQ(mse(tape.input(a.view()), tape.input(b.view())).value()[0], 2.5);
  RandomStream random(1, "d");
  Tensor<double> ones({1000});
  for (double& x : ones.storage()) x = 1;
  Value<double> dropped = dropout(tape.input(ones.view()), 0.25, random);
  int zeros = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    const double y = dropped.value()[i];
    EXPECT_TRUE(y == 0.0 || std::abs(y - 4.0 / 3.0) < 1e-15) << y;
    zeros += y == 0.0 ? 1 : 0;
  }
  EXPECT_NEAR(zeros, 250, 45);  // binomial(1000, 0.25): sd 13.7
}

TEST(AutogradOps, BadOperandsAreNamedWithShapes) {
  VariableStore store(0, DType::f64);
  Tape<double> tape(store);
  Tensor<double> a({3, 4}), b({5, 2}), c({3, 5});
  auto va = tape.input(a.view()), vb = tape.input(b.view()), vc = tape.input(c.view());
  EXPECT_NE(error_of([&] { matmul(va, vb); }).find("matmul: inner dimensions differ; got [3,4] and [5,2]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { add(va, vc); }).find("add: shapes must match, or b be a bias [F] for a [..., F]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { slice(va, 2, 9); }).find("expected 0 <= begin < end <= 4"), std::string::npos);
  EXPECT_NE(error_of([&] { split(va, {1, 2}); }).find("widths add up to 3"), std::string::npos);
  EXPECT_NE(error_of([&] {
              embedding(va, {0, 3});
            }).find("ids[1] is 3, expected a value in [0, 3)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { softmax_cross_entropy(va, {0, 1, 4}); }).find("targets[2] is 4"), std::string::npos);
  EXPECT_NE(error_of([&] { tape.backward(va); }).find("expected a single element"), std::string::npos);
  EXPECT_NE(error_of([&] {
              reshape(va, {5, 2});
            }).find("reshape: [3,4] has 12 elements, [5,2] has 10"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

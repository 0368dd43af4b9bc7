// The tape itself: parameters' gradients land in the store's buffer (frozen ones get
// none), gradients accumulate over uses, memory is reused after clear().
#include "rnnkit/autograd/tape.h"

#include <gtest/gtest.h>

#include "rnnkit/autograd/ops.h"
#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit {
namespace {

TEST(Tape, ParamGradientsAccumulateInTheStoreAndFrozenOnesStayZero) {
  VariableStore store(1, DType::f64);
  const Variable& w = store.get_variable("w", {2, 3}, {.initializer = parse_initializer("constant(0.5)")});
  const Variable& frozen = store.get_variable("frozen", {3}, {.initializer = parse_initializer("ones")});
  store.set_trainable("frozen", false);
  Tape<double> tape(store);
  Tensor<double> x({4, 2}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8});
  // loss = sum(x W + b): dW[i][j] = sum_r x[r][i], twice over two uses of the tape.
  for (int step = 0; step < 2; ++step) {
    tape.clear();
    tape.backward(sum(add(matmul(tape.input(x.view()), tape.param(w)), tape.param(frozen))));
  }
  const auto g = store.grad<double>(w);
  for (int j = 0; j < 3; ++j) {
    EXPECT_DOUBLE_EQ(g[0 * 3 + j], 2 * (1 + 3 + 5 + 7));
    EXPECT_DOUBLE_EQ(g[1 * 3 + j], 2 * (2 + 4 + 6 + 8));
  }
  for (int j = 0; j < 3; ++j) EXPECT_EQ(store.grad<double>(frozen)[j], 0.0);
}

TEST(Tape, MemoryIsReusedAfterClear) {
  VariableStore store(1, DType::f32);
  const Variable& w = store.get_variable("w", {64, 64});
  Tape<float> tape(store);
  Tensor<float> x({32, 64});
  std::size_t first = 0;
  for (int step = 0; step < 5; ++step) {
    tape.clear();
    Value<float> h = tape.input(x.view());
    for (int t = 0; t < 20; ++t) h = tanh(matmul(h, tape.param(w)));
    tape.backward(mean(h));
    if (step == 0) first = tape.peak_bytes();
    EXPECT_EQ(tape.peak_bytes(), first) << "step " << step;
  }
  EXPECT_GT(first, 0u);
}

TEST(Tape, WrongDtypeAndForeignLossAreErrors) {
  VariableStore store(1, DType::f32);
  EXPECT_NE(test::error_of([&] { Tape<double> t(store); }).find("holds F32"), std::string::npos);
  Tape<float> a(store), b(store);
  Tensor<float> x({1});
  const Value<float> v = a.input(x.view());
  EXPECT_NE(test::error_of([&] { b.backward(v); }).find("not a value of this tape"), std::string::npos);
  EXPECT_NE(test::error_of([&] { add(v, b.input(x.view())); }).find("different tapes"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

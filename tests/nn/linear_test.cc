// Linear and Embedding layers: variable names and shapes from the scope, sharing under
// reuse, the computed values, and gradients reaching the store.
#include "rnnkit/nn/linear.h"

#include <gtest/gtest.h>

#include "rnnkit/nn/embedding.h"
#include "test_support.h"

namespace rnnkit {
namespace {

TEST(Linear, ComputesXWTransposedPlusBiasAndSharesUnderReuse) {
  VariableStore store(2, DType::f64);
  std::optional<Linear> head;
  {
    auto scope = store.scope("head");
    head.emplace(store, 3, 2, LinearOptions{.bias_init = parse_initializer("constant(0.5)")});
  }
  EXPECT_EQ(head->weight().name, "head/weight");
  EXPECT_EQ(head->weight().shape, (Shape{2, 3}));
  ASSERT_NE(head->bias(), nullptr);
  {
    auto scope = store.scope("head", {.reuse = Reuse::yes});
    const Linear again(store, 3, 2);
    EXPECT_EQ(&again.weight(), &head->weight());
  }
  Tape<double> tape(store);
  Tensor<double> x({2, 3}, std::vector<double>{1, 2, 3, 4, 5, 6});
  const Value<double> y = (*head)(tape.input(x.view()));
  const auto w = store.value<double>(head->weight());
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t o = 0; o < 2; ++o) {
      double expected = 0.5;
      for (int64_t i = 0; i < 3; ++i) expected += x[r * 3 + i] * w[o * 3 + i];
      EXPECT_NEAR(y.value()[r * 2 + o], expected, 1e-15);
    }
  }
  tape.backward(sum(y));
  EXPECT_DOUBLE_EQ(store.grad<double>(*head->bias())[0], 2.0);  // two rows
  EXPECT_DOUBLE_EQ(store.grad<double>(head->weight())[0], 1.0 + 4.0);
}

TEST(Embedding, LooksUpRowsAndAccumulatesTheirGradients) {
  VariableStore store(2, DType::f64);
  auto scope = store.scope("chars");
  const Embedding embed(store, 5, 3);
  EXPECT_EQ(embed.table().name, "chars/embedding");
  Tape<double> tape(store);
  const Value<double> y = embed(tape, {4, 1, 4});
  const auto table = store.value<double>(embed.table());
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(y.value()[j], table[4 * 3 + j]);
  tape.backward(sum(y));
  EXPECT_DOUBLE_EQ(store.grad<double>(embed.table())[4 * 3], 2.0);
  EXPECT_DOUBLE_EQ(store.grad<double>(embed.table())[0], 0.0);
  EXPECT_NE(test::error_of([&] { embed(tape, {5}); }).find("ids[0] is 5, expected a value in [0, 5)"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

// The variable store: get-or-create with reuse checks, inherited defaults, sharing,
// glob look-up, trainable flags, one contiguous buffer, and order-independent values.
#include "rnnkit/variables/variable_store.h"

#include <gtest/gtest.h>

#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;

TEST(VariableStore, ScopedNamesAndCreation) {
  VariableStore store(7);
  {
    auto a = store.scope("encoder");
    auto b = store.scope("lstm");
    EXPECT_EQ(store.current_scope(), "encoder/lstm");
    const Variable& w = store.get_variable("l0/fw/weight_ih", {8, 3});
    EXPECT_EQ(w.name, "encoder/lstm/l0/fw/weight_ih");
    EXPECT_EQ(w.init_spec, "glorot_uniform(gain=1.0)");  // TensorFlow 1's get_variable default
    EXPECT_TRUE(w.trainable);
  }
  EXPECT_EQ(store.current_scope(), "");
  EXPECT_EQ(store.at("encoder/lstm/l0/fw/weight_ih").shape, (Shape{8, 3}));
}

TEST(VariableStore, ReuseChecksWithClearMessages) {
  VariableStore store;
  {
    auto s = store.scope("rnn");
    store.get_variable("w", {3, 4});
    const std::string exists = error_of([&] { store.get_variable("w", {3, 4}); });
    EXPECT_NE(exists.find("variable 'rnn/w' already exists"), std::string::npos) << exists;
    EXPECT_NE(exists.find("reuse=yes or reuse=auto"), std::string::npos) << exists;
  }
  {
    auto s = store.scope("rnn", {.reuse = Reuse::yes});
    EXPECT_EQ(store.get_variable("w", {3, 4}).name, "rnn/w");
    const std::string missing = error_of([&] { store.get_variable("v", {3}); });
    EXPECT_NE(missing.find("'rnn/v' does not exist"), std::string::npos) << missing;
    const std::string shape = error_of([&] { store.get_variable("w", {3, 5}); });
    EXPECT_NE(shape.find("requested shape [3,5] differs from its shape [3,4]"), std::string::npos) << shape;
    auto nested = store.scope("inner");
    EXPECT_EQ(store.current_reuse(), Reuse::yes);  // inherited
  }
  {
    auto s = store.scope("rnn", {.reuse = Reuse::automatic});
    EXPECT_EQ(store.get_variable("w", {3, 4}).name, "rnn/w");
    EXPECT_EQ(store.get_variable("v", {3}).name, "rnn/v");
  }
  EXPECT_EQ(store.variables().size(), 2u);
}

TEST(VariableStore, SharedVariablesShareStorage) {
  VariableStore store;
  auto layer = [&](Reuse reuse) -> const Variable& {
    auto s = store.scope("shared", {.reuse = reuse});
    return store.get_variable("kernel", {2, 2});
  };
  const Variable& first = layer(Reuse::no);
  const Variable& second = layer(Reuse::yes);
  EXPECT_EQ(&first, &second);
  store.value<float>(first)(1, 1) = 42.0f;             // an update through one layer...
  EXPECT_EQ(store.value<float>(second)(1, 1), 42.0f);  // ...is seen by the other
}

TEST(VariableStore, DefaultInitializerIsInheritedAndOverridable) {
  VariableStore store;
  auto outer = store.scope("LSTMcell", {.initializer = parse_initializer("truncated_normal(mean=-0.1, stddev=0.01)")});
  {
    auto gate = store.scope("forget_gate");
    EXPECT_EQ(store.get_variable("wx", {3, 4}).init_spec, "truncated_normal(mean=-0.1, stddev=0.01)");
    EXPECT_EQ(store.get_variable("bi", {1, 4}, {.initializer = parse_initializer("zeros")}).init_spec, "zeros");
  }
  {
    auto gate = store.scope("input_gate", {.initializer = parse_initializer("orthogonal")});
    EXPECT_EQ(store.get_variable("wt", {4, 4}).init_spec, "orthogonal(gain=1.0, version=2)");
  }
}

TEST(VariableStore, ValuesDoNotDependOnCreationOrderOrOtherVariables) {
  VariableStore a(99), b(99);
  a.get_variable("x", {4, 5});
  a.get_variable("y", {6, 2}, {.initializer = parse_initializer("orthogonal")});
  b.get_variable("unrelated", {100});
  b.get_variable("y", {6, 2}, {.initializer = parse_initializer("orthogonal")});
  b.get_variable("x", {4, 5});
  for (const char* name : {"x", "y"}) {
    const auto va = a.value<float>(a.at(name)), vb = b.value<float>(b.at(name));
    EXPECT_TRUE(std::equal(va.span().begin(), va.span().end(), vb.span().begin())) << name;
  }
  VariableStore c(100);
  c.get_variable("x", {4, 5});
  EXPECT_NE(c.value<float>(c.at("x"))[0], a.value<float>(a.at("x"))[0]);  // another seed, other values
}

TEST(VariableStore, OneContiguousAlignedBufferWithGradients) {
  VariableStore store;
  const Variable& a = store.get_variable("a", {3});
  const Variable& b = store.get_variable("b", {5, 5});
  EXPECT_EQ(a.offset % 16, 0);
  EXPECT_EQ(b.offset % 16, 0);
  EXPECT_GE(b.offset, a.offset + a.numel);
  EXPECT_EQ(store.parameter_count(), 28);
  auto params = store.parameters<float>();
  EXPECT_EQ(store.value<float>(b).data(), params.data() + b.offset);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(params.data()) % 64, 0u);
  store.grad<float>(b)[3] = 1.0f;
  EXPECT_EQ(store.gradients<float>()[static_cast<std::size_t>(b.offset + 3)], 1.0f);
  store.zero_grad();
  EXPECT_EQ(store.grad<float>(b)[3], 0.0f);
  EXPECT_THROW(store.value<double>(a), Error);  // a float32 store
}

TEST(VariableStore, Float64Store) {
  VariableStore store(3, DType::f64);
  const Variable& w = store.get_variable("w", {4, 4}, {.initializer = parse_initializer("orthogonal")});
  EXPECT_EQ(store.value<double>(w).numel(), 16);
  EXPECT_THROW(store.value<float>(w), Error);
}

TEST(VariableStore, GlobAndTrainable) {
  VariableStore store;
  for (const char* name :
       {"encoder/l0/fw/weight_hh", "encoder/l0/bw/weight_hh", "encoder/l0/fw/bias_ih", "head/weight"}) {
    store.get_variable(name, {2});
  }
  EXPECT_EQ(store.glob("encoder/*/*/weight_hh").size(), 2u);
  EXPECT_EQ(store.glob("encoder/**").size(), 3u);
  EXPECT_EQ(store.set_trainable("encoder/**", false), 3);
  EXPECT_FALSE(store.at("encoder/l0/fw/bias_ih").trainable);
  EXPECT_TRUE(store.at("head/weight").trainable);
  EXPECT_FALSE(store.get_variable("frozen", {1}, {.trainable = false}).trainable);
}

TEST(VariableStore, BadNamesAndFailedCreationLeaveNoTrace) {
  VariableStore store;
  EXPECT_NE(error_of([&] { store.get_variable("a//b", {1}); }).find("empty segment"), std::string::npos);
  EXPECT_NE(error_of([&] { store.get_variable("a*b", {1}); }).find("'*' is not allowed"), std::string::npos);
  EXPECT_THROW(store.get_variable("", {1}), Error);
  EXPECT_THROW((void)store.scope("bad/"), Error);
  EXPECT_THROW(store.get_variable("v", {-1}), Error);
  EXPECT_THROW(store.get_variable("o", {5}, {.initializer = parse_initializer("orthogonal")}), Error);
  EXPECT_EQ(store.find("o"), nullptr);
  EXPECT_EQ(store.variables().size(), 0u);
  const std::string missing = error_of([&] { store.at("nope"); });
  EXPECT_NE(missing.find("no variable named 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

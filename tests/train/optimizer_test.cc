// Optimizers against PyTorch's trajectories (tests/fixtures/optimizers.json, written by
// make_optimizer_fixtures.py with torch.optim in float64), frozen variables untouched, and
// gradient clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "rnnkit/core/error.h"
#include "rnnkit/train/adagrad.h"
#include "rnnkit/train/adam.h"
#include "rnnkit/train/clip.h"
#include "rnnkit/train/rmsprop.h"
#include "rnnkit/train/sgd.h"
#include "test_support.h"

namespace rnnkit {
namespace {

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const nlohmann::json& o) {
  if (name == "sgd") {
    return std::make_unique<Sgd>(SgdOptions{.learning_rate = o["lr"],
                                            .momentum = o.value("momentum", 0.0),
                                            .nesterov = o.value("nesterov", false),
                                            .weight_decay = o.value("weight_decay", 0.0)});
  }
  if (name == "adam" || name == "adamw") {
    AdamOptions a = name == "adamw" ? adamw_options(o["lr"], o.value("weight_decay", 0.01)) : AdamOptions{};
    a.learning_rate = o["lr"];
    if (o.contains("betas")) {
      a.beta1 = o["betas"][0];
      a.beta2 = o["betas"][1];
    }
    a.eps = o.value("eps", 1e-8);
    if (name == "adam") a.weight_decay = o.value("weight_decay", 0.0);
    return std::make_unique<Adam>(a);
  }
  if (name == "rmsprop") {
    return std::make_unique<RmsProp>(RmsPropOptions{.learning_rate = o["lr"],
                                                    .alpha = o.value("alpha", 0.99),
                                                    .eps = o.value("eps", 1e-8),
                                                    .weight_decay = o.value("weight_decay", 0.0)});
  }
  return std::make_unique<Adagrad>(AdagradOptions{
      .learning_rate = o["lr"], .eps = o.value("eps", 1e-10), .weight_decay = o.value("weight_decay", 0.0)});
}

TEST(Optimizers, FollowPytorchsTrajectories) {
  std::ifstream in(std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/optimizers.json");
  ASSERT_TRUE(in) << "missing fixture";
  const nlohmann::json fixture = nlohmann::json::parse(in);
  const std::vector<double> p0 = fixture["p0"];
  ASSERT_EQ(fixture["cases"].size(), 11u);
  for (const nlohmann::json& c : fixture["cases"]) {
    SCOPED_TRACE(c["optimizer"].get<std::string>() + " " + c["options"].dump());
    VariableStore store(0, DType::f64);
    const Variable& w = store.get_variable("w", {6});
    const Variable& frozen = store.get_variable("frozen", {3});
    store.set_trainable("frozen", false);
    std::vector<double> frozen_before(store.value<double>(frozen).data(), store.value<double>(frozen).data() + 3);
    std::copy(p0.begin(), p0.end(), store.value<double>(w).data());
    std::unique_ptr<Optimizer> opt = make_optimizer(c["optimizer"], c["options"]);
    for (std::size_t step = 0; step < 4; ++step) {
      const std::vector<double> g = fixture["grads"][step];
      std::copy(g.begin(), g.end(), store.grad<double>(w).data());
      for (int i = 0; i < 3; ++i) store.grad<double>(frozen)[i] = 1.0;  // must be ignored
      opt->step(store);
      const std::vector<double> expected = c["after"][step];
      for (std::size_t i = 0; i < 6; ++i) {
        const double got = store.value<double>(w)[static_cast<int64_t>(i)];
        EXPECT_NEAR(got, expected[i], 1e-14 * std::max(1.0, std::abs(expected[i])))
            << "step " << step + 1 << " element " << i;
      }
    }
    for (int i = 0; i < 3; ++i) EXPECT_EQ(store.value<double>(frozen)[i], frozen_before[static_cast<std::size_t>(i)]);
  }
}

TEST(Optimizers, BadSettingsAreNamed) {
  EXPECT_NE(test::error_of([] { Sgd({.nesterov = true}); }).find("nesterov needs momentum > 0"), std::string::npos);
  EXPECT_NE(test::error_of([] { Adam({.beta1 = 1.0}); }).find("betas must be in [0, 1)"), std::string::npos);
  EXPECT_NE(test::error_of([] { Sgd({.learning_rate = -1}); }).find("learning rate is -1"), std::string::npos);
}

TEST(Clipping, GlobalNormScalesLikePytorchAndReturnsTheNormBefore) {
  VariableStore store(0, DType::f32);
  const Variable& a = store.get_variable("a", {2});
  const Variable& b = store.get_variable("b", {1});
  const Variable& frozen = store.get_variable("frozen", {1});
  store.set_trainable("frozen", false);
  store.grad<float>(a)[0] = 3;
  store.grad<float>(a)[1] = 0;
  store.grad<float>(b)[0] = 4;
  store.grad<float>(frozen)[0] = 100;                      // not counted, not clipped
  EXPECT_DOUBLE_EQ(clip_gradient_norm(store, 10.0), 5.0);  // below the limit: unchanged
  EXPECT_EQ(store.grad<float>(a)[0], 3.0f);
  EXPECT_DOUBLE_EQ(clip_gradient_norm(store, 1.0), 5.0);
  EXPECT_NEAR(store.grad<float>(a)[0], 3.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_NEAR(store.grad<float>(b)[0], 4.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_NEAR(gradient_norm(store), 1.0, 1e-6);
  EXPECT_EQ(store.grad<float>(frozen)[0], 100.0f);
  store.grad<float>(a)[0] = -7;
  clip_gradient_value(store, 0.5);
  EXPECT_EQ(store.grad<float>(a)[0], -0.5f);
  EXPECT_EQ(store.grad<float>(frozen)[0], 100.0f);
  EXPECT_NE(test::error_of([&] { clip_gradient_norm(store, 0.0); }).find("expected > 0"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

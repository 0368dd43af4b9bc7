// Ends parity: labels as the header says, and a bidirectional GRU reading the forward
// direction's last output and the reverse direction's first learns it at T = 60 (through a
// one-hidden-layer head: XOR is not linearly separable).
#include "rnnkit/tasks/ends_parity.h"

#include <gtest/gtest.h>

#include "rnnkit/autograd/recurrent_op.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/nn/linear.h"
#include "rnnkit/train/adam.h"

namespace rnnkit {
namespace {

TEST(EndsParity, LabelsCompareTheEnds) {
  RandomStream random(4, "ends");
  const EndsParityBatch batch = ends_parity_batch(7, 200, random);
  int ones = 0;
  for (int64_t b = 0; b < 200; ++b) {
    const bool differ = batch.input[b] != batch.input[6 * 200 + b];
    EXPECT_EQ(batch.labels[static_cast<std::size_t>(b)], differ ? 1 : 0);
    ones += differ ? 1 : 0;
  }
  EXPECT_NEAR(ones, 100, 30);  // binomial(200, 1/2): sd 7
}

TEST(EndsParity, ABidirectionalGruLearnsIt) {
  constexpr int64_t kSteps = 60, kBatch = 32, kHidden = 16;
  VariableStore store(9);
  const RecurrentSpec spec{CellKind::gru, 1, kHidden, 1, true, 0};
  {
    auto scope = store.scope("gru");
    create_recurrent_variables(store, spec);
  }
  std::optional<Linear> hidden, head;
  {
    auto scope = store.scope("hidden");
    hidden.emplace(store, 2 * kHidden, kHidden);
  }
  {
    auto scope = store.scope("head");
    head.emplace(store, kHidden, 2);
  }
  RecurrentLayer<float> layer(store, "gru", spec);
  Adam adam({.learning_rate = 0.01});
  Tape<float> tape(store);
  RandomStream data(5, "ends/train");
  double accuracy = 0;
  for (int step = 1; step <= 300; ++step) {
    const EndsParityBatch batch = ends_parity_batch(kSteps, kBatch, data);
    tape.clear();
    store.zero_grad();
    const RecurrentValues<float> y = recurrent(layer, tape.input(batch.input.view()));
    // Forward direction at the last step, reverse direction at the first (its final state).
    const Value<float> ends =
        concat<float>({slice(take(y.output, kSteps - 1), 0, kHidden), slice(take(y.output, 0), kHidden, 2 * kHidden)});
    const Value<float> logits = (*head)(tanh((*hidden)(ends)));
    tape.backward(softmax_cross_entropy(logits, batch.labels));
    adam.step(store);
    int correct = 0;
    for (int64_t b = 0; b < kBatch; ++b) {
      const int64_t guess = logits.value()[b * 2 + 1] > logits.value()[b * 2] ? 1 : 0;
      correct += guess == batch.labels[static_cast<std::size_t>(b)] ? 1 : 0;
    }
    accuracy = 0.9 * accuracy + 0.1 * correct / static_cast<double>(kBatch);
  }
  std::cout << "ends parity T=60: smoothed accuracy after 300 steps " << accuracy << " (chance 0.5)\n";
  EXPECT_GT(accuracy, 0.95);
}

}  // namespace
}  // namespace rnnkit

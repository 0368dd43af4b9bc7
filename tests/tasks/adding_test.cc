// The adding problem: the batch is what its header says, its baseline is 1/6, and a short
// deterministic training run (fused LSTM on the tape, a Linear head on the last step, Adam)
// beats the baseline by far, which a model without memory cannot.
#include "rnnkit/tasks/adding.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/autograd/recurrent_op.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/nn/linear.h"
#include "rnnkit/train/adam.h"
#include "rnnkit/train/clip.h"

namespace rnnkit {
namespace {

TEST(AddingProblem, BatchesHaveTwoMarksOneInEachHalfAndTheirSum) {
  RandomStream random(1, "adding");
  const AddingBatch batch = adding_batch(10, 500, random);
  double mse_of_one = 0;
  for (int64_t b = 0; b < 500; ++b) {
    int marks_first = 0, marks_second = 0;
    double sum = 0;
    for (int64_t t = 0; t < 10; ++t) {
      const float mark = batch.input[(t * 500 + b) * 2 + 1];
      if (mark == 1.0f) {
        (t < 5 ? marks_first : marks_second) += 1;
        sum += batch.input[(t * 500 + b) * 2];
      }
    }
    EXPECT_EQ(marks_first, 1);
    EXPECT_EQ(marks_second, 1);
    EXPECT_NEAR(batch.target[b], sum, 1e-6);
    mse_of_one += (batch.target[b] - 1.0) * (batch.target[b] - 1.0) / 500;
  }
  EXPECT_NEAR(mse_of_one, kAddingBaselineMse, 0.02);  // sd of the estimate ~0.007
}

TEST(AddingProblem, AnLstmLearnsItAtT20FarBelowTheBaseline) {
  constexpr int64_t kSteps = 20, kBatch = 32, kHidden = 24;
  VariableStore store(7);
  const RecurrentSpec spec{CellKind::lstm, 2, kHidden, 1, false, 0};
  {
    auto scope = store.scope("lstm");
    create_recurrent_variables(store, spec);  // keras preset: glorot, orthogonal, forget bias 1
  }
  std::optional<Linear> head;
  {
    auto scope = store.scope("head");
    head.emplace(store, kHidden, 1);
  }
  RecurrentLayer<float> layer(store, "lstm", spec);
  Adam adam({.learning_rate = 0.01});
  Tape<float> tape(store);
  RandomStream data(3, "adding/train");
  double last = 1.0;
  for (int step = 1; step <= 600; ++step) {
    const AddingBatch batch = adding_batch(kSteps, kBatch, data);
    tape.clear();
    store.zero_grad();
    const RecurrentValues<float> y = recurrent(layer, tape.input(batch.input.view()));
    const Value<float> loss = mse((*head)(take(y.output, kSteps - 1)), tape.input(batch.target.view()));
    tape.backward(loss);
    clip_gradient_norm(store, 1.0);
    adam.step(store);
    last = step == 1 ? loss.value()[0] : 0.95 * last + 0.05 * loss.value()[0];  // smoothed
  }
  std::cout << "adding T=20: smoothed training MSE after 600 steps " << last << " (baseline " << kAddingBaselineMse
            << ")\n";
  EXPECT_LT(last, 0.1 * kAddingBaselineMse);
}

}  // namespace
}  // namespace rnnkit

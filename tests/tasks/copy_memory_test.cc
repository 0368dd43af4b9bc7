// The copy-memory task: layout as its header says, and the memoryless predictor's
// cross-entropy (through the tape's softmax_cross_entropy) equals the stated baseline.
#include "rnnkit/tasks/copy_memory.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/autograd/ops.h"

namespace rnnkit {
namespace {

TEST(CopyMemory, LayoutAndMemorylessBaseline) {
  constexpr int64_t kDelay = 30, kBatch = 16;
  RandomStream random(2, "copy");
  const CopyMemoryBatch batch = copy_memory_batch(kDelay, kBatch, random);
  ASSERT_EQ(batch.steps, kDelay + 20);
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t k = 0; k < 10; ++k) {
      const int64_t symbol = batch.input[static_cast<std::size_t>(k * kBatch + b)];
      EXPECT_GE(symbol, 1);
      EXPECT_LE(symbol, 8);
      EXPECT_EQ(batch.target[static_cast<std::size_t>((kDelay + 10 + k) * kBatch + b)], symbol);
    }
    EXPECT_EQ(batch.input[static_cast<std::size_t>((kDelay + 9) * kBatch + b)], kCopyMemoryDelimiter);
    EXPECT_EQ(batch.input[static_cast<std::size_t>((kDelay + 10) * kBatch + b)], kCopyMemoryBlank);
  }
  // The memoryless predictor: blank with certainty (a large logit) until the copy, then
  // uniform over the 8 data symbols.
  VariableStore store(0, DType::f64);
  Tape<double> tape(store);
  Tensor<double> logits({batch.steps * kBatch, kCopyMemoryVocabulary});
  for (int64_t t = 0; t < batch.steps; ++t) {
    for (int64_t b = 0; b < kBatch; ++b) {
      double* row = logits.data() + (t * kBatch + b) * kCopyMemoryVocabulary;
      if (t < kDelay + 10) {
        row[kCopyMemoryBlank] = 100.0;  // e^-100: negligible mass elsewhere
      } else {
        row[kCopyMemoryBlank] = row[kCopyMemoryDelimiter] = -100.0;
      }
    }
  }
  const Value<double> ce = softmax_cross_entropy(tape.input(logits.view()), batch.target);
  EXPECT_NEAR(ce.value()[0], copy_memory_baseline(kDelay), 1e-12);
  EXPECT_NEAR(copy_memory_baseline(100), 10 * std::log(8.0) / 120, 1e-15);
}

}  // namespace
}  // namespace rnnkit

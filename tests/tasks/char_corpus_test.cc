// Character corpora: UTF-8 decoding (and its errors, with byte offsets), the vocabulary,
// batches of next-character targets, the unigram baseline, the built-in text.
#include "rnnkit/tasks/char_corpus.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rnnkit/autograd/recurrent_op.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/nn/embedding.h"
#include "rnnkit/nn/linear.h"
#include "rnnkit/train/adam.h"
#include "rnnkit/train/clip.h"
#include "test_support.h"

namespace rnnkit {
namespace {

TEST(CharCorpus, DecodesUtf8IntoASortedVocabulary) {
  const CharCorpus c = CharCorpus::from_text("aé€😀a", "mixed");
  ASSERT_EQ(c.vocabulary(), 4);
  EXPECT_EQ(c.symbols()[0], U'a');
  EXPECT_EQ(c.symbols()[3], U'\U0001F600');
  EXPECT_EQ(c.ids(), (std::vector<int32_t>{0, 1, 2, 3, 0}));
  EXPECT_EQ(c.decode({3, 2, 1, 0}), "😀€éa");
  // p(a) = 2/5, the others 1/5 each.
  EXPECT_NEAR(c.unigram_bits_per_char(), -(0.4 * std::log2(0.4) + 3 * 0.2 * std::log2(0.2)), 1e-12);
}

TEST(CharCorpus, InvalidUtf8IsNamedWithItsOffset) {
  EXPECT_NE(test::error_of([] { CharCorpus::from_text("ab\xff", "t"); }).find("lead byte 0xFF at byte offset 2"),
            std::string::npos);
  EXPECT_NE(
      test::error_of([] { CharCorpus::from_text("ab\xc3", "t"); }).find("truncated UTF-8 sequence at byte offset 2"),
      std::string::npos);
  EXPECT_NE(test::error_of([] { CharCorpus::from_text("a\xc0\xaf", "t"); }).find("overlong"), std::string::npos);
  EXPECT_NE(test::error_of([] { CharCorpus::from_text("\xed\xa0\x80z", "t"); }).find("surrogate"), std::string::npos);
  EXPECT_NE(test::error_of([] { CharCorpus::from_text("a", "t"); }).find("expected at least 2"), std::string::npos);
}

TEST(CharCorpus, BatchTargetsAreTheNextCharacters) {
  const CharCorpus c = CharCorpus::from_text("abcdefghijklmnopqrstuvwxyz", "alphabet");
  RandomStream random(1, "batch");
  const CharBatch b = c.batch(5, 3, random);
  for (int64_t row = 0; row < 3; ++row) {
    for (int64_t t = 0; t < 5; ++t) {
      const int64_t in = b.input[static_cast<std::size_t>(t * 3 + row)];
      EXPECT_EQ(b.target[static_cast<std::size_t>(t * 3 + row)], in + 1);  // consecutive letters
      if (t > 0) {
        EXPECT_EQ(in, b.input[static_cast<std::size_t>((t - 1) * 3 + row)] + 1);
      }
    }
  }
  EXPECT_NE(test::error_of([&] { c.batch(26, 1, random); }).find("needs T, B >= 1 and at least T + 1 characters"),
            std::string::npos);
}

TEST(CharCorpus, TheBuiltinTextIsDeterministicEnglishLikeProse) {
  const CharCorpus a = CharCorpus::builtin(20000), b = CharCorpus::builtin(20000);
  EXPECT_EQ(a.ids(), b.ids());
  EXPECT_GE(a.size(), 20000);
  EXPECT_LT(a.vocabulary(), 40);
  const std::string start = a.decode(std::vector<int64_t>(a.ids().begin(), a.ids().begin() + 40));
  EXPECT_TRUE(std::isupper(static_cast<unsigned char>(start[0]))) << start;
  EXPECT_GT(a.unigram_bits_per_char(), 3.0);  // letters, spaces and punctuation
  EXPECT_LT(a.unigram_bits_per_char(), 4.5);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// Embedding -> fused LSTM -> Linear over every step, Adam: on the built-in text the model
// goes well below the unigram baseline (it learns words), in a few hundred steps.
TEST(CharCorpus, AnLstmLanguageModelBeatsTheUnigramBaseline) {
  const CharCorpus corpus = CharCorpus::builtin(50000);
  constexpr int64_t kSteps = 32, kBatch = 16, kEmbed = 16, kHidden = 64;
  const int64_t vocab = corpus.vocabulary();
  VariableStore store(11);
  std::optional<Embedding> embed;
  std::optional<Linear> head;
  const RecurrentSpec spec{CellKind::lstm, kEmbed, kHidden, 1, false, 0};
  {
    auto scope = store.scope("lm");
    embed.emplace(store, vocab, kEmbed);
    {
      auto rnn = store.scope("lstm");
      create_recurrent_variables(store, spec);
    }
    auto h = store.scope("head");
    head.emplace(store, kHidden, vocab);
  }
  RecurrentLayer<float> layer(store, "lm/lstm", spec);
  Adam adam({.learning_rate = 0.01});
  Tape<float> tape(store);
  RandomStream data(2, "char/train");
  double bits = 0;
  for (int step = 1; step <= 300; ++step) {
    const CharBatch batch = corpus.batch(kSteps, kBatch, data);
    tape.clear();
    store.zero_grad();
    const Value<float> x = reshape((*embed)(tape, batch.input), {kSteps, kBatch, kEmbed});
    const RecurrentValues<float> y = recurrent(layer, x);
    const Value<float> loss =
        softmax_cross_entropy((*head)(reshape(y.output, {kSteps * kBatch, kHidden})), batch.target);
    tape.backward(loss);
    clip_gradient_norm(store, 5.0);
    adam.step(store);
    const double b = loss.value()[0] / std::log(2.0);
    bits = step == 1 ? b : 0.95 * bits + 0.05 * b;
  }
  std::cout << "char LM: " << bits << " bits/char after 300 steps; unigram baseline " << corpus.unigram_bits_per_char()
            << "\n";
  EXPECT_LT(bits, corpus.unigram_bits_per_char() - 1.5);
}

}  // namespace
}  // namespace rnnkit

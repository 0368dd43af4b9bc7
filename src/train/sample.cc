// Text generation from a character LM; see train/sample.h.
#include "rnnkit/train/sample.h"

#include <algorithm>
#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {
namespace {

// Draws from softmax(logits / temperature); the argmax at temperature 0.
int64_t draw(const float* logits, int64_t n, double temperature, RandomStream& random) {
  const int64_t best = std::max_element(logits, logits + n) - logits;
  if (temperature == 0.0) return best;
  std::vector<double> p(static_cast<std::size_t>(n));
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    p[static_cast<std::size_t>(i)] = std::exp((static_cast<double>(logits[i]) - logits[best]) / temperature);
    total += p[static_cast<std::size_t>(i)];
  }
  double u = random.uniform() * total;
  for (int64_t i = 0; i < n; ++i) {
    u -= p[static_cast<std::size_t>(i)];
    if (u < 0) return i;
  }
  return best;  // rounding left u >= 0 at the end
}

}  // namespace

std::string sample_text(SequenceModel& model, VariableStore& store, const CharCorpus& corpus,
                        const SampleOptions& options) {
  if (options.length < 0) throw Error("sample: length is " + std::to_string(options.length) + ", expected >= 0");
  if (!(options.temperature >= 0.0) || !std::isfinite(options.temperature)) {
    throw Error("sample: temperature is " + std::to_string(options.temperature) + ", expected a finite value >= 0");
  }
  std::vector<int64_t> ids;
  if (options.prompt.empty()) {
    const auto space = std::lower_bound(corpus.symbols().begin(), corpus.symbols().end(), U' ');
    ids.push_back(space != corpus.symbols().end() && *space == U' ' ? space - corpus.symbols().begin() : 0);
  } else {
    ids = corpus.encode(options.prompt);
  }
  model.recurrent().set_training(false);
  Tape<float> tape(store);
  RandomStream random(options.seed, "sample");
  Tensor<float> h, c;
  std::vector<int64_t> generated;
  std::vector<int64_t> feed = ids;
  for (int64_t k = 0; k < options.length; ++k) {
    tape.clear();
    TaskBatch batch;
    batch.steps = static_cast<int64_t>(feed.size());
    batch.batch = 1;
    batch.tokens = feed;
    Value<float> h0, c0;
    if (h.numel() > 0) h0 = tape.input(h.view());
    if (c.numel() > 0) c0 = tape.input(c.view());
    const SequenceModel::Outputs out = model.forward(tape, batch, h0, c0);
    const auto logits = out.prediction.value();
    if (logits.rank() != 2 || logits.shape()[1] != corpus.vocabulary()) {
      throw Error("sample: the model predicts " + shape_to_string(logits.shape()) + " values, expected [N, " +
                  std::to_string(corpus.vocabulary()) + "] (a character model of this text)");
    }
    h = copy_tensor(out.rnn.h_n.value());
    if (out.rnn.c_n.valid()) c = copy_tensor(out.rnn.c_n.value());
    const int64_t n = corpus.vocabulary();
    const int64_t next = draw(logits.data() + (logits.shape()[0] - 1) * n, n, options.temperature, random);
    generated.push_back(next);
    feed = {next};
  }
  return (options.prompt.empty() ? std::string() : options.prompt) + corpus.decode(generated);
}

}  // namespace rnnkit

// Typo detection; see tasks/typo.h.
#include "rnnkit/tasks/typo.h"

#include <algorithm>

#include "rnnkit/core/error.h"

namespace rnnkit {

TypoBatch typo_batch(const CharCorpus& corpus, int64_t steps, int64_t batch, RandomStream& random) {
  if (corpus.vocabulary() < 2) throw Error("typo task: the text uses a single character; a typo needs two");
  const CharBatch windows = corpus.batch(steps, batch, random);
  TypoBatch out{steps, batch, windows.input, std::vector<int64_t>(static_cast<std::size_t>(batch), 0)};
  const int64_t vocab = corpus.vocabulary();
  for (int64_t b = 0; b < batch; ++b) {
    if (random.uniform() < 0.5) continue;
    const int64_t t = std::min(steps - 1, static_cast<int64_t>(random.uniform() * static_cast<double>(steps)));
    int64_t& id = out.input[static_cast<std::size_t>(t * batch + b)];
    // A different symbol, uniformly: draw from the V - 1 others.
    const int64_t other = std::min(vocab - 2, static_cast<int64_t>(random.uniform() * static_cast<double>(vocab - 1)));
    id = other >= id ? other + 1 : other;
    out.labels[static_cast<std::size_t>(b)] = 1;
  }
  return out;
}

}  // namespace rnnkit

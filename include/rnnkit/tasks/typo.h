// Typo detection: is there a wrong character in this window of text?
//
// A batch holds B windows of T consecutive characters of a corpus at random offsets
// (ids, time-major: index t * B + b). With probability 1/2 a window is left as it is
// (label 0); otherwise the character at one uniformly chosen position is replaced by a
// different character drawn uniformly from the vocabulary (label 1). Telling the two
// apart needs a model of the language, which is what a pre-trained character LM brings:
// the task the transfer walkthrough warm-starts. Baseline: guessing, cross-entropy ln 2
// (accuracy 1/2).
#pragma once

#include <cstdint>
#include <vector>

#include "rnnkit/random/stream.h"
#include "rnnkit/tasks/char_corpus.h"

namespace rnnkit {

struct TypoBatch {
  int64_t steps = 0, batch = 0;
  std::vector<int64_t> input;   // [T * B]
  std::vector<int64_t> labels;  // [B]: 1 if the window has a replaced character
};

// Throws Error if the corpus has fewer than T + 1 characters or fewer than 2 symbols.
TypoBatch typo_batch(const CharCorpus& corpus, int64_t steps, int64_t batch, RandomStream& random);

}  // namespace rnnkit

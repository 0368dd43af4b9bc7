// Text generation from a character-level language model (task char_lm).
//
// The prompt runs through the model as one sequence; then each next character is drawn
// from softmax(logits / temperature) with the stream (seed, "sample") and fed back in,
// the recurrent state carried from step to step. Temperature 0 takes the most likely
// character every time. The same model, prompt, seed and temperature give the same text.
#pragma once

#include <cstdint>
#include <string>

#include "rnnkit/tasks/char_corpus.h"
#include "rnnkit/train/sequence_model.h"

namespace rnnkit {

struct SampleOptions {
  int64_t length = 200;      // characters to generate after the prompt
  double temperature = 1.0;  // >= 0
  uint64_t seed = 0;
  std::string prompt;  // empty: start from a space (or the first symbol)
};

// Throws Error if the model is not a per-step classifier over the corpus' vocabulary, for
// a negative temperature or length, or a prompt character outside the vocabulary.
std::string sample_text(SequenceModel& model, VariableStore& store, const CharCorpus& corpus,
                        const SampleOptions& options);

}  // namespace rnnkit

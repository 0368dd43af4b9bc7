// The copy-memory task (Arjovsky, Shah and Bengio 2016), generated in process.
// Symbols: 0 blank, 1..8 data, 9 the delimiter (vocabulary 10). For delay T each sequence
// has T + 20 steps:
//   input:  10 data symbols drawn uniformly from 1..8, T - 1 blanks, the delimiter, 10 blanks
//   target: T + 10 blanks, then the 10 data symbols
// A memoryless model answers blank for the first T + 10 steps and a uniform guess over the
// 8 data symbols for the last 10: cross-entropy 10 ln 8 / (T + 20) per step, the baseline.
#pragma once

#include <cstdint>
#include <vector>

#include "rnnkit/random/stream.h"

namespace rnnkit {

inline constexpr int64_t kCopyMemoryVocabulary = 10;
inline constexpr int64_t kCopyMemoryBlank = 0, kCopyMemoryDelimiter = 9, kCopyMemoryLength = 10;

double copy_memory_baseline(int64_t delay);

struct CopyMemoryBatch {
  int64_t steps = 0, batch = 0;  // steps = delay + 20
  std::vector<int64_t> input;    // [steps * batch], time-major: input[t * batch + b]
  std::vector<int64_t> target;   // the same layout
};

// Throws Error if delay < 1 or batch < 1.
CopyMemoryBatch copy_memory_batch(int64_t delay, int64_t batch, RandomStream& random);

}  // namespace rnnkit

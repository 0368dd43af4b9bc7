// The copy-memory task; see tasks/copy_memory.h.
#include "rnnkit/tasks/copy_memory.h"

#include <algorithm>
#include <cmath>

#include "rnnkit/core/error.h"

namespace rnnkit {

double copy_memory_baseline(int64_t delay) {
  return static_cast<double>(kCopyMemoryLength) * std::log(8.0) / static_cast<double>(delay + 20);
}

CopyMemoryBatch copy_memory_batch(int64_t delay, int64_t batch, RandomStream& random) {
  if (delay < 1 || batch < 1) {
    throw Error("copy memory: delay is " + std::to_string(delay) + " and B " + std::to_string(batch) +
                ", expected both >= 1");
  }
  CopyMemoryBatch out;
  out.steps = delay + 2 * kCopyMemoryLength;
  out.batch = batch;
  const std::size_t size = static_cast<std::size_t>(out.steps * batch);
  out.input.assign(size, kCopyMemoryBlank);
  out.target.assign(size, kCopyMemoryBlank);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t k = 0; k < kCopyMemoryLength; ++k) {
      const int64_t symbol = 1 + std::min<int64_t>(7, static_cast<int64_t>(random.uniform() * 8.0));
      out.input[static_cast<std::size_t>(k * batch + b)] = symbol;
      out.target[static_cast<std::size_t>((delay + kCopyMemoryLength + k) * batch + b)] = symbol;
    }
    out.input[static_cast<std::size_t>((delay + kCopyMemoryLength - 1) * batch + b)] = kCopyMemoryDelimiter;
  }
  return out;
}

}  // namespace rnnkit

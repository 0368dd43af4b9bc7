// Random streams keyed by (seed, name), with portable transforms.
//
// A variable's random numbers come from its own stream: the Philox key is the
// 64-bit global seed, the upper 64 bits of the counter are the FNV-1a 64-bit
// hash of the variable's full name (UTF-8 bytes), and the lower 64 bits count
// blocks of four 32-bit words from 0. So a variable's values depend only on the
// seed and its name: not on creation order, other variables, threads or platform.
//
// Transforms (ours, not std::'s, whose distributions differ between libraries):
//   uniform():  53 random bits from two words, u = bits * 2^-53, in [0, 1).
//   normal():   Box-Muller on (u1, u2) with u1 in (0, 1]: r = sqrt(-2 ln u1);
//               yields r cos(2 pi u2), then r sin(2 pi u2) on the next call.
// All transforms compute in double; values are rounded to the storage type after.
#pragma once

#include <cstdint>
#include <string_view>

#include "rnnkit/random/philox.h"

namespace rnnkit {

// FNV-1a, 64-bit, over the bytes of `text`.
uint64_t fnv1a64(std::string_view text);

class RandomStream {
 public:
  RandomStream(uint64_t seed, std::string_view name);

  uint32_t next_u32();
  double uniform();                         // [0, 1)
  double uniform(double low, double high);  // [low, high)
  double normal();                          // mean 0, stddev 1
  double normal(double mean, double stddev);

  // Advances the stream as `count` calls of normal() would, without computing their values
  // (Philox is counter-based: a block is a function of its index). A copy skipped ahead draws
  // a later stretch of the same sequence, so threads can draw disjoint stretches and get the
  // bits that one thread drawing everything would.
  void skip_normals(uint64_t count);

 private:
  void skip_words(uint64_t count);

  PhiloxKey key_;
  uint64_t name_hash_;
  uint64_t block_ = 0;
  PhiloxCounter words_{};
  int next_word_ = 4;  // 4: the current block is used up
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace rnnkit

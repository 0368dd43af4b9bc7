// Name-keyed Philox streams and their transforms; see stream.h.
#include "rnnkit/random/stream.h"

#include <cmath>
#include <numbers>

namespace rnnkit {

uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char ch : text) {
    hash ^= static_cast<uint8_t>(ch);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

RandomStream::RandomStream(uint64_t seed, std::string_view name)
    : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}, name_hash_(fnv1a64(name)) {}

uint32_t RandomStream::next_u32() {
  if (next_word_ == 4) {
    const PhiloxCounter counter = {static_cast<uint32_t>(block_), static_cast<uint32_t>(block_ >> 32),
                                   static_cast<uint32_t>(name_hash_), static_cast<uint32_t>(name_hash_ >> 32)};
    words_ = philox4x32_10(counter, key_);
    ++block_;
    next_word_ = 0;
  }
  return words_[static_cast<std::size_t>(next_word_++)];
}

double RandomStream::uniform() {
  const uint64_t hi = next_u32();
  const uint64_t lo = next_u32();
  const uint64_t bits = ((hi << 32) | lo) >> 11;  // 53 bits
  return static_cast<double>(bits) * 0x1.0p-53;
}

double RandomStream::uniform(double low, double high) { return low + (high - low) * uniform(); }

double RandomStream::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  const double u1 = 1.0 - uniform();  // (0, 1]: log(u1) is finite
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = r * std::sin(angle);
  has_spare_normal_ = true;
  return r * std::cos(angle);
}

double RandomStream::normal(double mean, double stddev) { return mean + stddev * normal(); }

void RandomStream::skip_words(uint64_t count) {
  // Words used so far: every block generated, less what is left of the current one.
  const uint64_t position = block_ * 4 - static_cast<uint64_t>(4 - next_word_) + count;
  block_ = position / 4;
  next_word_ = 4;
  for (uint64_t i = 0; i < position % 4; ++i) next_u32();
}

void RandomStream::skip_normals(uint64_t count) {
  if (count == 0) return;
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    --count;
  }
  skip_words(4 * (count / 2));   // a pair of normals takes two uniforms of two words each
  if (count % 2 == 1) normal();  // the first of a pair; its second stays as the spare
}

}  // namespace rnnkit

// SHA-256 (FIPS 180-4), which pins the text a training run read (train/run_config.h: the
// task's text_sha256), so that a checkpoint from elsewhere names its text by content and not
// only by a path.
//
//   message padded with 0x80, zeros and its length in bits (64-bit big-endian) to a multiple
//   of 64 bytes; each block runs 64 rounds over eight 32-bit words from H0 = the first 32
//   bits of the fractional parts of sqrt(2), sqrt(3), ..., sqrt(19), with round constants
//   K_t = those of the cube roots of the first 64 primes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace rnnkit {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> data);
  // The digest of everything given to update; the object is spent afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void compress(const unsigned char* block);
  std::array<uint32_t, 8> state_;
  std::array<unsigned char, 64> pending_{};
  std::size_t pending_size_ = 0;
  uint64_t total_bytes_ = 0;
};

// The digest of `data` as 64 lowercase hexadecimal digits.
std::string sha256_hex(std::span<const std::byte> data);

}  // namespace rnnkit

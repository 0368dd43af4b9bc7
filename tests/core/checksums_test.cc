// CRC-32C and SHA-256 against published test vectors, and their streaming and hardware paths
// against the one-shot and table paths.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/sha256.h"

namespace rnnkit {
namespace {

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<std::byte> out(n);
  for (std::byte& b : out) b = static_cast<std::byte>(random() & 0xFFu);
  return out;
}

// RFC 3720 (iSCSI), appendix B.4, and the customary check value.
TEST(Crc32c, MatchesPublishedVectors) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(std::vector<std::byte>(32, std::byte{0x00})), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::vector<std::byte>(32, std::byte{0xFF})), 0x62A8AB43u);
  std::vector<std::byte> ascending(32), descending(32);
  for (int i = 0; i < 32; ++i) {
    ascending[static_cast<std::size_t>(i)] = static_cast<std::byte>(i);
    descending[static_cast<std::size_t>(i)] = static_cast<std::byte>(31 - i);
  }
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(crc32c({}), 0u);
}

TEST(Crc32c, HardwareTablePathsAndExtendingAgree) {
  std::cout << "crc32c hardware path: " << (detail::crc32c_has_hardware() ? "yes" : "no") << "\n";
  const std::vector<std::byte> data = random_bytes(4099, 7);
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 65u, 1000u, 4099u}) {
    const std::span<const std::byte> part(data.data(), n);
    const uint32_t whole = crc32c(part);
    EXPECT_EQ(whole, detail::crc32c_extend_portable(0, part)) << n;
    for (std::size_t cut : {std::size_t{0}, n / 3, n}) {
      EXPECT_EQ(crc32c_extend(crc32c(part.first(cut)), part.subspan(cut)), whole) << n << " cut " << cut;
    }
  }
  // Any one flipped bit changes it.
  std::vector<std::byte> flipped = data;
  flipped[2049] ^= std::byte{0x10};
  EXPECT_NE(crc32c(flipped), crc32c(data));
}

// FIPS 180-4 examples (NIST's SHA-256 example values).
TEST(Sha256, MatchesPublishedVectors) {
  EXPECT_EQ(sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(bytes_of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(bytes_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(bytes_of(std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecewiseUpdatesGiveTheOneShotDigest) {
  const std::vector<std::byte> data = random_bytes(300, 11);
  for (std::size_t n = 0; n <= data.size(); n += 13) {
    const std::span<const std::byte> part(data.data(), n);
    Sha256 whole;
    whole.update(part);
    const auto expected = whole.finish();
    for (std::size_t step : {1u, 5u, 63u, 64u, 65u}) {
      Sha256 pieces;
      for (std::size_t at = 0; at < n; at += step) pieces.update(part.subspan(at, std::min(step, n - at)));
      EXPECT_EQ(pieces.finish(), expected) << n << " in pieces of " << step;
    }
  }
}

}  // namespace
}  // namespace rnnkit

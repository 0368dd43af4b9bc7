// CRC-32C; see core/crc32c.h.
#include "rnnkit/core/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace rnnkit {
namespace {

constexpr uint32_t kReflectedPolynomial = 0x82F63B78u;

// table[b]: the remainder of byte b shifted through eight reflected steps.
constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t r = b;
    for (int bit = 0; bit < 8; ++bit) r = (r & 1u) != 0 ? (r >> 1) ^ kReflectedPolynomial : r >> 1;
    table[b] = r;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = make_table();

// Both paths work on the raw register (no initial or final XOR).
uint32_t update_portable(uint32_t r, const unsigned char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) r = kTable[(r ^ p[i]) & 0xFFu] ^ (r >> 8);
  return r;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t update_hardware(uint32_t r, const unsigned char* p, std::size_t n) {
  uint64_t wide = r;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word = 0;
    std::memcpy(&word, p, 8);
    wide = _mm_crc32_u64(wide, word);
  }
  auto narrow = static_cast<uint32_t>(wide);
  for (; n > 0; ++p, --n) narrow = _mm_crc32_u8(narrow, *p);
  return narrow;
}
#endif

bool has_hardware() {
#if defined(__x86_64__)
  static const bool kHasSse42 = __builtin_cpu_supports("sse4.2") != 0;
  return kHasSse42;
#else
  return false;
#endif
}

}  // namespace

namespace detail {
uint32_t crc32c_extend_portable(uint32_t crc, std::span<const std::byte> data) {
  return ~update_portable(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}
bool crc32c_has_hardware() { return has_hardware(); }
}  // namespace detail

uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
#if defined(__x86_64__)
  if (has_hardware()) return ~update_hardware(~crc, p, data.size());
#endif
  return ~update_portable(~crc, p, data.size());
}

uint32_t crc32c(std::span<const std::byte> data) { return crc32c_extend(0, data); }

}  // namespace rnnkit

// SHA-256; see core/sha256.h. The constants are derived from their definition (integer
// square and cube roots of the primes, scaled by 2^32) at compile time rather than typed in.
#include "rnnkit/core/sha256.h"

#include <cstring>

namespace rnnkit {
namespace {

__extension__ typedef unsigned __int128 u128;  // NOLINT(modernize-use-using): the extension needs typedef

constexpr std::array<uint32_t, 64> first_primes() {
  std::array<uint32_t, 64> primes{};
  uint32_t candidate = 2;
  for (std::size_t found = 0; found < primes.size(); ++candidate) {
    bool prime = true;
    for (uint32_t d = 2; d * d <= candidate; ++d) prime = prime && candidate % d != 0;
    if (prime) primes[found++] = candidate;
  }
  return primes;
}

// The largest r with r^power <= value (power 2 or 3), by bisection: exact, no floating point.
constexpr uint64_t integer_root(u128 value, int power) {
  uint64_t low = 0, high = uint64_t{1} << 40;  // every root taken here is below 2^40
  while (low < high) {
    const uint64_t mid = low + (high - low + 1) / 2;
    u128 p = mid;
    for (int i = 1; i < power; ++i) p *= mid;
    if (p <= value) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  return low;
}

// floor(frac(p^(1/power)) * 2^32) = floor((p * 2^(32 * power))^(1/power)) mod 2^32.
constexpr uint32_t fraction_bits(uint32_t prime, int power) {
  return static_cast<uint32_t>(integer_root(u128{prime} << (32 * power), power));
}

constexpr std::array<uint32_t, 64> make_round_constants() {
  std::array<uint32_t, 64> k{};
  const std::array<uint32_t, 64> primes = first_primes();
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = fraction_bits(primes[i], 3);
  return k;
}
constexpr std::array<uint32_t, 8> make_initial_state() {
  std::array<uint32_t, 8> h{};
  const std::array<uint32_t, 64> primes = first_primes();
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = fraction_bits(primes[i], 2);
  return h;
}
constexpr std::array<uint32_t, 64> kRound = make_round_constants();
constexpr std::array<uint32_t, 8> kInitial = make_initial_state();
static_assert(kInitial[0] == 0x6a09e667u && kRound[0] == 0x428a2f98u && kRound[63] == 0xc67178f2u);

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

}  // namespace

Sha256::Sha256() : state_(kInitial) {}

void Sha256::compress(const unsigned char* block) {
  std::array<uint32_t, 64> w{};
  for (std::size_t t = 0; t < 16; ++t) {
    w[t] = uint32_t{block[4 * t]} << 24 | uint32_t{block[4 * t + 1]} << 16 | uint32_t{block[4 * t + 2]} << 8 |
           uint32_t{block[4 * t + 3]};
  }
  for (std::size_t t = 16; t < 64; ++t) {
    const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (std::size_t t = 0; t < 64; ++t) {
    const uint32_t sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const uint32_t choose = (e & f) ^ (~e & g);
    const uint32_t t1 = h + sum1 + choose + kRound[t] + w[t];
    const uint32_t sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
    const uint32_t t2 = sum0 + majority;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

void Sha256::update(std::span<const std::byte> data) {
  if (data.empty()) return;  // an empty span's data() may be null, which memcpy may not take
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  total_bytes_ += n;
  if (pending_size_ > 0) {
    const std::size_t take = std::min(n, pending_.size() - pending_size_);
    std::memcpy(pending_.data() + pending_size_, p, take);
    pending_size_ += take;
    p += take;
    n -= take;
    if (pending_size_ < pending_.size()) return;
    compress(pending_.data());
    pending_size_ = 0;
  }
  for (; n >= 64; p += 64, n -= 64) compress(p);
  if (n > 0) std::memcpy(pending_.data(), p, n);
  pending_size_ = n;
}

std::array<uint8_t, 32> Sha256::finish() {
  const uint64_t bits = total_bytes_ * 8;
  std::array<std::byte, 72> tail{};
  tail[0] = std::byte{0x80};
  // Pad so that the length field ends a block: pending + 1 + zeros + 8 = 0 mod 64.
  const std::size_t zeros = (64 + 56 - (pending_size_ + 1) % 64) % 64;
  for (int i = 0; i < 8; ++i) tail[1 + zeros + i] = static_cast<std::byte>(bits >> (56 - 8 * i));
  update(std::span(tail.data(), 1 + zeros + 8));
  std::array<uint8_t, 32> digest{};
  for (std::size_t i = 0; i < 8; ++i) {
    for (std::size_t j = 0; j < 4; ++j) digest[4 * i + j] = static_cast<uint8_t>(state_[i] >> (24 - 8 * j));
  }
  return digest;
}

std::string sha256_hex(std::span<const std::byte> data) {
  Sha256 hash;
  hash.update(data);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const uint8_t byte : hash.finish()) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xF];
  }
  return out;
}

}  // namespace rnnkit

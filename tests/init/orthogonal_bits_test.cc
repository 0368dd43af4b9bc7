// Orthogonal version 2's released bits (src/init/orthogonal.h): CRC-32C of the doubles that
// fill_orthogonal_blocked gives for shapes around the panel width (32) and the row groups of 4
// (tall, wide, square, one row, one column, every residue of m mod 4, panels of every width
// mod 4), gains and seeds, with 1, 2 and 3 threads. The checksums were computed by the code
// as released (before any change to its speed), so a faster version 2 has to reproduce them,
// with every form of the block-update kernels this CPU runs (portable, AVX2, AVX-512:
// src/init/orthogonal_kernels.h), which must also agree with each other bit for bit on
// shapes no checksum pins.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "init/orthogonal.h"
#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/threads.h"
#include "rnnkit/init/initializer.h"

namespace rnnkit {
namespace {

struct Pinned {
  int64_t rows;
  int64_t cols;
  double gain;
  uint64_t seed;
  uint32_t crc;  // crc32c of the [rows, cols] doubles, row-major, as this CPU stores them
};

uint32_t crc_of(const Tensor<double>& t) {
  return crc32c(std::as_bytes(std::span<const double>(t.storage().data(), static_cast<std::size_t>(t.numel()))));
}

using detail::OrthogonalKernels;

Tensor<double> blocked(int64_t rows, int64_t cols, double gain, uint64_t seed, int threads,
                       OrthogonalKernels kernels = detail::preferred_orthogonal_kernels()) {
  Tensor<double> out(Shape{rows, cols});
  RandomStream stream(seed, "pin/weight_hh");
  detail::fill_orthogonal_blocked(out.view(), stream, gain, threads, kernels);
  return out;
}

// The kernel forms to check: all that this CPU runs (printed, so a log says which were compared).
std::vector<OrthogonalKernels> kernel_forms() {
  static const std::vector<OrthogonalKernels> forms = [] {
    std::vector<OrthogonalKernels> all = detail::supported_orthogonal_kernels();
    std::cout << "orthogonal kernels on this CPU:";
    for (OrthogonalKernels k : all) std::cout << " " << detail::orthogonal_kernels_name(k);
    std::cout << " (preferred: " << detail::orthogonal_kernels_name(detail::preferred_orthogonal_kernels()) << ")\n";
    return all;
  }();
  return forms;
}

std::string describe(const Pinned& p) {
  char text[128];
  std::snprintf(text, sizeof text, "[%lld, %lld] gain %g seed %llu", static_cast<long long>(p.rows),
                static_cast<long long>(p.cols), p.gain, static_cast<unsigned long long>(p.seed));
  return text;
}

const std::vector<Pinned> kPinned = {
    {1, 1, 1.0, 1, 0xa642e961u},       {1, 2, 1.0, 2, 0xb891dc22u},      {2, 1, 1.0, 3, 0x5fe30454u},
    {1, 33, 1.5, 4, 0x53461015u},      {33, 1, 1.5, 5, 0x1d34d2eeu},     {1, 100, 1.0, 6, 0xfefc0b98u},
    {3, 5, 1.0, 7, 0xceb56d0eu},       {5, 3, 2.0, 8, 0x97975852u},      {4, 4, 1.0, 9, 0x136f116du},
    {31, 31, 1.0, 10, 0x8e9766cfu},    {32, 32, 1.0, 11, 0x697ce422u},   {33, 33, 1.0, 12, 0x5926341eu},
    {34, 34, 0.5, 13, 0x02263e89u},    {35, 35, 1.0, 14, 0x98dfdf87u},   {64, 32, 1.0, 15, 0x14825c26u},
    {32, 64, 1.0, 16, 0x325367aeu},    {63, 65, 1.0, 17, 0xec8fadffu},   {65, 63, -0.7, 18, 0x0cd49b4au},
    {66, 33, 1.0, 19, 0x1e206dfbu},    {95, 94, 1.0, 20, 0x1763e875u},   {96, 96, 1.0, 21, 0x83f4d1f5u},
    {97, 95, 1.0, 22, 0xdb73844fu},    {128, 32, 1.0, 23, 0x26372b56u},  {129, 33, 1.0, 24, 0xc7e37f45u},
    {130, 67, 1.0, 25, 0xb6ad5306u},   {131, 101, 1.0, 26, 0x8a9a5547u}, {200, 97, 1.0, 27, 0x2cb5de5au},
    {97, 200, 1.0, 28, 0xbb0fcce1u},   {256, 256, 1.0, 29, 0xb196a5feu}, {257, 255, 1.0, 30, 0x8f14d79cu},
    {258, 130, 1.0, 31, 0x5f06a214u},  {259, 70, 0.0, 32, 0xe83d7333u},  {300, 200, 1.0, 33, 0x868a2beeu},
    {200, 300, 1.0, 34, 0xc54464d7u},  {500, 129, 1.1, 35, 0x14cc76f3u}, {640, 160, 1.0, 36, 0xc157f8e4u},
    {160, 640, 1.0, 37, 0x9f78fc1au},  {1000, 69, 1.0, 38, 0x207fefe9u}, {515, 515, 1.0, 39, 0xc5e97db5u},
    {1027, 258, 1.0, 40, 0x4323867fu},
};

TEST(OrthogonalBits, Version2KeepsItsReleasedBits) {
  for (OrthogonalKernels kernels : kernel_forms()) {
    for (const Pinned& p : kPinned) {
      for (int threads : {1, 2, 3}) {
        const uint32_t crc = crc_of(blocked(p.rows, p.cols, p.gain, p.seed, threads, kernels));
        EXPECT_EQ(crc, p.crc) << describe(p) << " with " << threads << " threads, "
                              << detail::orthogonal_kernels_name(kernels) << " kernels: crc32c 0x" << std::hex << crc;
      }
    }
  }
}

// Shapes from a fixed generator (m mod 4, n mod 32, tall and wide all vary): every form and
// thread count gives the portable form's bits with one thread.
TEST(OrthogonalBits, EveryKernelFormAndThreadCountGivesTheSameBits) {
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&state](int64_t below) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(below));
  };
  for (int trial = 0; trial < 24; ++trial) {
    int64_t n = 1 + next(trial < 12 ? 80 : 200);
    int64_t m = n + next(trial % 3 == 0 ? 8 : 300);
    if (trial % 4 == 1) std::swap(m, n);  // wide: computed transposed
    const double gain = 0.5 + static_cast<double>(next(100)) / 40.0;
    const Tensor<double> expected = blocked(m, n, gain, 100 + trial, 1, OrthogonalKernels::portable);
    for (OrthogonalKernels kernels : kernel_forms()) {
      for (int threads : {1, 2, 3}) {
        const Tensor<double> got = blocked(m, n, gain, 100 + trial, threads, kernels);
        EXPECT_EQ(std::memcmp(got.storage().data(), expected.storage().data(), sizeof(double) * got.numel()), 0)
            << "[" << m << ", " << n << "] gain " << gain << ", " << detail::orthogonal_kernels_name(kernels)
            << " kernels, " << threads << " threads";
      }
    }
  }
}

// Through the initializer (get_threads) and a rank-3 shape, which it treats as [d0, d1 * d2].
TEST(OrthogonalBits, Version2KeepsItsReleasedBitsThroughTheSpec) {
  const int saved = get_threads();
  for (int threads : {1, 2}) {
    set_threads(threads);
    InitContext ctx;
    ctx.seed = 99;
    ctx.name = "lstm/l0/fw/weight_hh";
    ctx.shape = {400, 100};
    EXPECT_EQ(crc_of(initial_value(*parse_initializer("orthogonal(gain=1.0, version=2)"), ctx)), 0x03d7ec22u)
        << threads << " threads";
    ctx.shape = {12, 5, 7};
    EXPECT_EQ(crc_of(initial_value(*parse_initializer("orthogonal(gain=2.0)"), ctx)), 0x90d2fe6cu)
        << threads << " threads";
  }
  set_threads(saved);
}

// The matrices of the benchmarks (LSTM weight_hh for H = 1024 and 4096), with every kernel
// form: seconds to minutes, so run by hand:
//   rnnkit_tests --gtest_also_run_disabled_tests --gtest_filter='OrthogonalBits.*'
TEST(OrthogonalBits, DISABLED_Version2KeepsItsReleasedBitsForLstmSizes) {
  for (const Pinned& p : std::vector<Pinned>{{4096, 1024, 1.0, 1, 0x11c74ed7u}, {16384, 4096, 1.0, 1, 0xc6a6d34fu}}) {
    for (OrthogonalKernels kernels : kernel_forms()) {
      const uint32_t crc = crc_of(blocked(p.rows, p.cols, p.gain, p.seed, 2, kernels));
      EXPECT_EQ(crc, p.crc) << describe(p) << ", " << detail::orthogonal_kernels_name(kernels) << " kernels: crc32c 0x"
                            << std::hex << crc;
    }
  }
}

}  // namespace
}  // namespace rnnkit

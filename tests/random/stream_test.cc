// Name-keyed random streams: golden bits, independence of name and order, moments.
// tests/random/stream_reference.py recomputes the same goldens in plain Python.
#include "rnnkit/random/stream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_support.h"

namespace rnnkit {
namespace {

constexpr const char* kName = "lstm/l0/fw/weight_ih";

TEST(RandomStream, GoldenBits) {
  EXPECT_EQ(fnv1a64(kName), 0x1221ef2e84eb518dull);
  RandomStream words(42, kName);
  EXPECT_EQ(words.next_u32(), 0x63f88dcbu);
  EXPECT_EQ(words.next_u32(), 0x19032700u);
  EXPECT_EQ(words.next_u32(), 0xf8154ab6u);
  EXPECT_EQ(words.next_u32(), 0x7fa90952u);
  RandomStream u(42, kName);
  EXPECT_EQ(u.uniform(), 0x1.8fe2372c640c8p-2);
  EXPECT_EQ(u.uniform(), 0x1.f02a956cff521p-1);
  EXPECT_EQ(u.uniform(), 0x1.112233d3a6fp-3);
  RandomStream n(42, kName);
  EXPECT_EQ(n.normal(), 0x1.f3ea3984ef214p-1);
  EXPECT_EQ(n.normal(), -0x1.8983eaafc4ffdp-3);
  EXPECT_EQ(n.normal(), -0x1.8a6cde1b48fbcp-5);
}

TEST(RandomStream, DependsOnSeedAndNameOnly) {
  RandomStream a(1, "x"), b(1, "x"), c(2, "x"), d(1, "y");
  int same_seed_diff = 0, diff_seed_diff = 0, diff_name_diff = 0;
  for (int i = 0; i < 100; ++i) {
    const uint32_t va = a.next_u32();
    same_seed_diff += va != b.next_u32();
    diff_seed_diff += va != c.next_u32();
    diff_name_diff += va != d.next_u32();
  }
  EXPECT_EQ(same_seed_diff, 0);
  EXPECT_GT(diff_seed_diff, 95);
  EXPECT_GT(diff_name_diff, 95);
}

TEST(RandomStream, UniformMomentsAndRange) {
  RandomStream s(3, "uniform");
  std::vector<double> v(200000);
  for (double& x : v) {
    x = s.uniform(-2.0, 3.0);
    ASSERT_GE(x, -2.0);
    ASSERT_LT(x, 3.0);
  }
  test::expect_moments(v, 0.5, 5.0 / std::sqrt(12.0), 1.8);
}

TEST(RandomStream, NormalMoments) {
  RandomStream s(3, "normal");
  std::vector<double> v(200000);
  for (double& x : v) x = s.normal(1.5, 0.5);
  test::expect_moments(v, 1.5, 0.5, 3.0);
}

// skip_normals(n) leaves a stream where n calls of normal() would, from any state: fresh, with a
// spare normal pending, or part-way through a block of words.
TEST(RandomStream, SkipNormalsIsDrawingThem) {
  for (int start = 0; start < 4; ++start) {
    for (uint64_t count : {0u, 1u, 2u, 3u, 7u, 8u, 1001u}) {
      RandomStream drawn(5, kName), skipped(5, kName);
      if (start == 1) {
        drawn.normal();
        skipped.normal();
      } else if (start >= 2) {
        for (int i = 0; i < start - 1; ++i) {
          drawn.next_u32();
          skipped.next_u32();
        }
      }
      for (uint64_t i = 0; i < count; ++i) drawn.normal();
      skipped.skip_normals(count);
      for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(skipped.normal(), drawn.normal()) << "start " << start << ", skipped " << count << ", then " << i;
      }
      EXPECT_EQ(skipped.next_u32(), drawn.next_u32()) << "start " << start << ", skipped " << count;
    }
  }
}

}  // namespace
}  // namespace rnnkit

// Glob patterns over variable names.
#include "rnnkit/variables/glob.h"

#include <gtest/gtest.h>

#include <string>

namespace rnnkit {
namespace {

TEST(Glob, StarStaysInOneSegment) {
  EXPECT_TRUE(glob_match("encoder/*/weight_hh", "encoder/l0/weight_hh"));
  EXPECT_FALSE(glob_match("encoder/*/weight_hh", "encoder/l0/fw/weight_hh"));
  EXPECT_TRUE(glob_match("encoder/*", "encoder/x"));
  EXPECT_FALSE(glob_match("encoder/*", "encoder/x/y"));
  EXPECT_TRUE(glob_match("*/l0/*/bias_*", "lstm/l0/bw/bias_ih"));
}

TEST(Glob, DoubleStarCrossesSegments) {
  EXPECT_TRUE(glob_match("encoder/**/weight_hh", "encoder/l0/fw/weight_hh"));
  EXPECT_TRUE(glob_match("encoder/**", "encoder/a/b/c"));
  EXPECT_TRUE(glob_match("**", "a/b"));
  EXPECT_FALSE(glob_match("decoder/**", "encoder/a"));
}

TEST(Glob, QuestionMarkAndLiterals) {
  EXPECT_TRUE(glob_match("l?/fw", "l1/fw"));
  EXPECT_FALSE(glob_match("l?/fw", "l10/fw"));
  EXPECT_FALSE(glob_match("a?b", "a/b"));
  EXPECT_TRUE(glob_match("exact/name", "exact/name"));
  EXPECT_FALSE(glob_match("exact/name", "exact/name2"));
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
}

TEST(Glob, NoExponentialBlowUp) {
  const std::string name(5000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", name));
}

}  // namespace
}  // namespace rnnkit

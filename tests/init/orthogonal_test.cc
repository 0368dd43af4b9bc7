// The orthogonal initializer's two versions (src/init/orthogonal.h): version 2 (blocked) is
// orthogonal for every shape, including sizes that are not multiples of its panel width; it
// is version 1 (unblocked) up to rounding; its bits do not depend on the thread count and are
// pinned; and the spec names the version, typed specs meaning the newest and recorded ones 1.
#include "init/orthogonal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/core/threads.h"
#include "rnnkit/init/initializer.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::orthogonality_error;

// Tolerances in double: n * eps-sized sums for the sizes below.
constexpr double kOrthogonalityTolerance = 1e-12;
constexpr double kVersionsAgreeTolerance = 1e-12;

// Shapes around the panel width (32): 1 x 1, a row, a column, sizes just off multiples of the
// panel, tall, wide and square.
const std::vector<Shape> kShapes = {{1, 1},   {1, 7},   {7, 1},    {2, 3},    {31, 31},   {32, 32},  {33, 33},
                                    {63, 65}, {65, 63}, {129, 64}, {64, 129}, {100, 100}, {200, 97}, {97, 200}};

Tensor<double> draw(const std::string& spec, const Shape& shape, const std::string& name = "v", uint64_t seed = 1234) {
  InitContext ctx;
  ctx.seed = seed;
  ctx.name = name;
  ctx.shape = shape;
  return initial_value(*parse_initializer(spec), ctx);
}

Tensor<double> blocked(const Shape& shape, int threads, double gain = 1.0) {
  Tensor<double> out(shape);
  RandomStream stream(1234, "v");
  detail::fill_orthogonal_blocked(out.view(), stream, gain, threads);
  return out;
}

double max_difference(const Tensor<double>& a, const Tensor<double>& b) {
  EXPECT_EQ(a.shape(), b.shape());
  return test::max_abs_difference(a.storage().data(), b.storage().data(), a.numel());
}

TEST(Orthogonal, Version2IsOrthogonalForEveryShape) {
  for (const Shape& shape : kShapes) {
    const Tensor<double> q = draw("orthogonal(gain=1.5, version=2)", shape);
    EXPECT_LT(orthogonality_error(q, 1.5), kOrthogonalityTolerance) << shape_to_string(shape);
  }
}

TEST(Orthogonal, Version2IsVersion1UpToRounding) {
  // Both are Householder QR of the same draws with the sign fix, which makes Q unique.
  std::vector<Shape> shapes = kShapes;
  shapes.push_back({300, 300});
  shapes.push_back({400, 100});
  for (const Shape& shape : shapes) {
    const Tensor<double> v1 = draw("orthogonal(gain=1.0, version=1)", shape);
    const Tensor<double> v2 = draw("orthogonal(gain=1.0, version=2)", shape);
    EXPECT_LT(max_difference(v1, v2), kVersionsAgreeTolerance) << shape_to_string(shape);
  }
}

TEST(Orthogonal, Version2BitsDoNotDependOnTheThreadCount) {
  // Enough columns that 2, 3 and 5 threads all split every large update.
  for (const Shape& shape : {Shape{257, 256}, Shape{600, 150}, Shape{150, 600}}) {
    const Tensor<double> one = blocked(shape, 1);
    for (int threads : {2, 3, 5}) {
      const Tensor<double> many = blocked(shape, threads);
      EXPECT_EQ(std::memcmp(one.storage().data(), many.storage().data(), sizeof(double) * one.numel()), 0)
          << shape_to_string(shape) << " with " << threads << " threads";
    }
    EXPECT_LT(orthogonality_error(one, 1.0), kOrthogonalityTolerance) << shape_to_string(shape);
  }
  // Through the initializer, which follows rnnkit's thread setting.
  const int saved = get_threads();
  set_threads(1);
  const Tensor<double> a = draw("orthogonal", {300, 200});
  set_threads(2);
  const Tensor<double> b = draw("orthogonal", {300, 200});
  set_threads(saved);
  EXPECT_EQ(std::memcmp(a.storage().data(), b.storage().data(), sizeof(double) * a.numel()), 0);
}

uint64_t bits_of(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// Exact doubles of version 2 for seed 7, variable "pin/w", shape [70, 45]: two panels
// (32 + 13 columns), a trailing update and a two-panel Q. The matrix they come from passes
// the orthogonality and version-1 checks at the end of the test, and
// tests/init/orthogonal_reference.py (ctest init.orthogonal_python_reference) finds the same
// values to 1e-12 by Gram-Schmidt in plain Python from the reference stream's draws.
TEST(Orthogonal, Version2PinnedBits) {
  const Tensor<double> q = draw("orthogonal(version=2)", {70, 45}, "pin/w", 7);
  const std::vector<std::pair<int64_t, uint64_t>> pinned = {
      {0, 0xbfb0544324161a60ULL},           {1, 0xbfc5503b67f87be7ULL},
      {44, 0x3fc0014649c3439fULL},          {45 * 33 + 40, 0xbfc22f50a194ac3eULL},
      {70 * 45 - 1, 0xbfb2ebe6b36a1835ULL},
  };
  for (const auto& [index, expected] : pinned) {
    EXPECT_EQ(bits_of(q[index]), expected) << "element " << index << " = " << q[index];
  }
  EXPECT_LT(orthogonality_error(q, 1.0), kOrthogonalityTolerance);
  EXPECT_LT(max_difference(q, draw("orthogonal(version=1)", {70, 45}, "pin/w", 7)), kVersionsAgreeTolerance);
}

TEST(Orthogonal, SpecNamesTheVersion) {
  EXPECT_EQ(parse_initializer("orthogonal")->spec(), "orthogonal(gain=1.0, version=2)");
  EXPECT_EQ(parse_initializer("orthogonal(2.0, 1)")->spec(), "orthogonal(gain=2.0, version=1)");
  EXPECT_EQ(parse_initializer("per_gate(orthogonal)")->spec(), "per_gate(init=orthogonal(gain=1.0, version=2))");
  // rnnkit 0.1 recorded specs without a version, and computed what is now version 1.
  EXPECT_EQ(parse_recorded_initializer("orthogonal(gain=1.0)")->spec(), "orthogonal(gain=1.0, version=1)");
  EXPECT_EQ(parse_recorded_initializer("per_gate(init=orthogonal(gain=1.0))")->spec(),
            "per_gate(init=orthogonal(gain=1.0, version=1))");
  EXPECT_EQ(parse_recorded_initializer("orthogonal(gain=1.0, version=2)")->spec(), "orthogonal(gain=1.0, version=2)");
  // Other initializers read the same either way.
  EXPECT_EQ(parse_recorded_initializer("glorot_uniform")->spec(), parse_initializer("glorot_uniform")->spec());
}

TEST(Orthogonal, UnknownVersionsAreRefusedByName) {
  for (const char* spec : {"orthogonal(version=3)", "orthogonal(version=0)", "orthogonal(version=-1)"}) {
    const std::string message = test::error_of([&] { parse_initializer(spec); });
    EXPECT_NE(message.find("orthogonal: unknown version"), std::string::npos) << spec << ": " << message;
    EXPECT_NE(message.find("valid versions: 1"), std::string::npos) << message;
    EXPECT_NE(message.find("and 2"), std::string::npos) << message;
  }
  EXPECT_NE(test::error_of([] { parse_initializer("orthogonal(version=3)"); }).find("version 3;"), std::string::npos);
  EXPECT_NE(test::error_of([] {
              parse_initializer("orthogonal(version=1.5)");
            }).find("argument 'version' expects a whole number, got '1.5'"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_initializer("orthogonal(version=new)"); }).find("expects a whole number"),
            std::string::npos);
}

// A checkpoint written by rnnkit 0.1 (tests/fixtures/legacy) records `orthogonal(gain=1.0)`;
// its seed and that spec, read as recorded, give back the stored values bit for bit.
TEST(Orthogonal, LegacyRecordedSpecReproducesTheStoredValues) {
  const std::string path =
      (std::filesystem::path(RNNKIT_SOURCE_DIR) / "tests/fixtures/legacy/lstm_proj_bi_2layers.safetensors").string();
  const SafetensorsFile file = SafetensorsFile::read(path);
  const std::map<std::string, StoredVariableInfo> info = stored_variable_info(file);
  int checked = 0;
  for (const auto& [name, v] : info) {
    if (v.init_spec != "orthogonal(gain=1.0)") continue;
    const Tensor<float> stored = file.to_float(file.at(name));
    InitContext ctx;
    ctx.seed = std::stoull(file.metadata().at("rnnkit.seed"));
    ctx.name = name;
    ctx.shape = stored.shape();
    ctx.gate_letters = v.gate_letters;
    ctx.hidden_size = v.hidden_size;
    const Tensor<double> again = initial_value(*parse_recorded_initializer(v.init_spec), ctx);
    for (int64_t i = 0; i < stored.numel(); ++i) {
      ASSERT_EQ(static_cast<float>(again[i]), stored[i]) << name << " element " << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 4);  // weight_hh of 2 layers x 2 directions
}

}  // namespace
}  // namespace rnnkit

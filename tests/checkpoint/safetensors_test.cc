// safetensors: round trips, metadata, dtype conversions, atomic writes.
#include "rnnkit/checkpoint/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit {
namespace {

std::vector<std::byte> make_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<std::byte> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

TEST(Safetensors, RoundTripF32AndF64WithMetadata) {
  test::TempDir dir;
  Tensor<float> a({2, 3}, std::vector<float>{1, -2, 3.5f, 0, 1e-30f, -7});
  Tensor<double> b({4}, std::vector<double>{0.1, 0.2, 0.3, 1e300});
  Tensor<float> empty({0, 5});
  const std::string path = dir.file("t.safetensors");
  write_safetensors(path,
                    {safetensors_tensor("layer/a", a.view()), safetensors_tensor("b", b.view()),
                     safetensors_tensor("empty", empty.view())},
                    {{"note", "hello \"quoted\" \xc3\xa9"}});
  const SafetensorsFile file = SafetensorsFile::read(path);
  EXPECT_EQ(file.metadata().at("note"), "hello \"quoted\" \xc3\xa9");
  ASSERT_EQ(file.entries().size(), 3u);
  EXPECT_EQ(file.at("layer/a").dtype, "F32");
  EXPECT_EQ(file.to_float(file.at("layer/a")).storage(), a.storage());
  EXPECT_EQ(file.to_double(file.at("b")).storage(), b.storage());
  EXPECT_EQ(file.at("empty").shape, (Shape{0, 5}));
  // Header padded so that the data section is 8-byte aligned.
  const std::vector<std::byte> raw = read_file(path);
  uint64_t header_len;
  std::memcpy(&header_len, raw.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
}

TEST(Safetensors, ReadsHalfAndBfloat16AndIntegers) {
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 0x0001 = 2^-24.
  // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00. I64: 3, -4.
  const std::vector<uint8_t> data = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00,  // f16 x4
                                     0x80, 0x3f, 0x00, 0xbf,                          // bf16 x2
                                     3,    0,    0,    0,    0,    0,    0,    0,
                                     0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
      R"("i":{"dtype":"I64","shape":[2],"data_offsets":[12,28]}})";
  const SafetensorsFile file = SafetensorsFile::parse(make_file(header, data), "mem");
  EXPECT_EQ(file.to_float(file.at("h")).storage(), (std::vector<float>{1.0f, -2.0f, 65504.0f, 0x1p-24f}));
  EXPECT_EQ(file.to_float(file.at("b")).storage(), (std::vector<float>{1.0f, -0.5f}));
  EXPECT_EQ(file.to_double(file.at("i")).storage(), (std::vector<double>{3.0, -4.0}));
  EXPECT_THROW(file.to_float(file.at("i")), Error);
}

TEST(Safetensors, WriterRejectsBadInput) {
  Tensor<float> a({2});
  SafetensorsTensor t = safetensors_tensor("a", a.view());
  EXPECT_THROW(serialize_safetensors({t, t}, {}), Error);  // repeated name
  SafetensorsTensor wrong = t;
  wrong.shape = {3};
  EXPECT_THROW(serialize_safetensors({wrong}, {}), Error);
  SafetensorsTensor half = t;
  half.dtype = "F16";
  EXPECT_THROW(serialize_safetensors({half}, {}), Error);
}

// 100,000 tensors: the header parses and every name is found. Parsing used to be quadratic in the
// number of tensors (40,000 took 23 s); it is linear now, and this test would take minutes if it
// were not. Names nested keys that repeat across tensors, and a duplicate only at the very end.
TEST(Safetensors, ManyTensorsParseAndLookUpInLinearTime) {
  constexpr int kTensors = 100'000;
  std::string header = "{";
  std::vector<uint8_t> data;
  for (int i = 0; i < kTensors; ++i) {
    const uint64_t at = data.size();
    header += (i ? ",\"" : "\"") + std::string("layer") + std::to_string(i) + R"(.weight":{"dtype":"U8","shape":[1],)" +
              R"("data_offsets":[)" + std::to_string(at) + "," + std::to_string(at + 1) + "]}";
    data.push_back(static_cast<uint8_t>(i % 251));
  }
  const SafetensorsFile file = SafetensorsFile::parse(make_file(header + "}", data), "many.safetensors");
  ASSERT_EQ(file.entries().size(), static_cast<std::size_t>(kTensors));
  for (int i = 0; i < kTensors; i += 997) {
    const SafetensorsEntry* e = file.find("layer" + std::to_string(i) + ".weight");
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(static_cast<int>(std::to_integer<uint8_t>(file.bytes(*e)[0])), i % 251);
  }
  EXPECT_EQ(file.find("layer100000.weight"), nullptr);
  EXPECT_EQ(file.find(""), nullptr);
  const std::string twice = header + R"(,"layer7.weight":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})";
  const std::string message =
      test::error_of([&] { SafetensorsFile::parse(make_file(twice, data), "many.safetensors"); });
  EXPECT_NE(message.find("tensor name 'layer7.weight' appears twice"), std::string::npos) << message;
}

TEST(Safetensors, EmptyFileRoundTrips) {
  const SafetensorsFile file = SafetensorsFile::parse(serialize_safetensors({}, {}), "mem");
  EXPECT_TRUE(file.entries().empty());
}

}  // namespace
}  // namespace rnnkit

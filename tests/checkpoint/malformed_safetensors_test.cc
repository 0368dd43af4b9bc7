// Malformed safetensors files: each gets an Error naming the file and the problem;
// never a crash, never an unbounded allocation.
#include <gtest/gtest.h>

#include <cstring>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit {
namespace {

std::vector<std::byte> make_file(const std::string& header, std::size_t data_bytes, uint64_t claimed_len = 0) {
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0});
  const uint64_t n = claimed_len ? claimed_len : header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

void expect_error(const std::vector<std::byte>& bytes, const std::string& fragment) {
  try {
    SafetensorsFile::parse(bytes, "bad.safetensors");
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("bad.safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

const std::string kGood = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(MalformedSafetensors, TruncatedFiles) {
  expect_error({}, "too short");
  expect_error(std::vector<std::byte>(5), "too short");
  std::vector<std::byte> good = make_file(kGood, 8);
  EXPECT_NO_THROW(SafetensorsFile::parse(good, "ok"));
  for (std::size_t cut : {9ul, 20ul, good.size() - 1}) {
    std::vector<std::byte> truncated(good.begin(), good.begin() + static_cast<long>(cut));
    EXPECT_THROW(SafetensorsFile::parse(truncated, "bad.safetensors"), Error) << "cut at " << cut;
  }
}

TEST(MalformedSafetensors, HeaderLength) {
  expect_error(make_file(kGood, 8, 1ull << 62), "runs past the end");
  expect_error(make_file(kGood, 8, ~0ull), "runs past the end");
  // A header over the 100 MB limit inside a file that really is that big.
  std::vector<std::byte> huge(8 + kSafetensorsMaxHeader + 16, std::byte{' '});
  const uint64_t n = kSafetensorsMaxHeader + 1;
  std::memcpy(huge.data(), &n, 8);
  expect_error(huge, "exceeds the limit");
}

TEST(MalformedSafetensors, BadJson) {
  expect_error(make_file("{\"a\":", 0), "not valid JSON");
  expect_error(make_file("[1,2]", 0), "must be a JSON object");
  expect_error(make_file(std::string(200, '[') + std::string(200, ']'), 0), "nests deeper");
  expect_error(
      make_file(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          8),
      "appears twice");
  expect_error(make_file("{\"\xff\":1}", 0), "not valid JSON");
  expect_error(make_file(R"({"__metadata__":{"k":1}})", 0), "must be a string");
  expect_error(make_file(R"({"__metadata__":[]})", 0), "__metadata__ must be an object");
}

TEST(MalformedSafetensors, EntryFields) {
  expect_error(make_file(R"({"a":5})", 0), "expected an object");
  expect_error(make_file(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4), "missing string 'dtype'");
  expect_error(make_file(R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", 4), "unknown dtype 'Q7'");
  expect_error(make_file(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4), "missing array 'shape'");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative integers");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4), "non-negative integers");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4), "data_offsets");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4), "data_offsets");
}

TEST(MalformedSafetensors, OffsetsAndSizes) {
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "outside the data section");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "outside the data section");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "need 3 x 4 bytes");
  expect_error(make_file(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8), "need 2 x 8 bytes");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
               "more elements than fit");
  expect_error(make_file(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8), "need");
  expect_error(
      make_file(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          12),
      "overlaps");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "belong to no tensor");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8), "belong to no tensor");
}

TEST(MalformedSafetensors, EveryFlippedByteIsAnErrorOrAValidFile) {
  const std::vector<std::byte> good = make_file(kGood, 8);
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const unsigned mask : {0x01u, 0x80u, 0xffu}) {
      std::vector<std::byte> bytes = good;
      bytes[i] ^= static_cast<std::byte>(mask);
      try {
        const SafetensorsFile file = SafetensorsFile::parse(bytes, "flip");
        for (const SafetensorsEntry& e : file.entries()) (void)file.to_double(e);
      } catch (const Error&) {
        // an error is fine; a crash is not
      }
    }
  }
}

TEST(MalformedSafetensors, MissingFileAndMissingTensor) {
  try {
    SafetensorsFile::read("/nonexistent/x.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors"), std::string::npos);
  }
  const SafetensorsFile file = SafetensorsFile::parse(make_file(kGood, 8), "f");
  EXPECT_THROW(file.at("b"), Error);
}

}  // namespace
}  // namespace rnnkit

// Per-tensor CRC-32C in rnnkit's files: written for every tensor, verified on read, every
// kind of damage reported, and files without checksums still load.
#include "rnnkit/checkpoint/tensor_checksums.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit {
namespace {

// Two float tensors, a = [1, 2, 3] and b = [[4, 5], [6, 7]], as rnnkit writes them.
std::vector<std::byte> written_file() {
  static const std::vector<float> a = {1, 2, 3}, b = {4, 5, 6, 7};
  return serialize_safetensors(
      {{"a", "F32", {3}, std::as_bytes(std::span(a))}, {"b", "F32", {2, 2}, std::as_bytes(std::span(b))}},
      {{"note", "kept"}});
}

// The header JSON of a file and a file made from a header and a data section.
nlohmann::json header_of(const std::vector<std::byte>& file) {
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  return nlohmann::json::parse(reinterpret_cast<const char*>(file.data()) + 8,
                               reinterpret_cast<const char*>(file.data()) + 8 + n);
}
std::vector<std::byte> with_header(const std::vector<std::byte>& file, const nlohmann::json& header) {
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  const std::string text = header.dump();
  const uint64_t len = text.size();
  std::vector<std::byte> out(8 + text.size());
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  out.insert(out.end(), file.begin() + static_cast<long>(8 + n), file.end());
  return out;
}
nlohmann::json recorded(const nlohmann::json& header) {
  return nlohmann::json::parse(header["__metadata__"][kChecksumMetadataKey].get<std::string>());
}

std::string error_of(const std::vector<std::byte>& bytes) {
  try {
    SafetensorsFile::parse(bytes, "damaged.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TensorChecksums, EveryWrittenTensorIsRecordedAndVerifies) {
  const std::vector<std::byte> file = written_file();
  const nlohmann::json sums = recorded(header_of(file));
  ASSERT_EQ(sums.size(), 2u);
  const std::vector<float> a = {1, 2, 3};
  char expected[9];
  std::snprintf(expected, sizeof expected, "%08x", crc32c(std::as_bytes(std::span(a))));
  EXPECT_EQ(sums["a"], expected);

  const SafetensorsFile parsed = SafetensorsFile::parse(file, "ok");
  EXPECT_EQ(parsed.metadata().at("note"), "kept");
  const ChecksumReport report = verify_tensor_checksums(parsed);
  EXPECT_TRUE(report.recorded);
  ASSERT_EQ(report.tensors.size(), 2u);
  EXPECT_EQ(report.failures(), 0);
  for (const TensorChecksum& t : report.tensors) EXPECT_EQ(t.status, TensorChecksum::Status::ok) << t.tensor;
}

TEST(TensorChecksums, AFlippedDataBitIsAnErrorNamingTheTensor) {
  std::vector<std::byte> file = written_file();
  file[file.size() - 3] ^= std::byte{0x01};  // inside b's last float
  const std::string message = error_of(file);
  EXPECT_NE(message.find("damaged.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("1 of 2 tensors fail"), std::string::npos) << message;
  EXPECT_NE(message.find("tensor 'b'"), std::string::npos) << message;
  EXPECT_EQ(message.find("tensor 'a'"), std::string::npos) << message;

  // Read for reporting only, the damage is in the report and nowhere else.
  const SafetensorsFile parsed = SafetensorsFile::parse(file, "damaged", ChecksumPolicy::skip);
  const ChecksumReport report = verify_tensor_checksums(parsed);
  ASSERT_EQ(report.tensors.size(), 2u);
  EXPECT_EQ(report.tensors[0].status, TensorChecksum::Status::ok);
  EXPECT_EQ(report.tensors[1].status, TensorChecksum::Status::mismatch);
  EXPECT_NE(report.tensors[1].recorded, report.tensors[1].computed);
}

TEST(TensorChecksums, ChangedRecordsAddedAndRemovedTensorsAreReported) {
  const std::vector<std::byte> file = written_file();
  nlohmann::json header = header_of(file);
  nlohmann::json sums = recorded(header);

  nlohmann::json changed = sums;
  changed["a"] = "00000000";
  header["__metadata__"][kChecksumMetadataKey] = changed.dump();
  EXPECT_NE(error_of(with_header(file, header)).find("tensor 'a': its data reads crc32c"), std::string::npos);

  nlohmann::json without_b = sums;
  without_b.erase("b");
  header["__metadata__"][kChecksumMetadataKey] = without_b.dump();
  EXPECT_NE(error_of(with_header(file, header)).find("tensor 'b': the file records no checksum"), std::string::npos);

  nlohmann::json extra = sums;
  extra["c"] = "12345678";
  header["__metadata__"][kChecksumMetadataKey] = extra.dump();
  const std::string message = error_of(with_header(file, header));
  EXPECT_NE(message.find("tensor 'c': a checksum is recorded but the file holds no such tensor"), std::string::npos)
      << message;
  const ChecksumReport report =
      verify_tensor_checksums(SafetensorsFile::parse(with_header(file, header), "x", ChecksumPolicy::skip));
  ASSERT_EQ(report.tensors.size(), 3u);
  EXPECT_EQ(report.tensors[2].tensor, "c");
  EXPECT_EQ(report.tensors[2].status, TensorChecksum::Status::missing);
  EXPECT_EQ(report.failures(), 1);
}

TEST(TensorChecksums, MalformedRecordsAreErrorsEvenWhenSkipping) {
  const std::vector<std::byte> file = written_file();
  nlohmann::json header = header_of(file);
  for (const auto& [value, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"{not json", "not valid JSON"},
           {"[1, 2]", "must be a JSON object"},
           {R"({"a": 5, "b": "00000000"})", "tensor 'a' has 5, expected eight hex digits"},
           {R"({"a": "xyz", "b": "00000000"})", "expected eight hex digits"},
           {R"({"a": "123456789", "b": "00000000"})", "expected eight hex digits"}}) {
    header["__metadata__"][kChecksumMetadataKey] = value;
    const std::string message = error_of(with_header(file, header));
    EXPECT_NE(message.find(fragment), std::string::npos) << value << ": " << message;
    EXPECT_THROW(verify_tensor_checksums(SafetensorsFile::parse(with_header(file, header), "x", ChecksumPolicy::skip)),
                 Error);
  }
}

TEST(TensorChecksums, FilesWithoutChecksumsLoadUnverified) {
  const std::vector<std::byte> file = written_file();
  nlohmann::json header = header_of(file);
  header["__metadata__"].erase(kChecksumMetadataKey);
  std::vector<std::byte> foreign = with_header(file, header);
  foreign[foreign.size() - 3] ^= std::byte{0x01};  // nothing to tell it from the original
  const SafetensorsFile parsed = SafetensorsFile::parse(foreign, "foreign");
  const ChecksumReport report = verify_tensor_checksums(parsed);
  EXPECT_FALSE(report.recorded);
  EXPECT_TRUE(report.tensors.empty());
  EXPECT_EQ(report.failures(), 0);
}

TEST(TensorChecksums, ManyFailuresAreCountedAndTheFirstListed) {
  std::vector<std::vector<float>> values(12, std::vector<float>(4, 1.0f));
  std::vector<SafetensorsTensor> tensors;
  for (std::size_t i = 0; i < values.size(); ++i) {
    tensors.push_back({"t" + std::to_string(10 + i), "F32", {4}, std::as_bytes(std::span(values[i]))});
  }
  std::vector<std::byte> file = serialize_safetensors(tensors, {});
  for (std::size_t i = 0; i < values.size(); ++i) file[file.size() - 1 - 16 * i] ^= std::byte{0x40};
  const std::string message = error_of(file);
  EXPECT_NE(message.find("12 of 12 tensors fail"), std::string::npos) << message;
  EXPECT_NE(message.find("... and 4 more"), std::string::npos) << message;
}

}  // namespace
}  // namespace rnnkit

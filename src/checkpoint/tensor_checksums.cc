// Per-tensor CRC-32C in rnnkit's safetensors metadata; see checkpoint/tensor_checksums.h.
#include "rnnkit/checkpoint/tensor_checksums.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

std::string hex8(uint32_t value) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", value);
  return text;
}

// Eight hexadecimal digits, or nothing.
std::optional<uint32_t> parse_hex8(const std::string& text) {
  if (text.size() != 8) return std::nullopt;
  uint32_t value = 0;
  for (const char c : text) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value << 4 | static_cast<uint32_t>(digit);
  }
  return value;
}

}  // namespace

std::string tensor_checksums_metadata(const std::vector<SafetensorsTensor>& tensors) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const SafetensorsTensor& t : tensors) j[t.name] = hex8(crc32c(t.data));
  return j.dump();
}

int64_t ChecksumReport::failures() const {
  int64_t n = 0;
  for (const TensorChecksum& t : tensors) n += t.status != TensorChecksum::Status::ok ? 1 : 0;
  return n;
}

ChecksumReport verify_tensor_checksums(const SafetensorsFile& file) {
  ChecksumReport report;
  const auto it = file.metadata().find(kChecksumMetadataKey);
  if (it == file.metadata().end()) return report;
  report.recorded = true;
  const std::string where = "safetensors file '" + file.origin() + "': metadata " + kChecksumMetadataKey;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(where + " must be a JSON object of tensor name to checksum, found " + j.type_name());
  std::unordered_map<std::string, uint32_t> recorded;
  recorded.reserve(j.size());
  for (const auto& [name, value] : j.items()) {
    const std::optional<uint32_t> crc = value.is_string() ? parse_hex8(value.get<std::string>()) : std::nullopt;
    if (!crc) throw Error(where + ": tensor '" + name + "' has " + value.dump() + ", expected eight hex digits");
    recorded.emplace(name, *crc);
  }
  for (const SafetensorsEntry& entry : file.entries()) {
    TensorChecksum check{entry.name, TensorChecksum::Status::ok, 0, crc32c(file.bytes(entry))};
    const auto found = recorded.find(entry.name);
    if (found == recorded.end()) {
      check.status = TensorChecksum::Status::unrecorded;
    } else {
      check.recorded = found->second;
      if (check.recorded != check.computed) check.status = TensorChecksum::Status::mismatch;
      recorded.erase(found);
    }
    report.tensors.push_back(std::move(check));
  }
  std::vector<TensorChecksum> missing;
  for (const auto& [name, crc] : recorded) missing.push_back({name, TensorChecksum::Status::missing, crc, 0});
  std::sort(missing.begin(), missing.end(), [](const auto& a, const auto& b) { return a.tensor < b.tensor; });
  report.tensors.insert(report.tensors.end(), missing.begin(), missing.end());
  return report;
}

std::string describe(const TensorChecksum& c) {
  const std::string name = "tensor '" + c.tensor + "'";
  switch (c.status) {
    case TensorChecksum::Status::ok: return name + ": crc32c " + hex8(c.computed) + " as recorded";
    case TensorChecksum::Status::mismatch:
      return name + ": its data reads crc32c " + hex8(c.computed) + " but the file records " + hex8(c.recorded) +
             " (changed after it was written)";
    case TensorChecksum::Status::unrecorded:
      return name + ": the file records no checksum for it (added after the file was written)";
    case TensorChecksum::Status::missing:
      return name + ": a checksum is recorded but the file holds no such tensor (removed after it was written)";
  }
  return name;
}

}  // namespace rnnkit

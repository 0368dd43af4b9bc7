// safetensors parsing (defensive) and writing; see safetensors.h.
#include "rnnkit/checkpoint/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

#include "rnnkit/checkpoint/tensor_checksums.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/dtype.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

static_assert(std::endian::native == std::endian::little,
              "rnnkit reads and writes safetensors data as native little-endian bytes");

constexpr int kMaxJsonDepth = 64;
constexpr int64_t kListedChecksumFailures = 8;

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw Error("safetensors file '" + origin + "': " + what);
}

// Deepest bracket nesting outside strings; stops counting past the limit.
int json_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxJsonDepth) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// The first name that occurs twice among the keys of the top-level object, or "" (one linear
// SAX pass over text that already parsed).
class TopLevelKeys : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string duplicate;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& name) override {
    if (depth_ == 1 && !seen_.insert(name).second) {
      duplicate = name;
      return false;  // stop: one is enough
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  int depth_ = 0;
  std::unordered_set<std::string> seen_;
};

std::string first_duplicate_top_level_key(std::string_view text) {
  TopLevelKeys keys;
  nlohmann::json::sax_parse(text.begin(), text.end(), &keys);
  return keys.duplicate;
}

template <class T>
T load(const std::byte* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

}  // namespace

std::size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},  {"I32", 4},     {"I16", 2},    {"I8", 1},
      {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

SafetensorsFile SafetensorsFile::read(const std::string& path, ChecksumPolicy checksums) {
  return parse(read_file(path), path, checksums);
}

SafetensorsFile SafetensorsFile::parse(std::vector<std::byte> bytes, const std::string& origin,
                                       ChecksumPolicy checksums) {
  SafetensorsFile file;
  file.origin_ = origin;
  if (bytes.size() < 8) {
    fail(origin, "the file is " + std::to_string(bytes.size()) + " bytes, too short for the 8-byte header length");
  }
  const uint64_t header_len = load<uint64_t>(bytes.data());
  if (header_len > bytes.size() - 8) {
    fail(origin, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                     std::to_string(bytes.size()) + " bytes)");
  }
  if (header_len > kSafetensorsMaxHeader) {
    fail(origin, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                     std::to_string(kSafetensorsMaxHeader) + " bytes");
  }
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + 8, static_cast<std::size_t>(header_len));
  if (json_depth(header) > kMaxJsonDepth) {
    fail(origin, "header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header.begin(), header.end());
  } catch (const nlohmann::json::exception& e) {
    fail(origin, std::string("header is not valid JSON: ") + e.what());
  }
  // JSON would silently keep the last of two equal names. (A parser callback could see the
  // keys too, but nlohmann's callback parser rescans the enclosing object at every nested
  // object's end: quadratic in the number of tensors.)
  if (const std::string duplicate = first_duplicate_top_level_key(header); !duplicate.empty()) {
    fail(origin, "tensor name '" + duplicate + "' appears twice in the header");
  }
  if (!j.is_object()) fail(origin, "header must be a JSON object, found " + std::string(j.type_name()));

  const uint64_t data_size = bytes.size() - 8 - header_len;
  for (const auto& [name, info] : j.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) fail(origin, "__metadata__ must be an object of strings");
      for (const auto& [key, value] : info.items()) {
        if (!value.is_string())
          fail(origin, "__metadata__ entry '" + key + "' must be a string, found " + value.dump());
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (name.empty()) fail(origin, "a tensor has an empty name");
    if (!info.is_object()) fail(origin, where + ": expected an object with dtype, shape and data_offsets");
    SafetensorsEntry entry;
    entry.name = name;
    if (!info.contains("dtype") || !info["dtype"].is_string()) fail(origin, where + ": missing string 'dtype'");
    entry.dtype = info["dtype"].get<std::string>();
    const std::size_t elem = safetensors_dtype_size(entry.dtype);
    if (elem == 0) fail(origin, where + ": unknown dtype '" + entry.dtype + "'");
    if (!info.contains("shape") || !info["shape"].is_array()) fail(origin, where + ": missing array 'shape'");
    for (const auto& extent : info["shape"]) {
      if (!extent.is_number_unsigned() ||
          extent.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail(origin, where + ": shape " + info["shape"].dump() + " must hold non-negative integers");
      }
      entry.shape.push_back(extent.get<int64_t>());
    }
    if (!info.contains("data_offsets") || !info["data_offsets"].is_array() || info["data_offsets"].size() != 2 ||
        !info["data_offsets"][0].is_number_unsigned() || !info["data_offsets"][1].is_number_unsigned()) {
      fail(origin, where + ": 'data_offsets' must be [begin, end] with non-negative integers");
    }
    entry.begin = info["data_offsets"][0].get<uint64_t>();
    entry.end = info["data_offsets"][1].get<uint64_t>();
    if (entry.begin > entry.end || entry.end > data_size) {
      fail(origin, where + ": data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                       "] lie outside the data section of " + std::to_string(data_size) + " bytes");
    }
    int64_t numel = 0;
    try {
      numel = shape_numel(entry.shape, where.c_str());
    } catch (const Error& e) {
      fail(origin, e.what());
    }
    if (static_cast<uint64_t>(numel) > std::numeric_limits<uint64_t>::max() / elem ||
        static_cast<uint64_t>(numel) * elem != entry.end - entry.begin) {
      fail(origin, where + ": dtype " + entry.dtype + " and shape " + shape_to_string(entry.shape) + " need " +
                       std::to_string(static_cast<unsigned long long>(numel)) + " x " + std::to_string(elem) +
                       " bytes, but data_offsets span " + std::to_string(entry.end - entry.begin));
    }
    file.entries_.push_back(std::move(entry));
  }

  // Tensors must tile the data section: no overlap, no holes.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& e : file.entries_) {
    if (e.end > e.begin) by_offset.push_back(&e);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  uint64_t covered = 0;
  for (const SafetensorsEntry* e : by_offset) {
    if (e->begin < covered) fail(origin, "tensor '" + e->name + "' overlaps the tensor before it in the data section");
    if (e->begin > covered) {
      fail(origin, "bytes [" + std::to_string(covered) + ", " + std::to_string(e->begin) +
                       ") of the data section belong to no tensor");
    }
    covered = e->end;
  }
  if (covered != data_size) {
    fail(origin, "bytes [" + std::to_string(covered) + ", " + std::to_string(data_size) +
                     ") at the end of the data section belong to no tensor");
  }
  file.data_start_ = static_cast<std::size_t>(8 + header_len);
  file.bytes_ = std::move(bytes);
  if (checksums == ChecksumPolicy::verify) {
    const ChecksumReport report = verify_tensor_checksums(file);
    if (report.failures() > 0) {
      std::string list;
      int64_t listed = 0;
      for (const TensorChecksum& t : report.tensors) {
        if (t.status == TensorChecksum::Status::ok) continue;
        if (listed++ == kListedChecksumFailures) break;
        list += "\n  " + describe(t);
      }
      if (report.failures() > kListedChecksumFailures) {
        list += "\n  ... and " + std::to_string(report.failures() - kListedChecksumFailures) + " more";
      }
      fail(origin, std::to_string(report.failures()) + " of " + std::to_string(file.entries_.size()) +
                       " tensors fail the checksums the file records (" + kChecksumMetadataKey +
                       "), so its data is damaged:" + list);
    }
  }
  return file;
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  // entries_ are in name order (the header's object, parsed into a std::map).
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                                   [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  return it != entries_.end() && it->name == name ? &*it : nullptr;
}

const SafetensorsEntry& SafetensorsFile::at(const std::string& name) const {
  if (const SafetensorsEntry* e = find(name)) return *e;
  fail(origin_, "no tensor named '" + name + "'");
}

std::span<const std::byte> SafetensorsFile::bytes(const SafetensorsEntry& entry) const {
  return {bytes_.data() + data_start_ + entry.begin, static_cast<std::size_t>(entry.end - entry.begin)};
}

Tensor<float> SafetensorsFile::to_float(const SafetensorsEntry& entry) const {
  if (entry.dtype != "F32" && entry.dtype != "F64" && entry.dtype != "F16" && entry.dtype != "BF16") {
    fail(origin_, "tensor '" + entry.name + "' has dtype " + entry.dtype +
                      ", expected a floating-point type (F32, F64, F16 or BF16)");
  }
  Tensor<float> out(entry.shape);
  const std::byte* p = bytes(entry).data();
  const int64_t n = out.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (entry.dtype == "F32") {
      out[i] = load<float>(p + 4 * i);
    } else if (entry.dtype == "F64") {
      out[i] = static_cast<float>(load<double>(p + 8 * i));
    } else if (entry.dtype == "F16") {
      out[i] = half_to_float(load<uint16_t>(p + 2 * i));
    } else {
      out[i] = bfloat16_to_float(load<uint16_t>(p + 2 * i));
    }
  }
  return out;
}

Tensor<double> SafetensorsFile::to_double(const SafetensorsEntry& entry) const {
  Tensor<double> out(entry.shape);
  const std::byte* p = bytes(entry).data();
  const int64_t n = out.numel();
  const std::string& t = entry.dtype;
  if (t == "F32" || t == "F16" || t == "BF16") {
    const Tensor<float> f = to_float(entry);
    for (int64_t i = 0; i < n; ++i) out[i] = f[i];
    return out;
  }
  if (t == "F8_E4M3" || t == "F8_E5M2") fail(origin_, "tensor '" + entry.name + "': dtype " + t + " is not supported");
  for (int64_t i = 0; i < n; ++i) {
    double v;
    if (t == "F64")
      v = load<double>(p + 8 * i);
    else if (t == "I64")
      v = static_cast<double>(load<int64_t>(p + 8 * i));
    else if (t == "I32")
      v = load<int32_t>(p + 4 * i);
    else if (t == "I16")
      v = load<int16_t>(p + 2 * i);
    else if (t == "I8")
      v = load<int8_t>(p + i);
    else if (t == "U64")
      v = static_cast<double>(load<uint64_t>(p + 8 * i));
    else if (t == "U32")
      v = load<uint32_t>(p + 4 * i);
    else if (t == "U16")
      v = load<uint16_t>(p + 2 * i);
    else
      v = static_cast<double>(load<uint8_t>(p + i));  // U8, BOOL
    out[i] = v;
  }
  return out;
}

std::vector<std::byte> serialize_safetensors(const std::vector<SafetensorsTensor>& tensors,
                                             const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  std::map<std::string, std::string> with_checksums = metadata;
  with_checksums[kChecksumMetadataKey] = tensor_checksums_metadata(tensors);
  header["__metadata__"] = with_checksums;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const SafetensorsTensor& t : tensors) {
    const std::string where = "writing safetensors: tensor '" + t.name + "'";
    if (t.dtype != "F32" && t.dtype != "F64")
      throw Error(where + ": dtype " + t.dtype + " cannot be written (F32 or F64)");
    if (t.name.empty() || t.name == "__metadata__") throw Error(where + ": invalid tensor name");
    if (!names.insert(t.name).second) throw Error(where + ": the name is used twice");
    const uint64_t expected =
        static_cast<uint64_t>(shape_numel(t.shape, where.c_str())) * safetensors_dtype_size(t.dtype);
    if (expected != t.data.size()) {
      throw Error(where + ": shape " + shape_to_string(t.shape) + " needs " + std::to_string(expected) +
                  " bytes, got " + std::to_string(t.data.size()));
    }
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + expected}}};
    offset += expected;
  }
  std::string text = header.empty() ? "{}" : header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned
  std::vector<std::byte> out(8 + text.size());
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  out.reserve(out.size() + offset);
  for (const SafetensorsTensor& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::vector<std::byte> bytes = serialize_safetensors(tensors, metadata);
  write_file_atomically(path, {std::span<const std::byte>(bytes)});
}

SafetensorsTensor safetensors_tensor(const std::string& name, TensorView<const float> t) {
  return {name, "F32", t.shape(), std::as_bytes(t.span())};
}

SafetensorsTensor safetensors_tensor(const std::string& name, TensorView<const double> t) {
  return {name, "F64", t.shape(), std::as_bytes(t.span())};
}

}  // namespace rnnkit

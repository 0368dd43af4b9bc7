// NumPy .npz archives; see formats/npz.h. The ZIP structures read (all little-endian):
//   end of central directory   signature 0x06054b50; entry count at +10, directory size at
//                              +12, directory offset at +16; comment length at +20
//   central directory entry    signature 0x02014b50; method +10, CRC-32 of the data +16 (checked),
//                              compressed size +20,
//                              size +24, name length +28, extra +30, comment +32, local
//                              header offset +42, name at +46
//   local header               signature 0x04034b50; name length +26, extra +28, data at +30 + both
#include "rnnkit/formats/npz.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

class Bytes {
 public:
  Bytes(const std::vector<std::byte>& data, std::string where) : data_(data), where_(std::move(where)) {}
  uint32_t u16(std::size_t at) const { return static_cast<uint32_t>(u8(at) | (u8(at + 1) << 8)); }
  uint32_t u32(std::size_t at) const { return u16(at) | (u16(at + 2) << 16); }
  std::string text(std::size_t at, std::size_t n) const {
    check(at, n);
    return std::string(reinterpret_cast<const char*>(data_.data()) + at, n);
  }
  void check(std::size_t at, std::size_t n) const {
    if (at > data_.size() || n > data_.size() - at) {
      throw Error(where_ + ": truncated (needs bytes " + std::to_string(at) + ".." + std::to_string(at + n) + " of " +
                  std::to_string(data_.size()) + ")");
    }
  }
  uint32_t u8(std::size_t at) const {
    check(at, 1);
    return static_cast<uint32_t>(data_[at]);
  }
  const std::byte* at(std::size_t offset) const { return data_.data() + offset; }
  std::size_t size() const { return data_.size(); }

 private:
  const std::vector<std::byte>& data_;
  std::string where_;
};

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// Deflate encodes a run in 258-byte matches of at least 1 bit each: no stream inflates to more
// than about 1032 times its size, so a larger claim is a lie detected before allocating.
constexpr std::size_t kMaxDeflateRatio = 1032;

std::vector<std::byte> inflate_raw(const std::byte* data, std::size_t size, std::size_t expected,
                                   const std::string& where) {
  std::vector<std::byte> out(expected);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error(where + ": zlib could not start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data));
  z.avail_in = static_cast<uInt>(size);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const std::size_t produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != expected) {
    throw Error(where + ": deflated data is corrupt (zlib status " + std::to_string(rc) + ", " +
                std::to_string(produced) + " of " + std::to_string(expected) + " bytes)");
  }
  return out;
}

// The value of `key` in a .npy header dictionary, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
std::string header_value(const std::string& header, const std::string& key, const std::string& where) {
  const std::size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) throw Error(where + ": .npy header has no '" + key + "'");
  std::size_t v = header.find(':', k);
  if (v == std::string::npos) throw Error(where + ": .npy header is malformed at '" + key + "'");
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  std::size_t end = v;
  if (v < header.size() && header[v] == '(') {
    end = header.find(')', v);
    if (end == std::string::npos) throw Error(where + ": .npy header has an unclosed shape");
    return header.substr(v, end - v + 1);
  }
  if (v < header.size() && header[v] == '\'') {
    end = header.find('\'', v + 1);
    if (end == std::string::npos) throw Error(where + ": .npy header has an unclosed string");
    return header.substr(v + 1, end - v - 1);
  }
  end = header.find_first_of(",}", v);
  return header.substr(v, end == std::string::npos ? std::string::npos : end - v);
}

NpyArray parse_npy(const std::vector<std::byte>& bytes, const std::string& where) {
  const Bytes b(bytes, where);
  if (b.text(0, 6) != "\x93NUMPY") throw Error(where + ": not a .npy array (bad magic)");
  const uint32_t major = b.u8(6);
  std::size_t header_at = 10, header_len = b.u16(8);
  if (major >= 2) {
    header_at = 12;
    header_len = b.u32(8);
  }
  const std::string header = b.text(header_at, header_len);
  const std::string descr = header_value(header, "descr", where);
  if (header_value(header, "fortran_order", where) != "False") {
    throw Error(where + ": Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  }
  const std::string shape_text = header_value(header, "shape", where);
  Shape shape;
  for (std::size_t i = 1; i + 1 < shape_text.size();) {
    while (i < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) ++i;
    if (i + 1 >= shape_text.size()) break;
    std::size_t used = 0;
    long long dim = 0;
    try {
      dim = std::stoll(shape_text.substr(i), &used);
    } catch (const std::exception&) {
      throw Error(where + ": .npy shape '" + shape_text + "' is malformed");
    }
    if (dim < 0 || dim > (1LL << 40)) throw Error(where + ": .npy shape '" + shape_text + "' is out of range");
    shape.push_back(dim);
    i += used;
  }
  struct Kind {
    const char* descr;
    const char* dtype;
    std::size_t size;
  };
  static constexpr Kind kKinds[] = {
      {"<f4", "F32", 4}, {"<f8", "F64", 8}, {"<i4", "I32", 4}, {"<i8", "I64", 8}, {"|b1", "BOOL", 1}};
  const Kind* kind = nullptr;
  for (const Kind& k : kKinds) {
    if (descr == k.descr) kind = &k;
  }
  if (kind == nullptr) {
    throw Error(where + ": .npy dtype '" + descr + "' is not supported (expected <f4, <f8, <i4, <i8 or |b1)");
  }
  // The shape is a claim: checked against the bytes that follow before anything is allocated.
  int64_t elements = 0;
  try {
    elements = shape_numel(shape, ".npy shape");
  } catch (const Error&) {
    throw Error(where + ": .npy shape '" + shape_text + "' has more elements than int64 holds");
  }
  const std::size_t data_at = header_at + header_len;
  const std::size_t available = bytes.size() - std::min(bytes.size(), data_at);
  const auto n = static_cast<std::size_t>(elements);
  if (n > available / kind->size || available != n * kind->size) {
    throw Error(where + ": .npy shape " + shape_to_string(shape) + " of " + descr + " needs " +
                (n > available / kind->size ? std::to_string(n) + " x " + std::to_string(kind->size)
                                            : std::to_string(n * kind->size)) +
                " bytes, the data is " + std::to_string(available) + " bytes");
  }
  NpyArray out{kind->dtype, Tensor<double>(shape)};
  const std::byte* p = bytes.data() + data_at;
  for (std::size_t i = 0; i < n; ++i) {
    double v = 0;
    if (kind->size == 4 && kind->dtype[0] == 'F') {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      v = f;
    } else if (kind->size == 8 && kind->dtype[0] == 'F') {
      std::memcpy(&v, p + 8 * i, 8);
    } else if (kind->size == 4) {
      int32_t x;
      std::memcpy(&x, p + 4 * i, 4);
      v = x;
    } else if (kind->size == 8) {
      int64_t x;
      std::memcpy(&x, p + 8 * i, 8);
      v = static_cast<double>(x);
    } else {
      v = static_cast<uint8_t>(p[i]) != 0 ? 1.0 : 0.0;
    }
    out.values[static_cast<int64_t>(i)] = v;
  }
  return out;
}

}  // namespace

std::map<std::string, NpyArray> read_npz(const std::string& path) { return parse_npz(read_file(path), path); }

std::map<std::string, NpyArray> parse_npz(const std::vector<std::byte>& file, const std::string& origin) {
  const std::string where = "npz file '" + origin + "'";
  const Bytes b(file, where);
  // The end-of-central-directory record: the last signature within the final 64 KiB + 22 bytes.
  std::size_t eocd = std::string::npos;
  const std::size_t lowest = file.size() > 65557 ? file.size() - 65557 : 0;
  for (std::size_t at = file.size() >= 22 ? file.size() - 22 : 0; file.size() >= 22; --at) {
    if (b.u32(at) == 0x06054b50) {
      eocd = at;
      break;
    }
    if (at == lowest) break;
  }
  if (eocd == std::string::npos) throw Error(where + ": not a ZIP archive (no end of central directory)");
  const uint32_t entries = b.u16(eocd + 10);
  std::size_t at = b.u32(eocd + 16);
  if (entries == 0xffff || at == 0xffffffff) throw Error(where + ": ZIP64 archives are not supported");
  // Everything inflated together may exceed the archive by kNpzInflateAllowance at most: a few
  // bytes of deflate must not cost gigabytes.
  std::size_t inflate_budget = file.size() + kNpzInflateAllowance;
  std::map<std::string, NpyArray> out;
  for (uint32_t e = 0; e < entries; ++e) {
    if (b.u32(at) != 0x02014b50) throw Error(where + ": central directory entry " + std::to_string(e) + " is corrupt");
    const uint32_t method = b.u16(at + 10), flags = b.u16(at + 8), recorded_crc = b.u32(at + 16);
    const std::size_t packed = b.u32(at + 20), size = b.u32(at + 24);
    const std::size_t name_len = b.u16(at + 28), extra_len = b.u16(at + 30), comment_len = b.u16(at + 32);
    const std::size_t local = b.u32(at + 42);
    const std::string name = b.text(at + 46, name_len);
    at += 46 + name_len + extra_len + comment_len;
    const std::string entry_where = where + ", entry '" + name + "'";
    if ((flags & 1) != 0) throw Error(entry_where + ": encrypted");
    if (packed == 0xffffffff || size == 0xffffffff) throw Error(entry_where + ": ZIP64 sizes are not supported");
    if (b.u32(local) != 0x04034b50) throw Error(entry_where + ": local header is corrupt");
    const std::size_t data = local + 30 + b.u16(local + 26) + b.u16(local + 28);
    b.check(data, packed);
    std::vector<std::byte> raw;
    if (method == 0) {
      if (packed != size) throw Error(entry_where + ": stored entry with different sizes");
      raw.assign(b.at(data), b.at(data) + packed);
    } else if (method == 8) {
      if (size / kMaxDeflateRatio > packed) {
        throw Error(entry_where + ": claims " + std::to_string(size) + " bytes inflated from " +
                    std::to_string(packed) + ", more than deflate can encode in that many");
      }
      if (size > inflate_budget) {
        throw Error(entry_where + ": inflates to " + std::to_string(size) + " bytes, past the limit of the archive's " +
                    std::to_string(file.size()) + " bytes + " + std::to_string(kNpzInflateAllowance >> 20) +
                    " MiB for everything inflated");
      }
      inflate_budget -= size;
      raw = inflate_raw(b.at(data), packed, size, entry_where);
    } else {
      throw Error(entry_where + ": compression method " + std::to_string(method) + " (expected stored or deflate)");
    }
    const auto crc = static_cast<uint32_t>(crc32_z(0, reinterpret_cast<const Bytef*>(raw.data()), raw.size()));
    if (crc != recorded_crc) {
      throw Error(entry_where + ": its data has CRC-32 " + hex32(crc) + " but the archive records " +
                  hex32(recorded_crc) + " (the entry is damaged)");
    }
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    if (out.contains(key)) throw Error(entry_where + ": a second array named '" + key + "'");
    out[key] = parse_npy(raw, entry_where);
  }
  return out;
}

}  // namespace rnnkit

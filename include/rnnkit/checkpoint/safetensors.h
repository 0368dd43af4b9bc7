// safetensors files: read and write.
//
// Layout (docs/checkpoint-format.md): 8-byte little-endian header length N, N bytes of
// JSON header, then the data section. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data section) and
// may hold "__metadata__", a map of strings to strings.
//
// Reading checks everything before trusting it: header length within the file and at
// most 100 MB, JSON valid and at most 64 levels deep, no duplicate names, known dtypes,
// non-negative shapes whose byte size does not overflow and equals end - begin, offsets
// inside the data section, tensors neither overlapping nor leaving holes. Any failure
// throws Error naming the file and the problem; memory use is bounded by the file size.
//
// Checksums (checkpoint/tensor_checksums.h): every file rnnkit writes records each tensor's
// CRC-32C in its metadata, and reading verifies them unless asked not to; a file with no
// checksums loads unverified.
//
// Element types: F32 and F64 read and write; F16 and BF16 read (converted); integer
// and bool tensors read (converted to double for statistics and lengths).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "rnnkit/core/shape.h"
#include "rnnkit/core/tensor.h"

namespace rnnkit {

inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "F64", "F16", "BF16", "I64", ...
  Shape shape;
  uint64_t begin = 0;  // offsets into the data section
  uint64_t end = 0;
};

// Bytes per element of a safetensors dtype name; 0 if the name is unknown.
std::size_t safetensors_dtype_size(const std::string& dtype);

// Whether reading checks the tensors against the checksums the file records. `skip` is for
// reporting on a damaged file (rnnkit inspect --verify), never for using its values.
enum class ChecksumPolicy { verify, skip };

class SafetensorsFile {
 public:
  // Reads and validates a file. `origin` in messages is the path.
  static SafetensorsFile read(const std::string& path, ChecksumPolicy checksums = ChecksumPolicy::verify);
  // Validates bytes already in memory; `origin` names them in messages.
  static SafetensorsFile parse(std::vector<std::byte> bytes, const std::string& origin,
                               ChecksumPolicy checksums = ChecksumPolicy::verify);

  const std::string& origin() const { return origin_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // In the order of their names.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const SafetensorsEntry* find(const std::string& name) const;
  // Throws Error naming the file and the tensor if absent.
  const SafetensorsEntry& at(const std::string& name) const;

  std::span<const std::byte> bytes(const SafetensorsEntry& entry) const;
  // Floating-point tensors (F64, F32, F16, BF16) as float32; other dtypes throw.
  Tensor<float> to_float(const SafetensorsEntry& entry) const;
  // Any numeric tensor as float64 (integers and bools converted).
  Tensor<double> to_double(const SafetensorsEntry& entry) const;

 private:
  std::string origin_;
  std::vector<std::byte> bytes_;
  std::size_t data_start_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsEntry> entries_;
};

// A tensor to write: raw little-endian bytes of dtype "F32" or "F64".
struct SafetensorsTensor {
  std::string name;
  std::string dtype;
  Shape shape;
  std::span<const std::byte> data;
};

// Writes atomically (see atomic_file.h), tensors in the order given, with `metadata` and the
// tensors' checksums (rnnkit.crc32c, replacing any such entry of `metadata`). Throws Error on
// a dtype other than F32/F64, a byte count that disagrees with the shape, or a repeated name.
void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

// The same file as bytes (for tests and in-memory use).
std::vector<std::byte> serialize_safetensors(const std::vector<SafetensorsTensor>& tensors,
                                             const std::map<std::string, std::string>& metadata);

// Views of float tensors as safetensors input.
SafetensorsTensor safetensors_tensor(const std::string& name, TensorView<const float> t);
SafetensorsTensor safetensors_tensor(const std::string& name, TensorView<const double> t);

}  // namespace rnnkit

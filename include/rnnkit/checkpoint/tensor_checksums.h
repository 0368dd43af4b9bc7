// Per-tensor checksums in the files rnnkit writes.
//
// Every safetensors file rnnkit writes carries, in its metadata under "rnnkit.crc32c", a JSON
// object mapping each tensor's name to the CRC-32C (core/crc32c.h) of its data bytes as eight
// lowercase hexadecimal digits, e.g. {"lstm/l0/fw/weight_ih": "1c291ca3"}. Reading a file that
// has the key verifies every tensor against it (SafetensorsFile::parse); a file without it
// (another writer's, or an rnnkit file from before checksums) loads unverified.
//
// A file verifies when the recorded names are exactly the file's tensors and every data
// checksum matches. The checksums cover tensor data, not the metadata or the header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rnnkit {

class SafetensorsFile;
struct SafetensorsTensor;

inline constexpr const char* kChecksumMetadataKey = "rnnkit.crc32c";

// The "rnnkit.crc32c" metadata value for these tensors.
std::string tensor_checksums_metadata(const std::vector<SafetensorsTensor>& tensors);

struct TensorChecksum {
  enum class Status {
    ok,          // recorded and equal
    mismatch,    // recorded and different: the data changed after it was written
    unrecorded,  // the file holds the tensor but records no checksum for it
    missing,     // a checksum is recorded for a tensor the file does not hold
  };
  std::string tensor;
  Status status = Status::ok;
  uint32_t recorded = 0;  // mismatch, missing: what the file records
  uint32_t computed = 0;  // ok, mismatch, unrecorded: of the bytes in the file
};

struct ChecksumReport {
  bool recorded = false;                // the file has rnnkit.crc32c
  std::vector<TensorChecksum> tensors;  // every tensor in name order, then the missing ones
  int64_t failures() const;             // entries that are not ok
};

// Checks every tensor of `file` against its recorded checksums (none if it records none).
// Throws Error if the rnnkit.crc32c value itself is malformed.
ChecksumReport verify_tensor_checksums(const SafetensorsFile& file);

// "tensor 'x' reads crc32c ... but the file records ..." and the like, for one entry.
std::string describe(const TensorChecksum& checksum);

}  // namespace rnnkit

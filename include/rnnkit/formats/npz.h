// NumPy .npz archives (np.savez, np.savez_compressed): a ZIP file of .npy arrays.
//
// Read: ZIP entries stored or deflated (through zlib), no ZIP64, no encryption; each entry
// NAME.npy an array in .npy format 1.0, 2.0 or 3.0, little-endian float32, float64, int32,
// int64 or bool, C order (a Fortran-order array is an error). Every size is checked against
// the file before it is used; a malformed archive is an Error naming the file, the entry and
// what is wrong. A deflated entry may not claim more than deflate can encode in its size, and
// everything inflated together may exceed the archive's own size by kNpzInflateAllowance at
// most (a zip bomb is refused before it is inflated); two arrays of one name are an error; an
// entry whose data does not have the CRC-32 the archive records is an error (damaged).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "rnnkit/core/tensor.h"

namespace rnnkit {

struct NpyArray {
  std::string dtype;  // "F32", "F64", "I32", "I64", "BOOL" (safetensors' names)
  Tensor<double> values;
};

inline constexpr std::size_t kNpzInflateAllowance = std::size_t{64} << 20;

// Arrays by name (the entry name without ".npy").
std::map<std::string, NpyArray> read_npz(const std::string& path);
// The same from bytes in memory; `origin` names them in messages.
std::map<std::string, NpyArray> parse_npz(const std::vector<std::byte>& bytes, const std::string& origin);

}  // namespace rnnkit

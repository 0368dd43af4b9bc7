// Internal: whether bytes begin an HDF5 file, as libhdf5 decides it before it parses anything
// (H5Fis_hdf5): the 8-byte signature 89 48 44 46 0d 0a 1a 0a ("\x89HDF\r\n\x1a\n") at byte 0, or
// after a user block, at byte 512 x 2^k (512, 1024, 2048, ...) within the file. At most one
// 8-byte read per place, about 30 for a file of 50 GB: cheap enough to refuse a file that is not
// HDF5 before a separate process starts for it (formats/keras_contents.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace rnnkit::detail {

bool has_hdf5_signature(std::span<const std::byte> image);
// The file at `path`, of `size` bytes; false if it cannot be read.
bool has_hdf5_signature(const std::string& path, uint64_t size);

}  // namespace rnnkit::detail

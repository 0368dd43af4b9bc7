// Writing a file atomically: a crash mid-write never leaves a truncated file
// in place of the old one.
//
// The parts are written to a temporary file in the same directory, flushed to disk
// (fsync), renamed over `path`, and the directory is synced. On any failure the
// temporary file is removed, the old file is untouched, and Error names the path and
// the system's reason. Only a regular file is ever replaced: a directory, device, pipe, socket
// or symbolic link at `path` is refused (examined through a descriptor opened without following
// links, before writing and again just before the rename).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rnnkit {

void write_file_atomically(const std::string& path, const std::vector<std::span<const std::byte>>& parts);

// Whether a file name (no directory) is one of write_file_atomically's temporary files,
// ".NAME.tmp-PID-N", which a writer killed mid-way leaves behind.
bool is_atomic_write_temporary(const std::string& file_name);

// Reads a whole regular file, as many bytes as its size says when opened (a device such as
// /dev/zero, a pipe or a directory is refused); Error names the path and the reason on failure.
std::vector<std::byte> read_file(const std::string& path);

// The size of a regular file; Error (naming the path and what it is instead) otherwise. For
// readers that hand the path to another library, which would wait on a pipe or read a device.
uint64_t regular_file_size(const std::string& path);

}  // namespace rnnkit

// Internal: whole reads and writes on a file descriptor, and this process's address space, done
// without allocating (so that a forked child may use them before it sets its limits, and after
// std::bad_alloc). Used by core/contained_call.cc and the fuzz targets' scouts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rnnkit::detail {

// Writes all `size` bytes, through EINTR and partial writes; false once the descriptor fails
// (a broken pipe, say).
bool write_fully(int fd, const void* data, std::size_t size) noexcept;
// Reads exactly `size` bytes, through EINTR and partial reads; false at an error or at the end
// of the input before `size` bytes.
bool read_fully(int fd, void* data, std::size_t size) noexcept;
// This process's address space (VmSize in /proc/self/status) in bytes, 0 if it cannot be read:
// read into a buffer on the stack and parsed by hand.
uint64_t address_space_bytes() noexcept;

}  // namespace rnnkit::detail

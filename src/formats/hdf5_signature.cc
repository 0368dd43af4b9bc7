// HDF5's signature at the places libhdf5 looks for it; see hdf5_signature.h.
#include "hdf5_signature.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rnnkit::detail {
namespace {

constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

// Calls at(offset, out) for byte 0 and each 512 x 2^k where 8 bytes fit, until one returns true.
template <class Read>
bool found_at_some_place(uint64_t size, Read&& read_at) {
  for (uint64_t offset = 0; offset <= size && size - offset >= sizeof kSignature;
       offset = offset == 0 ? 512 : 2 * offset) {
    unsigned char bytes[sizeof kSignature];
    if (read_at(offset, bytes) && std::memcmp(bytes, kSignature, sizeof kSignature) == 0) return true;
    if (offset > (uint64_t{1} << 62)) break;
  }
  return false;
}

}  // namespace

bool has_hdf5_signature(std::span<const std::byte> image) {
  return found_at_some_place(image.size(), [&](uint64_t offset, unsigned char* out) {
    std::memcpy(out, image.data() + offset, sizeof kSignature);
    return true;
  });
}

bool has_hdf5_signature(const std::string& path, uint64_t size) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool found = found_at_some_place(size, [&](uint64_t offset, unsigned char* out) {
    std::size_t got = 0;
    while (got < sizeof kSignature) {
      const ssize_t n = pread(fd, out + got, sizeof kSignature - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    return true;
  });
  close(fd);
  return found;
}

}  // namespace rnnkit::detail

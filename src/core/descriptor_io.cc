// Whole reads and writes, and VmSize, without allocating; see descriptor_io.h.
#include "descriptor_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rnnkit::detail {

bool write_fully(int fd, const void* data, std::size_t size) noexcept {
  const char* at = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, at, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_fully(int fd, void* data, std::size_t size) noexcept {
  char* at = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, at, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

uint64_t address_space_bytes() noexcept {
  const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[8192];
  std::size_t size = 0;
  while (size < sizeof text - 1) {
    const ssize_t n = ::read(fd, text + size, sizeof text - 1 - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text[size] = '\0';
  const char* at = std::strstr(text, "\nVmSize:");  // "VmSize:\t  123456 kB"; never the first line
  if (at == nullptr) return 0;
  at += 8;
  while (*at == ' ' || *at == '\t') ++at;
  uint64_t kib = 0;
  for (; *at >= '0' && *at <= '9'; ++at) {
    if (kib > (uint64_t{1} << 50)) return 0;
    kib = 10 * kib + static_cast<uint64_t>(*at - '0');
  }
  return std::strncmp(at, " kB", 3) == 0 ? kib * 1024 : 0;
}

}  // namespace rnnkit::detail

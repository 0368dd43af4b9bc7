// Atomic file writes (temporary file, fsync, rename, directory fsync) and whole-file reads.
#include "rnnkit/core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw Error(what + " '" + path + "': " + std::strerror(err));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The rename replaces whatever `path` names. Only a regular file (or nothing) may be replaced:
// the name is opened without following a symbolic link and without opening a device (O_PATH),
// and the descriptor is what gets examined.
void refuse_to_replace_anything_but_a_regular_file(const std::string& path) {
  FileDescriptor existing(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (existing.get() < 0) {
    if (errno == ENOENT) return;
    fail("cannot examine the file to be replaced", path, errno);
  }
  struct stat info {};
  if (::fstat(existing.get(), &info) != 0) fail("cannot examine the file to be replaced", path, errno);
  if (!S_ISREG(info.st_mode)) {
    throw Error("refusing to write '" + path + "': it exists and is " + file_kind(info.st_mode) +
                "; rnnkit replaces only regular files");
  }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::vector<std::span<const std::byte>>& parts) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  refuse_to_replace_anything_but_a_regular_file(path);
  std::random_device entropy;
  const std::string temp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(entropy())))
                               .string();

  FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail("cannot create a temporary file to write", path, errno);
  auto abandon = [&](const char* what, int err) {
    ::close(fd.release());
    ::unlink(temp.c_str());
    fail(what, path, err);
  };
  for (std::span<const std::byte> part : parts) {
    const std::byte* data = part.data();
    std::size_t left = part.size();
    while (left > 0) {
      const ssize_t written = ::write(fd.get(), data, left);
      if (written < 0) {
        if (errno == EINTR) continue;
        abandon("cannot write", errno);
      }
      data += written;
      left -= static_cast<std::size_t>(written);
    }
  }
  if (::fsync(fd.get()) != 0) abandon("cannot flush", errno);
  if (::close(fd.release()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail("cannot close", path, err);
  }
  try {
    refuse_to_replace_anything_but_a_regular_file(path);  // again: it may have changed meanwhile
  } catch (const Error&) {
    ::unlink(temp.c_str());
    throw;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail("cannot rename the temporary file over", path, err);
  }
  FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());  // best effort: the rename is done
}

namespace {

// Opens `path` for reading if it is a regular file. O_NONBLOCK: opening a named pipe must not
// wait for a writer; it is refused anyway.
FileDescriptor open_regular_file(const std::string& path, struct stat& info) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) fail("cannot open", path, errno);
  if (::fstat(fd.get(), &info) != 0) fail("cannot examine", path, errno);
  if (!S_ISREG(info.st_mode)) {
    throw Error("cannot read '" + path + "': it is " + file_kind(info.st_mode) + ", expected a regular file");
  }
  return fd;
}

}  // namespace

uint64_t regular_file_size(const std::string& path) {
  struct stat info {};
  open_regular_file(path, info);
  return static_cast<uint64_t>(info.st_size);
}

bool is_atomic_write_temporary(const std::string& file_name) {
  const std::size_t at = file_name.rfind(".tmp-");
  return file_name.size() > 1 && file_name[0] == '.' && at != std::string::npos && at > 1 &&
         file_name.size() > at + 5 && file_name.find_first_not_of("0123456789-", at + 5) == std::string::npos;
}

std::vector<std::byte> read_file(const std::string& path) {
  struct stat info {};
  FileDescriptor fd = open_regular_file(path, info);
  // The size the file has now is all that is read: a file that grows meanwhile (or claims a
  // size of 0 like those in /proc) cannot make the read unbounded.
  const auto size = static_cast<std::size_t>(info.st_size);
  std::vector<std::byte> bytes(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(fd.get(), bytes.data() + done, size - done);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail("cannot read", path, errno);
    }
    if (got == 0) {
      throw Error("cannot read '" + path + "': it shrank from " + std::to_string(size) + " to " + std::to_string(done) +
                  " bytes while being read");
    }
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

}  // namespace rnnkit

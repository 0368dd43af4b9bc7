// Atomic writes: the old file survives a failed write; no temporary files are left.
#include "rnnkit/core/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit {
namespace {

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

TEST(AtomicFile, WritesReplacesAndLeavesNoTemporaries) {
  test::TempDir dir;
  const std::string path = dir.file("x.bin");
  const auto first = bytes_of("first"), second = bytes_of("second!");
  write_file_atomically(path, {first});
  write_file_atomically(path,
                        {std::span<const std::byte>(second).first(3), std::span<const std::byte>(second).subspan(3)});
  EXPECT_EQ(read_file(path), second);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(AtomicFile, FailureKeepsTheOldFile) {
  test::TempDir dir;
  const std::string path = dir.file("x.bin");
  write_file_atomically(path, {bytes_of("keep me")});
  EXPECT_THROW(write_file_atomically(dir.file("missing-dir/x.bin"), {bytes_of("y")}), Error);
  // A directory where the file should go: rename fails, the temporary is removed.
  std::filesystem::create_directory(dir.file("a-dir"));
  std::filesystem::create_directory(dir.file("a-dir/inner"));
  EXPECT_THROW(write_file_atomically(dir.file("a-dir"), {bytes_of("y")}), Error);
  EXPECT_EQ(read_file(path), bytes_of("keep me"));
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 2);  // x.bin and a-dir, no temporaries
}

// Fault injection: a writer killed (SIGKILL) at arbitrary moments while it rewrites a
// file never leaves anything but a complete old or a complete new version in place.
TEST(AtomicFile, KilledWriterLeavesAWholeFile) {
  test::TempDir dir;
  const std::string path = dir.file("ckpt.bin");
  constexpr std::size_t kSize = 4 << 20;
  std::vector<std::byte> a(kSize, std::byte{'a'}), b(kSize, std::byte{'b'});
  write_file_atomically(path, {a});
  for (int round = 0; round < 6; ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (int i = 0;; ++i) write_file_atomically(path, {i % 2 ? a : b});
    }
    ::usleep(static_cast<useconds_t>(20000 + 15000 * round));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    const std::vector<std::byte> now = read_file(path);
    ASSERT_EQ(now.size(), kSize) << "round " << round;
    EXPECT_TRUE(now == a || now == b) << "round " << round;
  }
}

TEST(AtomicFile, ReadingAMissingFileNamesIt) {
  try {
    read_file("/nonexistent/rnnkit.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/rnnkit.safetensors"), std::string::npos);
  }
}

// Only a regular file is replaced. A device node (made here when the test runs as root, a copy
// of /dev/null's numbers), a named pipe, a directory and a symbolic link stay what they were.
TEST(AtomicFile, ReplacesNothingButARegularFile) {
  test::TempDir dir;
  const std::vector<std::byte> data = bytes_of("weights");
  const std::vector<std::span<const std::byte>> parts = {data};
  struct Target {
    std::string path;
    std::string kind;
  };
  std::vector<Target> targets;
  if (::mknod(dir.file("device").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
    targets.push_back({dir.file("device"), "a character device"});
  } else {
    std::cout << "note: not root, the device-node case is not run\n";
  }
  ASSERT_EQ(::mkfifo(dir.file("pipe").c_str(), 0600), 0);
  targets.push_back({dir.file("pipe"), "a named pipe"});
  std::filesystem::create_directory(dir.file("directory"));
  targets.push_back({dir.file("directory"), "a directory"});
  write_file_atomically(dir.file("real"), parts);
  std::filesystem::create_symlink(dir.file("real"), dir.file("link"));
  targets.push_back({dir.file("link"), "a symbolic link"});
  for (const Target& t : targets) {
    const auto before = std::filesystem::symlink_status(t.path).type();
    const std::string message = test::error_of([&] { write_file_atomically(t.path, parts); });
    EXPECT_NE(message.find("refusing to write '" + t.path + "': it exists and is " + t.kind), std::string::npos)
        << message;
    EXPECT_EQ(std::filesystem::symlink_status(t.path).type(), before) << t.path;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  EXPECT_EQ(read_file(dir.file("link")), data);  // reading through a link is fine
}

// Reading takes regular files only, and only the bytes their size promises: /dev/zero would
// never end, a pipe would wait for a writer.
TEST(AtomicFile, ReadsOnlyRegularFiles) {
  test::TempDir dir;
  EXPECT_NE(test::error_of([] { read_file("/dev/zero"); }).find("cannot read '/dev/zero': it is a character device"),
            std::string::npos);
  ASSERT_EQ(::mkfifo(dir.file("pipe").c_str(), 0600), 0);
  EXPECT_NE(test::error_of([&] { read_file(dir.file("pipe")); }).find("it is a named pipe, expected a regular file"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { read_file(dir.path()); }).find("it is a directory"), std::string::npos);
  EXPECT_TRUE(read_file("/proc/self/status").empty());  // claims size 0: nothing is read
}

}  // namespace
}  // namespace rnnkit

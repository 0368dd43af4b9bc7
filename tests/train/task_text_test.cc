// Pinning a text task's text: recorded by size and SHA-256, read only when a regular file of
// that size and hash, and never read from a path a config names without a pin unless the user
// gives one.
#include "rnnkit/train/task_text.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "rnnkit/core/error.h"
#include "rnnkit/core/sha256.h"
#include "test_support.h"

namespace rnnkit {
namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<std::byte> bytes_of(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

TaskConfig text_task(const std::string& path) {
  TaskConfig task;
  task.name = "char_lm";
  task.text = path;
  return task;
}

TEST(TaskText, PinningRecordsTheAbsolutePathTheSizeAndTheHash) {
  test::TempDir dir;
  write(dir.file("t.txt"), "some text to train on\n");
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  TaskConfig task = text_task("./t.txt");
  pin_task_text(task);
  std::filesystem::current_path(cwd);
  EXPECT_EQ(task.text, std::filesystem::path(dir.file("t.txt")).lexically_normal().string());
  ASSERT_TRUE(task.text_size.has_value());
  EXPECT_EQ(*task.text_size, 22u);
  EXPECT_EQ(task.text_sha256, sha256_hex(bytes_of("some text to train on\n")));
  EXPECT_TRUE(text_is_pinned(task));
  EXPECT_EQ(read_task_text(task), bytes_of("some text to train on\n"));

  TaskConfig builtin = text_task("");
  pin_task_text(builtin);
  EXPECT_FALSE(text_is_pinned(builtin));
  TaskConfig adding = text_task(dir.file("t.txt"));
  adding.name = "adding";  // reads no text: nothing to pin
  pin_task_text(adding);
  EXPECT_FALSE(text_is_pinned(adding));
}

TEST(TaskText, APinnedTextIsReadOnlyIfItIsTheRecordedOne) {
  test::TempDir dir;
  write(dir.file("t.txt"), "abcdefgh");
  TaskConfig task = text_task(dir.file("t.txt"));
  pin_task_text(task);

  write(dir.file("t.txt"), "abcdefgX");  // same size, other bytes
  std::string message = test::error_of([&] { read_task_text(task); });
  EXPECT_NE(message.find("has sha256 "), std::string::npos) << message;
  EXPECT_NE(message.find("the run recorded 8 bytes, sha256 " + task.text_sha256), std::string::npos) << message;
  EXPECT_NE(message.find("--text FILE"), std::string::npos) << message;

  write(dir.file("t.txt"), "abc");
  message = test::error_of([&] { read_task_text(task); });
  EXPECT_NE(message.find("is 3 bytes"), std::string::npos) << message;

  std::filesystem::remove(dir.file("t.txt"));
  EXPECT_NE(test::error_of([&] { read_task_text(task); }).find("t.txt"), std::string::npos);

  // A pin cannot make rnnkit read a device: refused by what the path is, before any read.
  TaskConfig device = task;
  device.text = "/dev/zero";
  const auto start = std::chrono::steady_clock::now();
  message = test::error_of([&] { read_task_text(device); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(message.find("/dev/zero"), std::string::npos) << message;
  EXPECT_NE(message.find("expected a regular file"), std::string::npos) << message;
}

TEST(TaskText, LocatingRefusesUnpinnedPathsUnlessTheUserGivesOne) {
  test::TempDir dir;
  write(dir.file("t.txt"), "the text");
  write(dir.file("other.txt"), "another!");

  TaskConfig unpinned = text_task("/etc/passwd");
  std::string message = test::error_of([&] { locate_task_text(unpinned, "", "ckpt.safetensors"); });
  EXPECT_NE(message.find("ckpt.safetensors: the run config names the text '/etc/passwd' but records neither"),
            std::string::npos)
      << message;
  locate_task_text(unpinned, dir.file("t.txt"), "ckpt.safetensors");  // the user vouches for this one
  EXPECT_EQ(unpinned.text, dir.file("t.txt"));
  EXPECT_TRUE(text_is_pinned(unpinned));

  TaskConfig pinned = text_task(dir.file("t.txt"));
  pin_task_text(pinned);
  TaskConfig moved = pinned;
  locate_task_text(moved, "", "ckpt");  // stays where it was recorded; read_task_text checks it
  EXPECT_EQ(moved.text, pinned.text);
  message = test::error_of([&] { locate_task_text(moved, dir.file("other.txt"), "ckpt"); });
  EXPECT_NE(message.find("has sha256"), std::string::npos) << message;

  TaskConfig builtin = text_task("");
  message = test::error_of([&] { locate_task_text(builtin, dir.file("t.txt"), "ckpt"); });
  EXPECT_NE(message.find("used the built-in text"), std::string::npos) << message;
  locate_task_text(builtin, "", "ckpt");  // nothing to locate
}

TEST(TaskText, RunConfigsCarryThePinAndCheckIt) {
  const std::string sha(64, 'a');
  const RunConfig c =
      parse_run_config("[task]\ntext = \"/data/t.txt\"\ntext_size = 12\ntext_sha256 = \"" + sha + "\"\n", "c.toml");
  ASSERT_TRUE(c.task.text_size.has_value());
  EXPECT_EQ(*c.task.text_size, 12u);
  EXPECT_EQ(c.task.text_sha256, sha);
  const RunConfig again = parse_run_config(run_config_to_toml(c), "again");
  EXPECT_EQ(again.task.text_size, c.task.text_size);
  EXPECT_EQ(again.task.text_sha256, sha);
  EXPECT_EQ(parse_run_config(run_config_to_toml(parse_run_config("", "d")), "d").task.text_size, std::nullopt);

  auto error = [](const std::string& toml) { return test::error_of([&] { parse_run_config(toml, "c.toml"); }); };
  EXPECT_NE(error("[task]\ntext = \"t\"\ntext_size = 12\n").find("give both or neither"), std::string::npos);
  EXPECT_NE(error("[task]\ntext = \"t\"\ntext_size = 1\ntext_sha256 = \"ABC\"\n").find("64 lowercase hexadecimal"),
            std::string::npos);
  EXPECT_NE(error("[task]\ntext_size = 1\ntext_sha256 = \"" + sha + "\"\n").find("text is empty"), std::string::npos);
  EXPECT_NE(error("[task]\ntext = \"t\"\ntext_size = -1\ntext_sha256 = \"" + sha + "\"\n").find("text_size"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

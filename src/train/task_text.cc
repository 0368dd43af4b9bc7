// Pinning a text task's text by size and SHA-256; see train/task_text.h.
#include "rnnkit/train/task_text.h"

#include <filesystem>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "rnnkit/core/sha256.h"

namespace rnnkit {
namespace {

bool uses_text(const TaskConfig& task) { return (task.name == "char_lm" || task.name == "typo") && !task.text.empty(); }

std::string pin_description(const TaskConfig& task) {
  return std::to_string(*task.text_size) + " bytes, sha256 " + task.text_sha256;
}

}  // namespace

bool text_is_pinned(const TaskConfig& task) { return task.text_size.has_value() && !task.text_sha256.empty(); }

void pin_task_text(TaskConfig& task) {
  if (!uses_text(task)) return;
  if (text_is_pinned(task)) {
    read_task_text(task);
    return;
  }
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(task.text, ec);
  if (ec) throw Error("task text '" + task.text + "': cannot make the path absolute: " + ec.message());
  const std::vector<std::byte> bytes = read_file(absolute.lexically_normal().string());
  task.text = absolute.lexically_normal().string();
  task.text_size = bytes.size();
  task.text_sha256 = sha256_hex(bytes);
}

std::vector<std::byte> read_task_text(const TaskConfig& task) {
  if (!text_is_pinned(task)) return read_file(task.text);
  const std::string where = "task text '" + task.text + "'";
  const std::string expected = " the run recorded " + pin_description(task) +
                               ": give the text the model was trained on (rnnkit evaluate, sample and "
                               "train --resume take --text FILE)";
  uint64_t size = 0;
  try {
    size = regular_file_size(task.text);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + ";" + expected);
  }
  if (size != *task.text_size) throw Error(where + " is " + std::to_string(size) + " bytes;" + expected);
  const std::vector<std::byte> bytes = read_file(task.text);
  if (bytes.size() != *task.text_size) {
    throw Error(where + " is " + std::to_string(bytes.size()) + " bytes (it changed while read);" + expected);
  }
  if (const std::string hash = sha256_hex(bytes); hash != task.text_sha256) {
    throw Error(where + " has sha256 " + hash + ";" + expected);
  }
  return bytes;
}

void locate_task_text(TaskConfig& task, const std::string& given, const std::string& origin) {
  if (!given.empty()) {
    if (!(task.name == "char_lm" || task.name == "typo") || task.text.empty()) {
      throw Error(origin + ": the run's task " + task.name +
                  (task.name == "char_lm" || task.name == "typo" ? " used the built-in text" : " reads no text") +
                  ", so there is no text to give");
    }
    task.text = given;
    pin_task_text(task);  // verifies against the record when there is one
    return;
  }
  if (!uses_text(task) || text_is_pinned(task)) return;
  throw Error(origin + ": the run config names the text '" + task.text +
              "' but records neither its size nor its sha256 (an earlier rnnkit wrote it, or it was written by "
              "hand); rnnkit reads no file a checkpoint names without them: give the text (--text FILE)");
}

}  // namespace rnnkit

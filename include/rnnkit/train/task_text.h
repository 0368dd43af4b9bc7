// The text a text task (char_lm, typo) trains on, pinned by content.
//
// A run config names its text by a path. A checkpoint carries its run config, so a checkpoint
// from elsewhere could name any path on the reader's machine (/etc/shadow, /dev/zero). So
// `rnnkit train` pins the text when a run starts: the path made absolute, the size in bytes
// and the SHA-256 of the bytes ([task] text, text_size, text_sha256). From then on a pinned
// text is read only if it is a regular file of the recorded size (checked before reading)
// whose SHA-256 is the recorded one.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "rnnkit/train/run_config.h"

namespace rnnkit {

// Whether the task names a text file and records its size and hash.
bool text_is_pinned(const TaskConfig& task);

// Pins the task's text: reads it (a regular file), makes the path absolute and records its
// size and SHA-256. A task with no text file (the built-in text) is left as it is; a task
// already pinned is verified instead. Throws Error naming the path on failure.
void pin_task_text(TaskConfig& task);

// The bytes of the task's text file: for a pinned task only after the checks above (Error
// naming the path, the recorded and the found size or hash otherwise); an unpinned one is
// read as it is named (a library caller's own config).
std::vector<std::byte> read_task_text(const TaskConfig& task);

// For a config that came out of a checkpoint or a run directory, before it is used:
//  - `given` non-empty (the user names the text): the task reads `given` instead, still checked
//    against the recorded size and hash when the task is pinned, and pinned when it is not;
//  - otherwise a pinned text stays where it was recorded (read_task_text checks it);
//  - otherwise, an unpinned text file (a config from an rnnkit before pinning, or written by
//    hand) is an Error: rnnkit reads no path such a file names until the user gives one.
// `origin` names the checkpoint or run directory in messages.
void locate_task_text(TaskConfig& task, const std::string& given, const std::string& origin);

}  // namespace rnnkit

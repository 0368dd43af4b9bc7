// Internal: running code that may crash, hang or run away (a library that was not written for
// hostile input) in a child process with resource limits, and getting back only the bytes it
// sends, or how it failed, as an Error.
//
// run_contained forks and does not exec: the child runs on in a copy of the caller's memory.
// POSIX allows only async-signal-safe calls after fork() in a multi-threaded process; the child
// goes beyond that (it allocates, and runs `work`), so in a threaded caller it relies on glibc
// (whose malloc is made safe across fork) and on work touching no lock another thread may have
// held at the fork. Only the calling thread exists in the child, so the child uses only what its
// work needs (not OpenMP, OpenBLAS or another thread's locks) and, first of all:
//   - dies with the thread that forked it (PR_SET_PDEATHSIG);
//   - resets every signal handler to the default and unblocks every signal (the caller may
//     block SIGINT or SIGTERM to take them in a thread of its own; the child has no such
//     thread), so that a crash, Ctrl-C or SIGTERM ends it instead of running the parent's
//     handlers; a signal the caller ignores (SIG_IGN, as nohup does) stays ignored;
//   - keeps only its ends of two pipes (results on fd 3, stderr on fd 2) and /dev/null as stdin
//     and stdout: it cannot write to the parent's files or sockets, and it prints nothing to the
//     parent's output;
//   - limits itself, soft limit = hard limit so that it cannot raise them again: address space
//     to what it inherited (its own VmSize, read without allocating) plus `memory_bytes` (RLIMIT_AS), CPU time to
//     `cpu_seconds` (RLIMIT_CPU: SIGXCPU, then SIGKILL a second later), no file it may grow (RLIMIT_FSIZE 0), 64
//     descriptors, no core dump (RLIMIT_CORE 0 and not dumpable: a dump of the process holds the parent's memory);
//   - runs work(out), sends what it wrote and how work ended (returned, Error, std::bad_alloc,
//     another exception), and leaves with _exit: no atexit handler, no static destructor, no
//     flush of the stdio buffers it inherited.
// The parent reads both pipes as they fill (a child that sends more than a pipe holds never waits
// for the parent; at most 1 MiB per pipe between two looks at the clock), stops the child
// (SIGKILL, through a pidfd where the kernel has them, so that no reused pid is ever signalled)
// after `wall_seconds` (a child blocked on a lock that another thread held at the fork uses no
// CPU), as soon as it sends more than `max_output_bytes` or a stream that cannot be decoded,
// reaps it, and decodes what it sent as hostile input (ContainedStreamDecoder).
//
// What the parent passes on of the child's words (an 'E' or 'F' message, a line of its stderr)
// is at most kChildMessageBytes, every byte outside printable ASCII replaced by '?', in quotes
// after the caller's `where` and "reading it in a separate process": it never stands as an
// Error of the parent's own.
//
// AddressSanitizer reserves terabytes of address space (its shadow) when the program starts,
// before any fork; the address-space limit is relative to what the child inherits, so it holds
// in sanitizer builds too. There a child that reaches it ends through ASan's out-of-memory report
// (exit status 1) instead of std::bad_alloc, and the limit is doubled plus 256 MiB for ASan's
// redzones and its quarantine of freed memory. One more difference there: LLVM 14's ASan
// allocator is not made safe for fork (glibc's malloc is), so a fork while another thread is
// inside ASan's malloc can leave the child waiting on ASan's lock for good; the wall time limit
// turns that into an Error.
//
// Wire format (frames of core/frame_codec.h), child to parent:
//   'O' output   bytes out.write() was given, in order (buffered into frames of up to 64 KiB)
//   then exactly one last frame:
//   'R' returned (empty)   'E' rnnkit::Error (its message)   'M' std::bad_alloc (empty)
//   'F' another exception (its what(), or a note that it had none)
// A message is at most kChildMessageBytes (the child cuts a longer one, ending it with "...");
// the parent refuses a longer one as a garbled stream.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frame_codec.h"

namespace rnnkit::detail {

struct ContainmentLimits {
  uint64_t memory_bytes = uint64_t{1} << 30;      // address space beyond what the child inherits
  int64_t cpu_seconds = 30;                       // CPU time (user + system)
  int64_t wall_seconds = 90;                      // time in all, measured by the parent
  uint64_t max_output_bytes = uint64_t{1} << 30;  // what the child may send, frames included
  // How much output to make room for at once, from what the caller knows, not from anything
  // the child says: room made as it arrives is copied each time it doubles. At most
  // kContainedReserveBytes is made at once (a large file that is not what the caller expects
  // must not commit gigabytes before the child has said anything); beyond that it grows.
  uint64_t expected_output_bytes = 0;
};

inline constexpr uint64_t kContainedReserveBytes = uint64_t{64} << 20;
inline constexpr std::size_t kChildMessageBytes = 4096;

// A message of the child's, cut to kChildMessageBytes (its last bytes "..." where it was cut).
std::string fit_child_message(std::string_view message);
// The child's words as the parent passes them on: "<where>: reading it in a separate process:
// '<text>'", `text` without a leading "<where>: " or "<where>, " (the message names the file already), at most
// kChildMessageBytes of it, every byte outside printable ASCII as '?'.
std::string child_message(const std::string& where, std::string_view text);

// The child's end of the result pipe: work's output, buffered into 'O' frames. Made only by
// run_contained, in the child.
class ContainedOutput {
 public:
  void write(std::span<const std::byte> bytes);
  // Sends what is buffered. A pipe that breaks (the parent stopped reading) ends the child.
  void flush();

 private:
  explicit ContainedOutput(int fd) noexcept : fd_(fd) {}
  friend std::vector<std::byte> run_contained(const std::function<void(ContainedOutput&)>& work,
                                              const ContainmentLimits& limits, const std::string& where,
                                              const std::string& who);

  int fd_;
  std::vector<std::byte> buffer_;  // room made at the first write
};

// Runs work(out) in a child process under `limits` and returns the bytes work wrote to `out`.
// An Error thrown by work reaches the caller as child_message(where, its message). Every other
// end is an Error "<where>: <who>, run in a separate process limited to ..., <what happened>":
// killed by a signal (named), over its CPU time, over its wall time, out of memory, sending too
// much or a garbled stream, exiting without a result; std::bad_alloc in this process while it
// holds what the child sent is such an Error too. Never prints, exits or aborts the caller.
std::vector<std::byte> run_contained(const std::function<void(ContainedOutput&)>& work, const ContainmentLimits& limits,
                                     const std::string& where, const std::string& who);

// Whether this build runs under AddressSanitizer (see above on what differs there).
bool built_with_address_sanitizer();

// How the child's work ended, as its stream says.
struct ContainedEnding {
  enum class How { returned, error, out_of_memory, failure };
  How how = How::returned;
  std::vector<std::byte> output;  // 'O' payloads, concatenated (kept only when work returned)
  std::string message;            // for error and failure
};

// Decodes the child's stream as it arrives, in pieces of any size. feed() and finish() throw
// Error describing the first thing wrong (an unknown kind, a frame after the last one, a last
// frame with a payload it must not have, a message longer than kChildMessageBytes, a stream
// that stops inside a frame or before its last frame); the caller adds who sent it. Allocates
// only for payload bytes that have arrived, beyond the room made at once.
class ContainedStreamDecoder {
 public:
  ContainedStreamDecoder() = default;
  // With room for `expected` bytes of output (the caller's estimate, at most
  // kContainedReserveBytes) made at once.
  explicit ContainedStreamDecoder(uint64_t expected) {
    ending_.output.reserve(static_cast<std::size_t>(std::min(expected, kContainedReserveBytes)));
  }
  void feed(std::span<const std::byte> bytes);
  ContainedEnding finish();

 private:
  void start_frame();

  std::byte header_[kFrameHeaderBytes] = {};
  std::size_t header_fill_ = 0;
  uint8_t kind_ = 0;
  uint64_t payload_left_ = 0;  // of the current frame
  bool in_payload_ = false;
  bool ended_ = false;  // the last frame is complete
  ContainedEnding ending_;
};

}  // namespace rnnkit::detail

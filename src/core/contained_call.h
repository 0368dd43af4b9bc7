// Internal: running code that may crash, hang or run away (a library that was not written for
// hostile input) in a child process with resource limits, and getting back only the bytes it
// sends, or how it failed, as an Error.
//
// run_contained forks. Only the calling thread exists in the child, so the child uses only what
// its work needs (not OpenMP, OpenBLAS or another thread's locks) and, first of all:
//   - dies with the thread that forked it (PR_SET_PDEATHSIG);
//   - resets every signal handler to the default and unblocks the signals of faults and limits,
//     so that a crash ends it instead of running the parent's handlers;
//   - keeps only its ends of two pipes (results on fd 3, stderr on fd 2) and /dev/null as stdin
//     and stdout: it cannot write to the parent's files or sockets, and it prints nothing to the
//     parent's output;
//   - limits itself, soft limit = hard limit so that it cannot raise them again: address space
//     to what it inherited plus `memory_bytes` (RLIMIT_AS), CPU time to `cpu_seconds`
//     (RLIMIT_CPU: SIGXCPU, then SIGKILL a second later), no file it may grow (RLIMIT_FSIZE 0),
//     64 descriptors, no core dump (RLIMIT_CORE 0 and not dumpable: a dump of the process holds
//     the parent's memory);
//   - runs work(out), sends what it wrote and how work ended (returned, Error, std::bad_alloc,
//     another exception), and leaves with _exit: no atexit handler, no static destructor, no
//     flush of the stdio buffers it inherited.
// The parent reads both pipes as they fill (a child that sends more than a pipe holds never waits
// for the parent), stops the child (SIGKILL) after `wall_seconds` (a child blocked on a lock that
// another thread held at the fork uses no CPU) or when it sends more than `max_output_bytes`,
// reaps it, and decodes what it sent as hostile input (ContainedStreamDecoder).
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
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "frame_codec.h"

namespace rnnkit::detail {

struct ContainmentLimits {
  uint64_t memory_bytes = uint64_t{1} << 30;      // address space beyond what the child inherits
  int64_t cpu_seconds = 30;                       // CPU time (user + system)
  int64_t wall_seconds = 90;                      // time in all, measured by the parent
  uint64_t max_output_bytes = uint64_t{1} << 30;  // what the child may send, frames included
  // How much output to make room for at once (at most max_output_bytes), from what the caller
  // knows, not from anything the child says: room made as it arrives would be copied each time
  // it doubles.
  uint64_t expected_output_bytes = 0;
};

// The child's end of the result pipe: work's output, buffered into 'O' frames.
class ContainedOutput {
 public:
  explicit ContainedOutput(int fd);
  void write(std::span<const std::byte> bytes);
  // Sends what is buffered. A pipe that breaks (the parent stopped reading) ends the child.
  void flush();

 private:
  int fd_;
  std::vector<std::byte> buffer_;
};

// Runs work(out) in a child process under `limits` and returns the bytes work wrote to `out`.
// An Error thrown by work reaches the caller as an Error with the same message. Every other
// end is an Error "<where>: <who>, run in a separate process limited to ..., <what happened>":
// killed by a signal (named), over its CPU time, over its wall time, out of memory, sending too
// much or a garbled stream, exiting without a result. Never prints, exits or aborts the caller.
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
// frame with a payload it must not have, a stream that stops inside a frame or before its last
// frame); the caller adds who sent it. Allocates only for payload bytes that have arrived.
class ContainedStreamDecoder {
 public:
  ContainedStreamDecoder() = default;
  // With room for `expected` bytes of output made at once (the caller's estimate).
  explicit ContainedStreamDecoder(std::size_t expected) { ending_.output.reserve(expected); }
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

// Running work in a limited child process; see contained_call.h.
#include "contained_call.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <optional>
#include <thread>

#include "frame_codec.h"
#include "rnnkit/core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define RNNKIT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RNNKIT_UNDER_ASAN 1
#endif
#endif
#ifndef RNNKIT_UNDER_ASAN
#define RNNKIT_UNDER_ASAN 0
#endif

namespace rnnkit::detail {
namespace {

constexpr uint8_t kOutputFrame = 'O';
constexpr uint8_t kReturnedFrame = 'R';
constexpr uint8_t kErrorFrame = 'E';
constexpr uint8_t kOutOfMemoryFrame = 'M';
constexpr uint8_t kFailureFrame = 'F';

constexpr int kResultFd = 3;
constexpr std::size_t kOutputBufferBytes = std::size_t{64} << 10;
constexpr std::size_t kStderrKeptBytes = std::size_t{16} << 10;
constexpr int kChildDescriptors = 64;
// Exit statuses of the child's own troubles, which the parent names.
constexpr int kExitWriteFailed = 120;  // its result pipe broke
constexpr int kExitSetupFailed = 121;  // it could not set up its descriptors or limits
constexpr int kExitParentGone = 122;   // the forking thread ended before the child started
constexpr uint64_t kMiB = uint64_t{1} << 20;

std::string system_reason(int error) {
  char buffer[256];
  return strerror_r(error, buffer, sizeof buffer);  // GNU strerror_r returns the message
}

// What the child may add to its address space in this build (see contained_call.h on ASan).
uint64_t memory_allowance(const ContainmentLimits& limits) {
  const uint64_t m = std::min(limits.memory_bytes, uint64_t{1} << 50);
  return RNNKIT_UNDER_ASAN ? 2 * m + 256 * kMiB : m;
}

// This process's address space (VmSize), which the child inherits; nullopt where /proc does not tell.
std::optional<uint64_t> address_space_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) {
      try {
        return uint64_t{std::stoull(line.substr(7))} * 1024;  // "VmSize:   123456 kB"
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::string limits_text(const ContainmentLimits& limits, bool memory_limited) {
  const std::string memory =
      memory_limited ? std::to_string(memory_allowance(limits) / kMiB) + " MiB of memory beyond what it inherits"
                     : "no memory limit (its address space could not be read)";
  return memory + ", " + std::to_string(limits.cpu_seconds) + " s of CPU and " + std::to_string(limits.wall_seconds) +
         " s in all";
}

// Writes everything, through EINTR and partial writes; false when the pipe broke.
bool write_all(int fd, const void* data, std::size_t size) {
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

bool write_frame_header(int fd, uint8_t kind, uint64_t length) {
  std::byte header[kFrameHeaderBytes];
  header[0] = static_cast<std::byte>(kind);
  std::memcpy(header + 1, &length, sizeof length);
  return write_all(fd, header, sizeof header);
}

// --- The child ---------------------------------------------------------------------------

struct ChildSetup {
  pid_t parent = 0;
  int result_fd = -1;  // write ends, as the fork left them
  int stderr_fd = -1;
  std::optional<uint64_t> address_space;  // RLIMIT_AS to set, if known
  int64_t cpu_seconds = 0;
};

bool lower_limit(int resource, uint64_t soft, uint64_t hard) {
  rlimit current{};
  if (getrlimit(resource, &current) != 0) return false;
  rlimit next{};
  next.rlim_max = std::min<rlim_t>(current.rlim_max, static_cast<rlim_t>(hard));
  next.rlim_cur = std::min<rlim_t>(next.rlim_max, static_cast<rlim_t>(soft));
  return setrlimit(resource, &next) == 0;
}

void reset_signals() {
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    struct sigaction old {};
    if (sigaction(s, nullptr, &old) != 0) continue;  // glibc's own signals: not ours to touch
    const bool handled = (old.sa_flags & SA_SIGINFO) != 0 || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    const bool must_end = s == SIGPIPE || s == SIGXCPU || s == SIGXFSZ;
    if (handled || must_end) {
      struct sigaction initial {};
      initial.sa_handler = SIG_DFL;
      sigemptyset(&initial.sa_mask);
      sigaction(s, &initial, nullptr);
    }
  }
  sigset_t fatal;
  sigemptyset(&fatal);
  for (const int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGXCPU, SIGXFSZ, SIGPIPE}) {
    sigaddset(&fatal, s);
  }
  sigprocmask(SIG_UNBLOCK, &fatal, nullptr);
}

// stdin and stdout /dev/null, stderr and results the pipes, nothing else open.
bool arrange_descriptors(const ChildSetup& setup) {
  // Above every target first, so that no dup2 below overwrites a descriptor still needed.
  const int result = fcntl(setup.result_fd, F_DUPFD, 10);
  const int err = fcntl(setup.stderr_fd, F_DUPFD, 10);
  if (result < 0 || err < 0) return false;
  const int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0) return false;
  } else {
    close(STDIN_FILENO);
    close(STDOUT_FILENO);
  }
  if (dup2(err, STDERR_FILENO) < 0 || dup2(result, kResultFd) < 0) return false;
  if (close_range(kResultFd + 1, ~0U, 0) != 0) {
    const long most = sysconf(_SC_OPEN_MAX);
    for (long fd = kResultFd + 1; fd < (most > 0 ? most : 1024); ++fd) close(static_cast<int>(fd));
  }
  return true;
}

bool apply_limits(const ChildSetup& setup) {
  bool ok = lower_limit(RLIMIT_CORE, 0, 0) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 &&
            lower_limit(RLIMIT_FSIZE, 0, 0) && lower_limit(RLIMIT_NOFILE, kChildDescriptors, kChildDescriptors);
  const auto cpu = static_cast<uint64_t>(std::max<int64_t>(setup.cpu_seconds, 1));
  ok = ok && lower_limit(RLIMIT_CPU, cpu, cpu + 1);
  if (setup.address_space) ok = ok && lower_limit(RLIMIT_AS, *setup.address_space, *setup.address_space);
  return ok;
}

[[noreturn]] void end_child(int fd, uint8_t kind, const char* message) {
  const std::size_t length = std::strlen(message);
  if (!write_frame_header(fd, kind, length) || !write_all(fd, message, length)) _exit(kExitWriteFailed);
  _exit(0);
}

[[noreturn]] void child_main(const std::function<void(ContainedOutput&)>& work, const ChildSetup& setup) noexcept {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(kExitSetupFailed);
  if (getppid() != setup.parent) _exit(kExitParentGone);
  reset_signals();
  if (!arrange_descriptors(setup) || !apply_limits(setup)) _exit(kExitSetupFailed);
  try {
    ContainedOutput out(kResultFd);
    work(out);
    out.flush();
  } catch (const Error& e) {
    end_child(kResultFd, kErrorFrame, e.what());
  } catch (const std::bad_alloc&) {
    end_child(kResultFd, kOutOfMemoryFrame, "");
  } catch (const std::exception& e) {
    end_child(kResultFd, kFailureFrame, e.what());
  } catch (...) {
    end_child(kResultFd, kFailureFrame, "it threw something that is not a std::exception");
  }
  end_child(kResultFd, kReturnedFrame, "");
}

// --- The parent --------------------------------------------------------------------------

class Descriptor {
 public:
  explicit Descriptor(int fd = -1) : fd_(fd) {}
  ~Descriptor() { reset(); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct Pipe {
  Descriptor read_end, write_end;
};

Pipe make_pipe(const std::string& prefix) {
  int fds[2];
  // O_CLOEXEC: a program another thread starts (fork + exec) does not inherit these.
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(prefix + " could not start: pipe: " + system_reason(errno));
  return {Descriptor(fds[0]), Descriptor(fds[1])};
}

// The child until it is reaped: killed and reaped if the parent leaves early (an exception).
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void stop() const { kill(pid_, SIGKILL); }
  // Whether it has ended, without waiting.
  bool ended() {
    if (!reaped_) wait(WNOHANG);
    return reaped_;
  }
  void wait_for_end() {
    while (!reaped_) wait(0);
  }
  // Status as waitpid reports it; nullopt when it was reaped by someone else (SIGCHLD ignored,
  // or a handler that waits for any child).
  std::optional<int> status() const { return status_; }
  double cpu_seconds() const { return cpu_seconds_; }

 private:
  void wait(int options) {
    int status = 0;
    rusage usage{};
    const pid_t r = wait4(pid_, &status, options, &usage);
    if (r == pid_) {
      reaped_ = true;
      status_ = status;
      cpu_seconds_ = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
    } else if (r < 0 && errno == ECHILD) {
      reaped_ = true;
    }
  }

  pid_t pid_;
  bool reaped_ = false;
  std::optional<int> status_;
  double cpu_seconds_ = 0.0;
};

// The first line of the child's stderr that says something, made printable and short.
std::string said(const std::string& text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    const std::string line = text.substr(begin, end - begin);
    if (std::any_of(line.begin(), line.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
      std::string out;
      for (const char c : line.substr(0, 300)) out += c >= 0x20 && c < 0x7f ? c : '?';
      return "; it said: '" + out + (line.size() > 300 ? "...'" : "'");
    }
    begin = end + 1;
  }
  return "";
}

std::string signal_text(int signal) {
  const char* description = sigdescr_np(signal);
  return "signal " + std::to_string(signal) + " (" + (description != nullptr ? description : "unknown") + ")";
}

void make_nonblocking(int fd, const std::string& prefix) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw Error(prefix + " could not start: fcntl: " + system_reason(errno));
  }
}

}  // namespace

bool built_with_address_sanitizer() { return RNNKIT_UNDER_ASAN != 0; }

ContainedOutput::ContainedOutput(int fd) : fd_(fd) { buffer_.reserve(kOutputBufferBytes); }

void ContainedOutput::write(std::span<const std::byte> bytes) {
  if (buffer_.size() + bytes.size() > kOutputBufferBytes) flush();
  if (bytes.size() >= kOutputBufferBytes) {
    if (!write_frame_header(fd_, kOutputFrame, bytes.size()) || !write_all(fd_, bytes.data(), bytes.size())) {
      _exit(kExitWriteFailed);
    }
    return;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void ContainedOutput::flush() {
  if (buffer_.empty()) return;
  if (!write_frame_header(fd_, kOutputFrame, buffer_.size()) || !write_all(fd_, buffer_.data(), buffer_.size())) {
    _exit(kExitWriteFailed);
  }
  buffer_.clear();
}

void ContainedStreamDecoder::start_frame() {
  kind_ = static_cast<uint8_t>(header_[0]);
  std::memcpy(&payload_left_, header_ + 1, sizeof payload_left_);
  header_fill_ = 0;
  const bool last = kind_ != kOutputFrame;
  if (kind_ != kOutputFrame && kind_ != kReturnedFrame && kind_ != kErrorFrame && kind_ != kOutOfMemoryFrame &&
      kind_ != kFailureFrame) {
    throw Error("a frame of unknown kind " + std::to_string(kind_));
  }
  if ((kind_ == kReturnedFrame || kind_ == kOutOfMemoryFrame) && payload_left_ != 0) {
    throw Error("its last frame carries " + std::to_string(payload_left_) + " bytes, where it carries none");
  }
  ending_.how = kind_ == kErrorFrame         ? ContainedEnding::How::error
                : kind_ == kOutOfMemoryFrame ? ContainedEnding::How::out_of_memory
                : kind_ == kFailureFrame     ? ContainedEnding::How::failure
                                             : ContainedEnding::How::returned;
  in_payload_ = payload_left_ > 0;
  ended_ = last && !in_payload_;
}

void ContainedStreamDecoder::feed(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    if (ended_) throw Error(std::to_string(bytes.size()) + " bytes follow its last frame");
    if (!in_payload_) {
      const std::size_t n = std::min(bytes.size(), kFrameHeaderBytes - header_fill_);
      std::memcpy(header_ + header_fill_, bytes.data(), n);
      header_fill_ += n;
      bytes = bytes.subspan(n);
      if (header_fill_ == kFrameHeaderBytes) start_frame();
      continue;
    }
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(bytes.size(), payload_left_));
    if (kind_ == kOutputFrame) {
      ending_.output.insert(ending_.output.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    } else {
      ending_.message.append(reinterpret_cast<const char*>(bytes.data()), n);
    }
    payload_left_ -= n;
    bytes = bytes.subspan(n);
    if (payload_left_ == 0) {
      in_payload_ = false;
      ended_ = kind_ != kOutputFrame;
    }
  }
}

ContainedEnding ContainedStreamDecoder::finish() {
  if (in_payload_) throw Error("its stream stops " + std::to_string(payload_left_) + " bytes before a frame's end");
  if (header_fill_ > 0) throw Error("its stream stops inside a frame's header");
  if (!ended_) throw Error("its stream stops before its last frame");
  if (ending_.how != ContainedEnding::How::returned) ending_.output.clear();
  return std::move(ending_);
}

std::vector<std::byte> run_contained(const std::function<void(ContainedOutput&)>& work, const ContainmentLimits& limits,
                                     const std::string& where, const std::string& who) {
  ChildSetup setup;
  setup.parent = getpid();
  setup.cpu_seconds = limits.cpu_seconds;
  const std::optional<uint64_t> inherited = address_space_bytes();
  if (inherited) setup.address_space = *inherited + memory_allowance(limits);
  const std::string prefix = where + ": " + who + ", run in a separate process limited to " +
                             limits_text(limits, setup.address_space.has_value()) + ",";

  Pipe results = make_pipe(prefix);
  Pipe errors = make_pipe(prefix);
  setup.result_fd = results.write_end.get();
  setup.stderr_fd = errors.write_end.get();
  const pid_t pid = fork();
  if (pid < 0) throw Error(prefix + " could not start: fork: " + system_reason(errno));
  if (pid == 0) child_main(work, setup);
  Child child(pid);
  results.write_end.reset();  // the child's ends: EOF once it has gone
  errors.write_end.reset();
  make_nonblocking(results.read_end.get(), prefix);
  make_nonblocking(errors.read_end.get(), prefix);

  // Read both pipes until both close, the child ends, or a limit is reached.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(std::max<int64_t>(limits.wall_seconds, 1));
  ContainedStreamDecoder decoder(
      static_cast<std::size_t>(std::min({limits.expected_output_bytes, limits.max_output_bytes, uint64_t{1} << 40})));
  std::string garbled;  // the decoder's complaint, once it has one
  uint64_t received = 0;
  std::string stderr_text;
  bool timed_out = false, too_much = false;
  pollfd fds[2] = {{results.read_end.get(), POLLIN, 0}, {errors.read_end.get(), POLLIN, 0}};
  std::vector<std::byte> chunk(kOutputBufferBytes + kFrameHeaderBytes);
  // Reads what fds[k] holds now; false once it is closed.
  auto drain = [&](int k) {
    while (true) {
      const ssize_t n = read(fds[k].fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      if (n == 0) return false;
      const auto size = static_cast<std::size_t>(n);
      if (k == 1) {
        stderr_text.append(reinterpret_cast<const char*>(chunk.data()),
                           std::min(size, kStderrKeptBytes - std::min(kStderrKeptBytes, stderr_text.size())));
        continue;
      }
      received += size;
      if (received > limits.max_output_bytes) {
        too_much = true;
        return false;
      }
      if (garbled.empty()) {
        try {
          decoder.feed(std::span(chunk.data(), size));
        } catch (const Error& e) {
          garbled = e.what();
        }
      }
    }
  };
  while ((fds[0].fd >= 0 || fds[1].fd >= 0) && !too_much) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    // At most 250 ms per wait: a pipe another thread's child still holds open never reports its
    // end, so the child's own end is looked for too.
    const int ready = poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 250)));
    if (ready < 0 && errno != EINTR) throw Error(prefix + ": poll: " + system_reason(errno));
    if (ready == 0 && child.ended()) {
      for (int k = 0; k < 2; ++k) {
        if (fds[k].fd >= 0) drain(k);
        fds[k].fd = -1;
      }
      break;
    }
    for (int k = 0; k < 2 && ready > 0; ++k) {
      if (fds[k].fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !drain(k)) fds[k].fd = -1;
    }
  }
  // Its pipes closed: it is ending, or it closed them and goes on; the deadline holds either way.
  for (auto pause = std::chrono::microseconds(200); !timed_out && !too_much && !child.ended();
       pause = std::min(2 * pause, std::chrono::microseconds(20000))) {
    if (Clock::now() >= deadline) timed_out = true;
    std::this_thread::sleep_for(pause);
  }
  if (timed_out || too_much) child.stop();
  child.wait_for_end();

  if (timed_out) throw Error(prefix + " did not finish within " + std::to_string(limits.wall_seconds) + " s");
  if (too_much) throw Error(prefix + " sent more than " + std::to_string(limits.max_output_bytes) + " bytes");
  const std::string words = said(stderr_text);
  if (const std::optional<int> status = child.status(); status && WIFSIGNALED(*status)) {
    const int signal = WTERMSIG(*status);
    if (signal == SIGXCPU || (signal == SIGKILL && child.cpu_seconds() >= static_cast<double>(limits.cpu_seconds))) {
      char used[32];
      std::snprintf(used, sizeof used, "%.1f", child.cpu_seconds());
      throw Error(prefix + " exceeded its CPU time (killed by " + signal_text(signal) + " after " + used +
                  " s of CPU)" + words);
    }
    throw Error(prefix + " was killed by " + signal_text(signal) + words);
  } else if (status && WEXITSTATUS(*status) != 0) {
    const int code = WEXITSTATUS(*status);
    const std::string why = code == kExitWriteFailed   ? " (its result pipe broke)"
                            : code == kExitSetupFailed ? " (it could not set up its descriptors and limits)"
                            : code == kExitParentGone  ? " (the thread that started it had ended)"
                                                       : "";
    throw Error(prefix + " ended with exit status " + std::to_string(code) + why + " before sending its result" +
                words);
  }
  // Exited with status 0, or reaped by someone else (then only a complete stream counts).
  ContainedEnding ending;
  try {
    if (!garbled.empty()) throw Error(garbled);
    ending = decoder.finish();
  } catch (const Error& e) {
    const std::string how = child.status() ? "" : " (its exit status was taken by someone else: is SIGCHLD ignored?)";
    throw Error(prefix + " sent a garbled result: " + e.what() + how + words);
  }
  switch (ending.how) {
    case ContainedEnding::How::returned: return std::move(ending.output);
    case ContainedEnding::How::error:
      if (ending.message.empty()) throw Error(prefix + " reported an error without a message");
      throw Error(ending.message);
    case ContainedEnding::How::out_of_memory: throw Error(prefix + " ran out of memory");
    case ContainedEnding::How::failure: break;
  }
  throw Error(prefix + " failed: " + ending.message);
}

}  // namespace rnnkit::detail

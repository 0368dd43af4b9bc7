// Running work in a limited child process; see contained_call.h.
#include "contained_call.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <thread>

#include "descriptor_io.h"
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
// Reads of up to 64 KiB from one pipe before the parent looks at its clock again.
constexpr int kReadsPerLook = 16;
constexpr char kCutMarker[] = "...";
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

// Whether the child can read its address space from /proc (it fails to start otherwise).
bool address_space_readable() { return access("/proc/self/status", R_OK) == 0; }

std::string limits_text(const ContainmentLimits& limits, bool memory_limited) {
  const std::string memory =
      memory_limited ? std::to_string(memory_allowance(limits) / kMiB) + " MiB of memory beyond what it inherits"
                     : "no memory limit (/proc/self/status, its address space, cannot be read)";
  return memory + ", " + std::to_string(limits.cpu_seconds) + " s of CPU and " + std::to_string(limits.wall_seconds) +
         " s in all";
}

bool write_frame_header(int fd, uint8_t kind, uint64_t length) {
  std::byte header[kFrameHeaderBytes];
  header[0] = static_cast<std::byte>(kind);
  std::memcpy(header + 1, &length, sizeof length);
  return write_fully(fd, header, sizeof header);
}

// --- The child ---------------------------------------------------------------------------

struct ChildSetup {
  pid_t parent = 0;
  int result_fd = -1;  // write ends, as the fork left them
  int stderr_fd = -1;
  bool limit_memory = false;  // RLIMIT_AS to the child's own address space + memory_allowance
  uint64_t memory_allowance = 0;
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
    // Signals of faults and limits end it even where the parent ignores them.
    const bool must_end = s == SIGPIPE || s == SIGXCPU || s == SIGXFSZ || s == SIGSEGV || s == SIGBUS || s == SIGFPE ||
                          s == SIGILL || s == SIGABRT || s == SIGSYS;
    if (handled || must_end) {
      struct sigaction initial {};
      initial.sa_handler = SIG_DFL;
      sigemptyset(&initial.sa_mask);
      sigaction(s, &initial, nullptr);
    }
  }
  // None blocked: the caller may block SIGINT and SIGTERM to take them in a thread of its own,
  // and the child has no such thread; Ctrl-C and SIGTERM must reach it.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
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

bool apply_limits(const ChildSetup& setup, uint64_t address_space) {
  bool ok = lower_limit(RLIMIT_CORE, 0, 0) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 &&
            lower_limit(RLIMIT_FSIZE, 0, 0) && lower_limit(RLIMIT_NOFILE, kChildDescriptors, kChildDescriptors);
  const auto cpu = static_cast<uint64_t>(std::max<int64_t>(setup.cpu_seconds, 1));
  ok = ok && lower_limit(RLIMIT_CPU, cpu, cpu + 1);
  if (setup.limit_memory) ok = ok && lower_limit(RLIMIT_AS, address_space, address_space);
  return ok;
}

// The last frame, its message cut to kChildMessageBytes (without allocating: it may follow
// std::bad_alloc).
[[noreturn]] void end_child(int fd, uint8_t kind, const char* message) {
  const std::size_t length = std::strlen(message);
  const bool cut = length > kChildMessageBytes;
  const std::size_t kept = cut ? kChildMessageBytes - (sizeof kCutMarker - 1) : length;
  if (!write_frame_header(fd, kind, cut ? kChildMessageBytes : length) || !write_fully(fd, message, kept) ||
      (cut && !write_fully(fd, kCutMarker, sizeof kCutMarker - 1))) {
    _exit(kExitWriteFailed);
  }
  _exit(0);
}

[[noreturn]] void child_main(const std::function<void(ContainedOutput&)>& work, const ChildSetup& setup,
                             ContainedOutput& out) noexcept {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(kExitSetupFailed);
  if (getppid() != setup.parent) _exit(kExitParentGone);
  reset_signals();
  uint64_t address_space = 0;
  if (setup.limit_memory) {
    const uint64_t inherited = address_space_bytes();
    if (inherited == 0) _exit(kExitSetupFailed);
    address_space = inherited + std::min(setup.memory_allowance, ~uint64_t{0} - inherited);
  }
  if (!arrange_descriptors(setup) || !apply_limits(setup, address_space)) _exit(kExitSetupFailed);
  try {
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
// Signalled and waited for through a pidfd where the kernel has them (Linux 5.3 and 5.4): a
// program that ignores SIGCHLD has its children reaped by the kernel, and their pids may be
// reused at once, by a child another thread starts, say; a pidfd names this process alone.
// Without one (ENOSYS), by its pid.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd_ >= 0) fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
  }
  ~Child() {
    if (!reaped_) {
      stop();
      wait_for_end();
    }
    if (pidfd_ >= 0) close(pidfd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Readable once the child has ended; -1 without pidfds.
  int pidfd() const { return pidfd_; }
  void stop() const {
    if (reaped_) return;
    if (pidfd_ >= 0) {
      syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    } else {
      kill(pid_, SIGKILL);
    }
  }
  // Whether it has ended, without waiting.
  bool ended() {
    if (!reaped_) wait(WNOHANG);
    return reaped_;
  }
  void wait_for_end() {
    while (!reaped_) wait(0);
  }
  // How it ended; nullopt when it was reaped by someone else (SIGCHLD ignored, or a handler that
  // waits for any child).
  struct End {
    bool signalled = false;
    int code = 0;  // the signal, or the exit status
  };
  std::optional<End> end() const { return end_; }
  double cpu_seconds() const { return cpu_seconds_; }

 private:
  void wait(int options) {
    rusage usage{};
    if (pidfd_ >= 0 && !waitid_refused_) {
      siginfo_t info{};
      // The system call, not glibc's waitid: it reports the child's resource use too.
      if (syscall(SYS_waitid, P_PIDFD, pidfd_, &info, WEXITED | options, &usage) == 0) {
        if (info.si_pid == 0) return;  // WNOHANG, still running
        const bool exited = info.si_code == CLD_EXITED;
        record_end(End{!exited, info.si_status}, usage);
      } else if (errno == ECHILD) {
        reaped_ = true;
      } else if (errno != EINTR) {
        waitid_refused_ = true;  // EINVAL on Linux 5.3 (pidfd_open, but no P_PIDFD): by pid, then
      }
      return;
    }
    int status = 0;
    const pid_t r = wait4(pid_, &status, options, &usage);
    if (r == pid_) {
      record_end(WIFSIGNALED(status) ? End{true, WTERMSIG(status)} : End{false, WEXITSTATUS(status)}, usage);
    } else if (r < 0 && errno != EINTR) {
      reaped_ = true;  // ECHILD: reaped by someone else
    }
  }
  void record_end(End how, const rusage& usage) {
    reaped_ = true;
    end_ = how;
    cpu_seconds_ = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                   static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  }

  pid_t pid_;
  int pidfd_ = -1;
  bool waitid_refused_ = false;
  bool reaped_ = false;
  std::optional<End> end_;
  double cpu_seconds_ = 0.0;
};

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) out += c >= 0x20 && c < 0x7f ? c : '?';
  return out;
}

// The first line of the child's stderr that says something, made printable and short.
std::string said(const std::string& text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    const std::string_view line = std::string_view(text).substr(begin, end - begin);
    if (std::any_of(line.begin(), line.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
      return "; it said: '" + printable(line.substr(0, 300)) + (line.size() > 300 ? "...'" : "'");
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

std::string fit_child_message(std::string_view message) {
  if (message.size() <= kChildMessageBytes) return std::string(message);
  return std::string(message.substr(0, kChildMessageBytes - (sizeof kCutMarker - 1))) + kCutMarker;
}

std::string child_message(const std::string& where, std::string_view text) {
  const std::string named = where + ": ";
  // The child names the file as the caller does ("<where>: ..." or "<where>, layer ..."): once is enough.
  for (const std::string& again : {named, where + ", "}) {
    if (text.substr(0, again.size()) == again) {
      text.remove_prefix(again.size());
      break;
    }
  }
  return named + "reading it in a separate process: '" + printable(text.substr(0, kChildMessageBytes)) +
         (text.size() > kChildMessageBytes ? "...'" : "'");
}

void ContainedOutput::write(std::span<const std::byte> bytes) {
  if (buffer_.size() + bytes.size() > kOutputBufferBytes) flush();
  if (bytes.size() >= kOutputBufferBytes) {
    if (!write_frame_header(fd_, kOutputFrame, bytes.size()) || !write_fully(fd_, bytes.data(), bytes.size())) {
      _exit(kExitWriteFailed);
    }
    return;
  }
  if (buffer_.capacity() == 0) buffer_.reserve(kOutputBufferBytes);
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void ContainedOutput::flush() {
  if (buffer_.empty()) return;
  if (!write_frame_header(fd_, kOutputFrame, buffer_.size()) || !write_fully(fd_, buffer_.data(), buffer_.size())) {
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
  if ((kind_ == kErrorFrame || kind_ == kFailureFrame) && payload_left_ > kChildMessageBytes) {
    throw Error("its message claims " + std::to_string(payload_left_) + " bytes, more than the " +
                std::to_string(kChildMessageBytes) + " a message may have");
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
      ending_.message.append(reinterpret_cast<const char*>(bytes.data()), n);  // <= kChildMessageBytes in all
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
  setup.limit_memory = address_space_readable();
  setup.memory_allowance = memory_allowance(limits);
  const std::string prefix =
      where + ": " + who + ", run in a separate process limited to " + limits_text(limits, setup.limit_memory) + ",";

  // Room for what the caller expects (at most kContainedReserveBytes), made before the fork.
  std::optional<ContainedStreamDecoder> decoder;
  std::vector<std::byte> chunk;
  try {
    decoder.emplace(std::min(limits.expected_output_bytes, limits.max_output_bytes));
    chunk.resize(kOutputBufferBytes + kFrameHeaderBytes);
  } catch (const std::bad_alloc&) {
    throw Error(prefix + " could not start: no memory for its result");
  }
  Pipe results = make_pipe(prefix);
  Pipe errors = make_pipe(prefix);
  setup.result_fd = results.write_end.get();
  setup.stderr_fd = errors.write_end.get();
  const pid_t pid = fork();
  if (pid < 0) throw Error(prefix + " could not start: fork: " + system_reason(errno));
  if (pid == 0) {
    ContainedOutput out(kResultFd);
    child_main(work, setup, out);
  }
  Child child(pid);
  results.write_end.reset();  // the child's ends: EOF once it has gone
  errors.write_end.reset();
  make_nonblocking(results.read_end.get(), prefix);
  make_nonblocking(errors.read_end.get(), prefix);

  // Read both pipes until both close, the child ends, or a limit is reached.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(std::max<int64_t>(limits.wall_seconds, 1));
  std::string garbled;  // the decoder's complaint, once it has one
  uint64_t received = 0;
  std::string stderr_text;
  bool timed_out = false, too_much = false, no_room = false;
  // The pipes, and the pidfd (readable once the child has ended) where there is one.
  pollfd fds[3] = {{results.read_end.get(), POLLIN, 0}, {errors.read_end.get(), POLLIN, 0}, {child.pidfd(), POLLIN, 0}};
  const nfds_t watched = child.pidfd() >= 0 ? 3 : 2;
  // Reads at most kReadsPerLook times what fds[k] holds now. A garbled stream, or more than the
  // limit, ends the reading at once (and the child is stopped).
  enum class Drained { more, empty, closed };
  auto drain = [&](int k) {
    for (int reads = 0; reads < kReadsPerLook; ++reads) {
      const ssize_t n = read(fds[k].fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? Drained::empty : Drained::closed;
      if (n == 0) return Drained::closed;
      const auto size = static_cast<std::size_t>(n);
      if (k == 1) {
        stderr_text.append(reinterpret_cast<const char*>(chunk.data()),
                           std::min(size, kStderrKeptBytes - std::min(kStderrKeptBytes, stderr_text.size())));
        continue;
      }
      received += size;
      if (received > limits.max_output_bytes) {
        too_much = true;
        return Drained::closed;
      }
      try {
        decoder->feed(std::span(chunk.data(), size));
      } catch (const Error& e) {
        garbled = e.what();
        return Drained::closed;
      } catch (const std::bad_alloc&) {
        no_room = true;
        return Drained::closed;
      }
    }
    return Drained::more;
  };
  auto stopping = [&] { return timed_out || too_much || no_room || !garbled.empty(); };
  while ((fds[0].fd >= 0 || fds[1].fd >= 0) && !stopping()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    // At most 250 ms per wait without a pidfd: a pipe another thread's child still holds open
    // never reports its end, so the child's own end is looked for too.
    const int ready = poll(fds, watched, static_cast<int>(std::min<int64_t>(left, 250)));
    if (ready < 0 && errno != EINTR) throw Error(prefix + ": poll: " + system_reason(errno));
    const bool child_ended = watched == 3 ? ready > 0 && (fds[2].revents & POLLIN) != 0 : ready == 0 && child.ended();
    if (child_ended) {
      // What it wrote before it ended is in the pipes now: read it all, the deadline holding.
      for (int k = 0; k < 2; ++k) {
        while (fds[k].fd >= 0 && !stopping() && drain(k) == Drained::more) {
          if (Clock::now() >= deadline) timed_out = true;
        }
        fds[k].fd = -1;
      }
      break;
    }
    for (int k = 0; k < 2 && ready > 0 && !stopping(); ++k) {
      if (fds[k].fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && drain(k) == Drained::closed) {
        fds[k].fd = -1;
      }
    }
  }
  // Its pipes closed: it is ending, or it closed them and goes on; the deadline holds either way.
  for (auto pause = std::chrono::microseconds(200); !stopping() && !child.ended();
       pause = std::min(2 * pause, std::chrono::microseconds(20000))) {
    if (Clock::now() >= deadline) {
      timed_out = true;
    } else if (child.pidfd() >= 0) {
      pollfd end{child.pidfd(), POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      poll(&end, 1, static_cast<int>(std::clamp<int64_t>(left, 1, 250)));
    } else {
      std::this_thread::sleep_for(pause);
    }
  }
  if (stopping()) child.stop();
  child.wait_for_end();

  if (timed_out) throw Error(prefix + " did not finish within " + std::to_string(limits.wall_seconds) + " s");
  if (too_much) throw Error(prefix + " sent more than " + std::to_string(limits.max_output_bytes) + " bytes");
  if (no_room) {
    throw Error(prefix + " sent more than this process could hold (out of memory after " + std::to_string(received) +
                " bytes)");
  }
  const std::string words = said(stderr_text);
  if (!garbled.empty()) throw Error(prefix + " sent a garbled result: " + garbled + words);
  if (const std::optional<Child::End> end = child.end(); end && end->signalled) {
    const int signal = end->code;
    if (signal == SIGXCPU || (signal == SIGKILL && child.cpu_seconds() >= static_cast<double>(limits.cpu_seconds))) {
      char used[32];
      std::snprintf(used, sizeof used, "%.1f", child.cpu_seconds());
      throw Error(prefix + " exceeded its CPU time (killed by " + signal_text(signal) + " after " + used +
                  " s of CPU)" + words);
    }
    throw Error(prefix + " was killed by " + signal_text(signal) + words);
  } else if (end && end->code != 0) {
    const int code = end->code;
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
    ending = decoder->finish();
  } catch (const Error& e) {
    const std::string how = child.end() ? "" : " (its exit status was taken by someone else: is SIGCHLD ignored?)";
    throw Error(prefix + " sent a garbled result: " + e.what() + how + words);
  }
  switch (ending.how) {
    case ContainedEnding::How::returned: return std::move(ending.output);
    case ContainedEnding::How::error:
      if (ending.message.empty()) throw Error(prefix + " reported an error without a message");
      throw Error(child_message(where, ending.message));
    case ContainedEnding::How::out_of_memory: throw Error(prefix + " ran out of memory");
    case ContainedEnding::How::failure: break;
  }
  throw Error(prefix + " failed: '" + printable(ending.message) + "'");
}

}  // namespace rnnkit::detail

// libFuzzer target: any bytes as a Keras HDF5 weights file (opened from memory through HDF5's
// core driver), read in this process: every weight (read_keras_weights), then the import with
// the default options. The users' path runs libhdf5 in a separate process
// (formats/keras_contents.h); here it runs in-process so that rnnkit's own code (Hdf5File's
// checks, keras.cc) gets coverage. libhdf5 is not instrumented: fuzzing sees no coverage inside
// it. Errors are fine; crashes, leaks, undefined behaviour and unbounded allocations are not.
//
// libhdf5 1.10 itself fails on many malformed files (within a few hundred inputs). So each input
// is first read by a scout: a process forked from this one that runs the same code on every
// input before this process does. If the scout dies and the sanitizer's report puts the fault
// inside libhdf5 (its first frame outside the sanitizer and fuzzer runtime, libc and the
// compression libraries), and, where the report says who allocated the memory (a heap overflow,
// a use after free), libhdf5 allocated it too, or the scout uses more than 5 s of CPU on the
// input, or hangs for 10 s, the input is skipped: a libhdf5 finding, which the separate process
// contains for users. A buffer rnnkit allocated and libhdf5 overran (rnnkit passing H5Dread or
// H5Aread too small a buffer) is not skipped: the input runs here and is reported. Each new fault site is
// printed once ("keras_fuzz: libhdf5 ..."), and with RNNKIT_FUZZ_LIBHDF5_DIR set its first input
// is saved there; a new scout is forked for the next input. Any other input runs here, where
// libFuzzer reports what rnnkit's code does wrong. Leaks of memory that libhdf5 allocated are
// libhdf5's (its error paths leak); they are suppressed (__lsan_default_suppressions).
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/descriptor_io.h"
#include "formats/keras_contents.h"
#include "rnnkit/core/error.h"

extern "C" void __sanitizer_set_death_callback(void (*callback)());

extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so\n"; }

namespace {

using rnnkit::detail::address_space_bytes;
using rnnkit::detail::Hdf5Process;
using rnnkit::detail::read_fully;
using rnnkit::detail::write_fully;

constexpr int kDiedExit = 86;  // a worker's exit status after a sanitizer report

void read_in_this_process(std::span<const std::byte> image) {
  try {
    (void)rnnkit::detail::read_keras_weights(image, "fuzz.h5", Hdf5Process::this_one);
  } catch (const rnnkit::Error&) {
  }
  try {
    (void)rnnkit::detail::import_keras(image, "fuzz.h5", {}, Hdf5Process::this_one);
  } catch (const rnnkit::Error&) {
  }
}

// A frame of the sanitizer and fuzzer runtime (linked into this program without source lines:
// "in malloc (.../keras_fuzz+0x...)"), or of libc or the compression libraries libhdf5 calls.
// Where glibc's debug information is installed, its frames name glibc's sources instead of
// libc.so ("in __memcpy_evex_unaligned_erms string/../sysdeps/x86_64/multiarch/...").
bool outside_the_culprit(const std::string& frame) {
  for (const char* runtime : {"keras_fuzz+0x", "__interceptor_", "__asan", "__sanitizer", "libc.so", "libz.so",
                              "libsz.so", "libaec.so", "libm.so", "/sysdeps/"}) {
    if (frame.find(runtime) != std::string::npos) return true;
  }
  return false;
}

// The first frame that counts of the stack that begins after `from`, "" if none.
std::string first_counting_frame(const std::string& report, std::size_t from) {
  for (std::size_t at = report.find("    #", from); at != std::string::npos; at = report.find("    #", at + 1)) {
    const std::string frame = report.substr(at, report.find('\n', at) - at);
    if (frame.rfind("    #0 ", 0) == 0 && at > report.find("    #", from)) return "";  // the next stack
    if (!outside_the_culprit(frame)) return frame;
  }
  return "";
}

// From a sanitizer report: "<error kind> in <function>" if its first frame that counts is in
// libhdf5, and libhdf5 allocated the memory where the report says who did; else "".
std::string libhdf5_fault(const std::string& report) {
  const std::size_t error = report.find("ERROR: ");
  if (error == std::string::npos) return "";
  // "ERROR: AddressSanitizer: heap-buffer-overflow on address ...": the kind of error.
  const std::size_t name_end = report.find(": ", error + 7);
  const std::size_t begin = name_end == std::string::npos ? error + 7 : name_end + 2;
  std::string kind = report.substr(begin, report.find('\n', begin) - begin);
  for (const char* cut : {" on ", " trying", " (", " 0x"}) kind = kind.substr(0, kind.find(cut));
  const std::string frame = first_counting_frame(report, error);
  if (frame.find("libhdf5") == std::string::npos) return "";
  // "allocated by thread T0 here:" (or "previously allocated by"): memory rnnkit allocated and
  // libhdf5 overran or used after its end is rnnkit's finding (too small a buffer for H5Dread).
  // That holds only where the address is in the region or just past its end ("0 bytes to the
  // right of", "N bytes inside of"); a wild address farther off is merely near some region, and
  // whose it is says nothing ("2136 bytes to the right of 264-byte region", freed by rnnkit).
  const bool at_the_region = report.find(" bytes inside of ", error) != std::string::npos ||
                             report.find(" is located 0 bytes to the right of ", error) != std::string::npos;
  if (const std::size_t allocated = report.find("allocated by thread", error);
      at_the_region && allocated != std::string::npos) {
    const std::string by = first_counting_frame(report, allocated);
    if (!by.empty() && by.find("libhdf5") == std::string::npos) return "";
  }
  // "#1 0x7f.. in H5C_protect (/lib/.../libhdf5_serial.so.103+0x1b4ca4)", or without a name.
  const std::size_t in = frame.find(" in ");
  if (in != std::string::npos) return kind + frame.substr(in, frame.find(' ', in + 4) - in);
  const std::size_t module = frame.rfind('/');
  if (module == std::string::npos) return kind + " in libhdf5";
  return kind + " at " + frame.substr(module + 1, frame.find(')', module) - module - 1);
}

// The scout: a process forked from this one that reads every input before this one does (the
// same code on nearly the same state: it has seen the same inputs, and those that killed it).
// It is started again after each death.
struct Scout {
  pid_t pid = -1;
  int requests = -1, replies = -1, reports = -1;  // our ends: inputs, 'k' per input read, its stderr
};
Scout scout;

// In the scout, after the sanitizer's report: leave at once (libFuzzer's own callback would write
// a crash file for an input that may be skipped).
void scout_died() { _exit(kDiedExit); }

[[noreturn]] void scout_main(int requests, int replies) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  __sanitizer_set_death_callback(scout_died);
  std::signal(SIGPROF, SIG_DFL);
  // An allocation past 1.5 GiB more fails in the allocator (a sanitizer report) before libFuzzer's
  // malloc limit (2 GiB) sees it; no file can be written (no crash file); no core is dumped.
  const uint64_t address_space = address_space_bytes();
  const rlimit none{0, 0}, address{address_space + (uint64_t{3} << 29), address_space + (uint64_t{3} << 29)};
  setrlimit(RLIMIT_CORE, &none);
  setrlimit(RLIMIT_FSIZE, &none);
  if (address_space > 0) setrlimit(RLIMIT_AS, &address);
  std::vector<std::byte> image;
  while (true) {
    uint64_t size = 0;
    if (!read_fully(requests, &size, sizeof size) || size > (uint64_t{1} << 30)) _exit(0);
    image.resize(static_cast<std::size_t>(size));
    if (!read_fully(requests, image.data(), image.size())) _exit(0);
    // 5 s of CPU per input (SIGPROF ends the scout).
    itimerval limit{{0, 0}, {5, 0}};
    setitimer(ITIMER_PROF, &limit, nullptr);
    read_in_this_process(image);
    limit = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &limit, nullptr);
    if (!write_fully(replies, "k", 1)) _exit(0);
  }
}

void start_scout() {
  int requests[2], replies[2], reports[2];
  if (pipe2(requests, O_CLOEXEC) != 0 || pipe2(replies, O_CLOEXEC) != 0 || pipe2(reports, O_CLOEXEC) != 0) return;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(reports[1], STDERR_FILENO);
    scout_main(requests[0], replies[1]);
  }
  close(requests[0]);
  close(replies[1]);
  close(reports[1]);
  scout = {pid, requests[1], replies[0], reports[0]};
  if (pid < 0) {
    close(scout.requests);
    close(scout.replies);
    close(scout.reports);
    scout = {};
  }
}

// How libhdf5 failed on `image` in the scout, "" if it did not (or the scout died elsewhere).
std::string libhdf5_failure(std::span<const std::byte> image) {
  if (scout.pid < 0) start_scout();
  if (scout.pid < 0) return "";
  const uint64_t size = image.size();
  bool read =
      write_fully(scout.requests, &size, sizeof size) && write_fully(scout.requests, image.data(), image.size());
  std::string report;
  bool timed_out = false;
  char buffer[4096];
  pollfd fds[2] = {{scout.replies, POLLIN, 0}, {scout.reports, POLLIN, 0}};
  while (read) {
    const int ready = poll(fds, 2, 10000);  // well past the scout's 5 s of CPU
    if (ready == 0) {
      timed_out = true;
      read = false;
      break;
    }
    if (ready < 0) continue;
    if (fds[1].revents != 0) {
      const ssize_t n = ::read(scout.reports, buffer, sizeof buffer);
      if (n > 0 && report.size() < (std::size_t{1} << 20)) report.append(buffer, static_cast<std::size_t>(n));
      if (n <= 0) fds[1].fd = -1;
    }
    if (fds[0].revents != 0) {
      char reply = 0;
      read = ::read(scout.replies, &reply, 1) == 1 && reply == 'k';
      break;
    }
  }
  if (read) return "";
  // It died (or hangs): its report, its end, and a new scout for the next input.
  kill(scout.pid, SIGKILL);
  for (ssize_t n = 0; (n = ::read(scout.reports, buffer, sizeof buffer)) > 0;) {
    if (report.size() < (std::size_t{1} << 20)) report.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (waitpid(scout.pid, &status, 0) < 0 && errno == EINTR) {
  }
  close(scout.requests);
  close(scout.replies);
  close(scout.reports);
  scout = {};
  if (timed_out) return "took longer than 10 s";
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPROF) return "used more than 5 s of CPU";
  return libhdf5_fault(report);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::signal(SIGPIPE, SIG_IGN);  // a scout that died is noticed by its pipes, not by a signal
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> image(reinterpret_cast<const std::byte*>(data), size);
  if (const std::string failure = libhdf5_failure(image); !failure.empty()) {
    static std::set<std::string> seen;
    if (seen.insert(failure).second) {
      std::fprintf(stderr, "keras_fuzz: libhdf5 %s (input of %zu bytes skipped; later ones like it are not shown)\n",
                   failure.c_str(), size);
      if (const char* dir = std::getenv("RNNKIT_FUZZ_LIBHDF5_DIR")) {
        const std::string path = std::string(dir) + "/libhdf5-" + std::to_string(std::hash<std::string>{}(failure));
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<long>(size));
      }
    }
    return 0;
  }
  read_in_this_process(image);
  return 0;
}

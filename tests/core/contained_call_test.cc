// run_contained: a child that returns, throws, crashes, allocates past its limit, spins past its
// CPU time, hangs, exits oddly, floods its pipes or sends too much or garbage gives its bytes or
// an Error that says what happened, never a crash of the caller; what the child says is passed on
// quoted, short and printable; the child keeps nothing of the parent it should not (no
// descriptors, no handlers, no blocked signals, no atexit, no stdio buffers); the stream decoder
// refuses every truncated or garbled stream and every message over 4 KiB.
#include "core/contained_call.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include "core/frame_codec.h"
#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit::detail {
namespace {

using test::error_of;

constexpr uint64_t kMiB = uint64_t{1} << 20;

ContainmentLimits quick_limits() {
  ContainmentLimits limits;
  limits.memory_bytes = 256 * kMiB;
  limits.cpu_seconds = 10;
  limits.wall_seconds = 60;
  limits.max_output_bytes = 256 * kMiB;
  return limits;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

std::string text_of(const std::vector<std::byte>& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

std::string contained_error(const std::function<void(ContainedOutput&)>& work,
                            const ContainmentLimits& limits = quick_limits()) {
  return error_of([&] { run_contained(work, limits, "test file 'x'", "the test child"); });
}

void expect_contains(const std::string& message, const std::string& fragment) {
  EXPECT_NE(message.find(fragment), std::string::npos) << "'" << fragment << "' not in: " << message;
}

TEST(ContainedCall, ReturnsWhatTheChildWroteSmallAndLarge) {
  EXPECT_EQ(
      text_of(run_contained([](ContainedOutput& out) { out.write(bytes_of("hello")); }, quick_limits(), "w", "c")),
      "hello");
  EXPECT_TRUE(run_contained([](ContainedOutput&) {}, quick_limits(), "w", "c").empty());
  // 48 MiB, far more than a pipe holds, in writes of mixed sizes (some larger than a frame).
  auto pattern = [](uint64_t i) { return static_cast<std::byte>((i * 2654435761u) >> 24); };
  const uint64_t total = 48 * kMiB;
  const std::vector<std::byte> got = run_contained(
      [&](ContainedOutput& out) {
        std::vector<std::byte> piece;
        for (uint64_t at = 0, k = 0; at < total; ++k) {
          const uint64_t n = std::min(total - at, k % 3 == 0 ? 1 + k % 7 : (k % 3 == 1 ? 70000 : 3 * kMiB));
          piece.resize(n);
          for (uint64_t i = 0; i < n; ++i) piece[i] = pattern(at + i);
          out.write(piece);
          at += n;
        }
      },
      quick_limits(), "w", "c");
  ASSERT_EQ(got.size(), total);
  uint64_t wrong = 0;
  for (uint64_t i = 0; i < total; ++i) wrong += got[i] != pattern(i);
  EXPECT_EQ(wrong, 0u);
}

// Only run_contained makes the child's output, in the child.
static_assert(!std::is_constructible_v<ContainedOutput, int>);

TEST(ContainedCall, AnErrorInTheChildIsQuotedAsTheChilds) {
  EXPECT_EQ(contained_error([](ContainedOutput& out) {
              out.write(bytes_of("partial output, then"));
              throw Error("test file 'x': layer 'lstm' has no group");
            }),
            "test file 'x': reading it in a separate process: 'layer 'lstm' has no group'");
  // Terminal escapes, and more than 4 KiB: cut by the child, printable in the parent.
  const std::string long_one = contained_error(
      [](ContainedOutput&) { throw Error("\x1b]0;owned\x07\x1b[2J" + std::string(10000, 'y') + "tail"); });
  EXPECT_EQ(long_one.find("test file 'x': reading it in a separate process: '?]0;owned??[2Jyyy"), 0u) << long_one;
  EXPECT_EQ(long_one.find("tail"), std::string::npos);
  EXPECT_EQ(long_one.substr(long_one.size() - 5), "y...'");
  EXPECT_EQ(long_one.size(), std::string("test file 'x': reading it in a separate process: ''").size() + 4096);
  const std::string failed = contained_error([](ContainedOutput&) { throw std::runtime_error("\x1b[2Jgone"); });
  expect_contains(failed, " failed: '?[2Jgone'");
}

TEST(ContainedCall, AMessageFrameOver4KiBIsAGarbledStream) {
  const std::string message = contained_error([](ContainedOutput&) {
    ByteWriter w;
    w.frame_header('E', 10000);
    w.raw(std::vector<std::byte>(10000, std::byte{'z'}));
    if (::write(3, w.bytes.data(), w.bytes.size()) < 0) _exit(9);
    _exit(0);
  });
  expect_contains(message,
                  "sent a garbled result: its message claims 10000 bytes, more than the 4096 a message may have");
}

TEST(ContainedCall, OtherExceptionsAndOddExitsAreNamed) {
  const std::string prefix = "test file 'x': the test child, run in a separate process limited to ";
  const std::string runtime = contained_error([](ContainedOutput&) { throw std::runtime_error("vector::at"); });
  EXPECT_EQ(runtime.find(prefix), 0u) << runtime;
  expect_contains(runtime, " failed: 'vector::at'");
  expect_contains(contained_error([](ContainedOutput&) { throw 42; }), "not a std::exception");
  expect_contains(contained_error([](ContainedOutput&) { throw Error(""); }), "reported an error without a message");
  const std::string exited = contained_error([](ContainedOutput&) { _exit(7); });
  expect_contains(exited, "ended with exit status 7 before sending its result");
  const std::string early = contained_error([](ContainedOutput&) { _exit(0); });
  expect_contains(early, "sent a garbled result: its stream stops before its last frame");
}

TEST(ContainedCall, ASegfaultIsNamedWithWhatTheChildSaid) {
  const std::string message = contained_error([](ContainedOutput&) {
    // A real fault, not undefined behaviour the sanitizers would catch first: a page without access.
    void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) throw Error("mmap failed");
    std::fputs("about to touch a page without access\n", stderr);
    *static_cast<volatile int*>(page) = 1;
  });
  expect_contains(message, "test file 'x': the test child, run in a separate process limited to ");
  expect_contains(message, "was killed by signal 11 (Segmentation fault); it said: 'about to touch a page");
  const std::string aborted = contained_error([](ContainedOutput&) {
    std::fputs("\n====\nfree(): invalid pointer \x1b[31m\n", stderr);
    std::abort();
  });
  expect_contains(aborted, "was killed by signal 6 (Aborted); it said: 'free(): invalid pointer ?[31m'");
}

TEST(ContainedCall, AllocatingPastTheMemoryLimitIsNamed) {
  ContainmentLimits limits = quick_limits();
  limits.memory_bytes = 64 * kMiB;
  const std::string message = contained_error(
      [](ContainedOutput&) {
        std::vector<std::vector<char>> kept;
        for (int i = 0; i < 256; ++i) kept.emplace_back(16 * kMiB, 'x');  // 4 GiB, touched
      },
      limits);
  // std::bad_alloc, or (AddressSanitizer builds) ASan's out-of-memory report.
  expect_contains(message, "out of memory");
  expect_contains(message, " MiB of memory beyond what it inherits");
  // And within the limit, the same child is fine.
  limits.memory_bytes = 512 * kMiB;
  EXPECT_EQ(contained_error(
                [](ContainedOutput&) {
                  std::vector<char> some(64 * kMiB, 'x');
                  if (some[12345] != 'x') throw Error("lost");
                },
                limits),
            "");
}

TEST(ContainedCall, SpinningPastTheCpuLimitIsNamed) {
  ContainmentLimits limits = quick_limits();
  limits.cpu_seconds = 1;
  const std::string message = contained_error(
      [](ContainedOutput&) {
        volatile uint64_t spins = 0;
        while (true) spins = spins + 1;
      },
      limits);
  expect_contains(message, "1 s of CPU");
  expect_contains(message, "exceeded its CPU time (killed by signal 24 (CPU time limit exceeded) after ");
}

TEST(ContainedCall, HangingPastTheWallLimitIsStopped) {
  ContainmentLimits limits = quick_limits();
  limits.wall_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  const std::string message = contained_error([](ContainedOutput&) { sleep(3600); }, limits);
  expect_contains(message, "did not finish within 1 s");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(ContainedCall, AChildThatClosesItsPipesAndHangsIsStoppedToo) {
  ContainmentLimits limits = quick_limits();
  limits.wall_seconds = 1;
  const std::string message = contained_error(
      [](ContainedOutput&) {
        close(2);
        close(3);
        sleep(3600);
      },
      limits);
  expect_contains(message, "did not finish within 1 s");
}

TEST(ContainedCall, SendingMoreThanAllowedIsStopped) {
  ContainmentLimits limits = quick_limits();
  limits.max_output_bytes = kMiB;
  const std::string message = contained_error(
      [](ContainedOutput& out) {
        const std::vector<std::byte> block(kMiB / 4);
        while (true) out.write(block);
      },
      limits);
  expect_contains(message, "sent more than 1048576 bytes");
}

// A garbled stream ends the reading, and the child, at once: the parent does not read on to the
// output limit.
TEST(ContainedCall, AGarbledStreamStopsTheChildAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const std::string message = contained_error([](ContainedOutput&) {
    const std::vector<char> junk(1 << 16, 'Q');
    while (::write(3, junk.data(), junk.size()) > 0) {
    }
    _exit(0);
  });
  expect_contains(message, "sent a garbled result: a frame of unknown kind 81");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// A child that keeps a pipe full does not keep the parent from its clock.
TEST(ContainedCall, AChildThatFloodsItsStderrIsStoppedAtTheWallLimit) {
  ContainmentLimits limits = quick_limits();
  limits.wall_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  const std::string message = contained_error(
      [](ContainedOutput&) {
        const std::vector<char> text(1 << 16, 'e');
        while (::write(2, text.data(), text.size()) > 0) {
        }
      },
      limits);
  expect_contains(message, "did not finish within 1 s");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// The caller expects far more than it gets: room for at most 64 MiB is made before the child
// says anything (not 1 TiB, which would throw std::bad_alloc or commit it).
TEST(ContainedCall, RoomMadeAtOnceIsBoundedWhateverTheCallerExpects) {
  ContainmentLimits limits = quick_limits();
  limits.max_output_bytes = uint64_t{1} << 40;
  limits.expected_output_bytes = uint64_t{1} << 40;
  EXPECT_EQ(text_of(run_contained([](ContainedOutput& out) { out.write(bytes_of("small")); }, limits, "w", "c")),
            "small");
}

// The caller blocks SIGTERM (as a program that takes signals in a thread of its own does): the
// child does not inherit the mask, so SIGTERM ends it.
TEST(ContainedCall, SignalsTheCallerBlocksReachTheChild) {
  sigset_t term, previous;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &previous), 0);
  const std::string message = contained_error([](ContainedOutput& out) {
    kill(getpid(), SIGTERM);
    sleep(5);
    out.write(bytes_of("SIGTERM was blocked"));
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  expect_contains(message, "was killed by signal 15 (Terminated)");
}

TEST(ContainedCall, TheChildKeepsNoDescriptorHandlerOrLimitOfTheParent) {
  test::TempDir dir;
  const int opened = open(dir.file("parent.txt").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(opened, 0);
  const int parent_fd = fcntl(opened, F_DUPFD_CLOEXEC, 100);  // a descriptor above the child's own
  close(opened);
  ASSERT_GE(parent_fd, 100);
  struct sigaction handler {};
  handler.sa_handler = [](int) {};
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGUSR1, &handler, &previous), 0);
  ContainmentLimits limits = quick_limits();
  limits.cpu_seconds = 7;
  const std::string report = text_of(run_contained(
      [&](ContainedOutput& out) {
        auto limit = [](int resource) {
          rlimit r{};
          getrlimit(resource, &r);
          return std::to_string(r.rlim_cur) + "/" + std::to_string(r.rlim_max);
        };
        char stdout_target[256] = {};
        const ssize_t n = readlink("/proc/self/fd/1", stdout_target, sizeof stdout_target - 1);
        struct sigaction now {};
        sigaction(SIGUSR1, nullptr, &now);
        std::string open_fds;
        DIR* fds = opendir("/proc/self/fd");
        for (const dirent* e = fds != nullptr ? readdir(fds) : nullptr; e != nullptr; e = readdir(fds)) {
          if (e->d_name[0] != '.' && std::atoi(e->d_name) != dirfd(fds)) open_fds += std::string(" ") + e->d_name;
        }
        if (fds != nullptr) closedir(fds);
        const bool parent_fd_open = fcntl(parent_fd, F_GETFD) >= 0;
        const std::string text = "fds" + open_fds + ", parent's " + std::string(parent_fd_open ? "open" : "closed") +
                                 ", stdout " + std::string(stdout_target, n > 0 ? static_cast<std::size_t>(n) : 0) +
                                 ", core " + limit(RLIMIT_CORE) + ", fsize " + limit(RLIMIT_FSIZE) + ", cpu " +
                                 limit(RLIMIT_CPU) + ", nofile " + limit(RLIMIT_NOFILE) + ", dumpable " +
                                 std::to_string(prctl(PR_GET_DUMPABLE)) + ", SIGUSR1 " +
                                 (now.sa_handler == SIG_DFL ? "default" : "handled");
        out.write(bytes_of(text));
      },
      limits, "w", "c"));
  sigaction(SIGUSR1, &previous, nullptr);
  close(parent_fd);
  EXPECT_EQ(report,
            "fds 0 1 2 3, parent's closed, stdout /dev/null, core 0/0, fsize 0/0, cpu 7/8, nofile 64/64, dumpable 0, "
            "SIGUSR1 default");
}

TEST(ContainedCall, AProgramThatIgnoresSigchldStillGetsTheResult) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGCHLD, &ignore, &previous), 0);  // children are reaped by the kernel: no status
  std::string got, crashed;
  const std::string error = error_of([&] {
    got = text_of(run_contained([](ContainedOutput& out) { out.write(bytes_of("ok")); }, quick_limits(), "w", "c"));
  });
  crashed = contained_error([](ContainedOutput&) { std::abort(); });
  sigaction(SIGCHLD, &previous, nullptr);
  EXPECT_EQ(error, "");
  EXPECT_EQ(got, "ok");
  expect_contains(crashed, "sent a garbled result: its stream stops before its last frame (its exit status was taken");
}

int atexit_marker_parent = 0;
std::string atexit_marker_path;  // NOLINT: set once by the test below
void mark_exit_of_a_child() {
  if (getpid() == atexit_marker_parent) return;
  if (std::FILE* marker = std::fopen(atexit_marker_path.c_str(), "w")) std::fclose(marker);
}

TEST(ContainedCall, TheChildRunsNoAtexitHandlerAndFlushesNoParentBuffer) {
  test::TempDir dir;
  atexit_marker_parent = getpid();
  atexit_marker_path = dir.file("a child ran atexit");
  std::atexit(mark_exit_of_a_child);
  std::FILE* file = std::fopen(dir.file("buffered.txt").c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::setvbuf(file, nullptr, _IOFBF, 1 << 16);
  std::fputs("once", file);  // still in the buffer when the child is forked
  EXPECT_EQ(text_of(run_contained([](ContainedOutput& out) { out.write(bytes_of("done")); }, quick_limits(), "w", "c")),
            "done");
  std::fclose(file);
  EXPECT_EQ(test::read_text(dir.file("buffered.txt")), "once");
  EXPECT_FALSE(std::filesystem::exists(atexit_marker_path));
}

TEST(ContainedCall, CallsFromSeveralThreadsGetTheirOwnResults) {
  if (built_with_address_sanitizer()) {
    GTEST_SKIP() << "LLVM 14's ASan allocator is not fork-safe: a child forked while another thread allocates can "
                    "wait on ASan's lock until the wall time limit stops it (contained_call.h)";
  }
  std::vector<std::thread> threads;
  std::vector<int> wrong(3, 0);
  std::vector<std::string> errors(3);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      const auto i = static_cast<std::size_t>(t);
      for (int k = 0; k < 12; ++k) {
        const std::string want = "thread " + std::to_string(t) + " call " + std::to_string(k);
        std::string got;
        const std::string error = error_of([&] {
          got = text_of(
              run_contained([&](ContainedOutput& out) { out.write(bytes_of(want)); }, quick_limits(), "w", "c"));
        });
        if (!error.empty()) errors[i] = error;
        wrong[i] += got != want;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(3, 0));
  EXPECT_EQ(errors, std::vector<std::string>(3));
}

// --- The stream decoder ------------------------------------------------------------------

std::vector<std::byte> stream_of(const std::vector<std::pair<char, std::string>>& frames) {
  ByteWriter w;
  for (const auto& [kind, payload] : frames) {
    w.frame_header(static_cast<uint8_t>(kind), payload.size());
    w.raw(bytes_of(payload));
  }
  return w.bytes;
}

ContainedEnding decode(std::span<const std::byte> stream) {
  ContainedStreamDecoder decoder;
  decoder.feed(stream);
  return decoder.finish();
}

TEST(ContainedStreamDecoder, DecodesInPiecesOfAnySize) {
  const std::vector<std::byte> stream = stream_of({{'O', "abc"}, {'O', ""}, {'O', std::string(70000, 'z')}, {'R', ""}});
  const ContainedEnding whole = decode(stream);
  EXPECT_EQ(whole.how, ContainedEnding::How::returned);
  EXPECT_EQ(text_of(whole.output), "abc" + std::string(70000, 'z'));
  std::mt19937 random(7);
  for (int trial = 0; trial < 50; ++trial) {
    ContainedStreamDecoder decoder;
    for (std::size_t at = 0; at < stream.size();) {
      const std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + random() % (trial < 25 ? 12 : 40000));
      decoder.feed(std::span(stream).subspan(at, n));
      at += n;
    }
    EXPECT_EQ(decoder.finish().output, whole.output);
  }
  EXPECT_EQ(decode(stream_of({{'E', std::string(kChildMessageBytes, 'm')}})).message.size(), kChildMessageBytes);
  const ContainedEnding error = decode(stream_of({{'O', "dropped"}, {'E', "keras file: no"}}));
  EXPECT_EQ(error.how, ContainedEnding::How::error);
  EXPECT_EQ(error.message, "keras file: no");
  EXPECT_TRUE(error.output.empty());
  EXPECT_EQ(decode(stream_of({{'M', ""}})).how, ContainedEnding::How::out_of_memory);
  EXPECT_EQ(decode(stream_of({{'F', "what"}})).message, "what");
}

TEST(ContainedStreamDecoder, EveryTruncationIsRefused) {
  const std::vector<std::byte> stream = stream_of({{'O', "abcdef"}, {'E', "message"}});
  for (std::size_t cut = 0; cut < stream.size(); ++cut) {
    const std::string message = error_of([&] { decode(std::span(stream).first(cut)); });
    EXPECT_NE(message.find("its stream stops"), std::string::npos) << "cut at " << cut << ": " << message;
  }
}

TEST(ContainedStreamDecoder, GarbledStreamsAreRefused) {
  EXPECT_EQ(error_of([&] { decode(stream_of({{'Q', "x"}})); }), "a frame of unknown kind 81");
  EXPECT_EQ(error_of([&] {
              decode(stream_of({{'R', "x"}}));
            }),
            "its last frame carries 1 bytes, where it carries none");
  EXPECT_EQ(error_of([&] { decode(stream_of({{'R', ""}, {'O', "late"}})); }), "13 bytes follow its last frame");
  EXPECT_EQ(error_of([&] { decode(stream_of({{'O', "x"}})); }), "its stream stops before its last frame");
  // A claim of 2^63 bytes with 3 present: nothing is reserved for it, and the end is refused.
  ByteWriter w;
  w.frame_header('O', uint64_t{1} << 63);
  w.raw(bytes_of("abc"));
  EXPECT_EQ(error_of([&] { decode(w.bytes); }), "its stream stops 9223372036854775805 bytes before a frame's end");
  // A message over 4 KiB is refused as its header arrives.
  for (const char kind : {'E', 'F'}) {
    ByteWriter big;
    big.frame_header(static_cast<uint8_t>(kind), kChildMessageBytes + 1);
    ContainedStreamDecoder decoder;
    EXPECT_EQ(error_of([&] { decoder.feed(big.bytes); }),
              "its message claims 4097 bytes, more than the 4096 a message may have");
  }
}

}  // namespace
}  // namespace rnnkit::detail

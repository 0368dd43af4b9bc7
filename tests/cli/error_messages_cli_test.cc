// Failures that once reached users as a C++ library's words ("internal error: std::bad_alloc",
// "vector::_M_range_check", "cannot create std::vector larger than max_size()", nlohmann's
// "type_error.302") are rnnkit's messages naming the thing: one test per class.
#include <gtest/gtest.h>

#include <filesystem>

#include "rnnkit/checkpoint/safetensors.h"
#include "test_support.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RNNKIT_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RNNKIT_TEST_ASAN 1
#endif

namespace rnnkit {
namespace {

// The rnnkit command under a bound on memory that holds on any machine: an 8 GiB address-space
// limit, or, under AddressSanitizer (which reserves terabytes of address space and so cannot
// run under such a limit), ASan's own refusal of allocations over 1 TiB, made to return null.
test::CommandResult run_with_memory_bound(const std::string& args) {
#ifdef RNNKIT_TEST_ASAN
  return test::run_shell("ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=0 " + std::string(RNNKIT_CLI_PATH) +
                         " " + args);
#else
  return test::run_shell("ulimit -v 8388608 && " + std::string(RNNKIT_CLI_PATH) + " " + args);
#endif
}

void expect_rnnkit_error(const test::CommandResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("rnnkit: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(fragment), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("std::"), std::string::npos) << r.output;
}

// weight_ih of [4 * 65536, 1048576]: 2 TiB in float64 while it is initialized.
TEST(ErrorMessages, AModelLargerThanMemoryIsNamedNotABadAlloc) {
  test::TempDir dir;
  const auto r = run_with_memory_bound("init --cell lstm --input-size 1048576 --hidden-size 65536 -o " +
                                       dir.file("huge.safetensors"));
  expect_rnnkit_error(r, "variable 'lstm/l0/fw/weight_ih' [262144,1048576]: out of memory");
  EXPECT_FALSE(std::filesystem::exists(dir.file("huge.safetensors")));
}

// A small model on a long input: the workspace that keeps every step for backward is what
// does not fit (1000 x 1000 steps and sequences of a 4 x 2048-wide LSTM: 30 GiB of gates).
TEST(ErrorMessages, AWorkspaceLargerThanMemoryIsNamedNotABadAlloc) {
#ifdef RNNKIT_TEST_ASAN
  GTEST_SKIP() << "under AddressSanitizer no address-space limit can be set, and 30 GiB is below ASan's own limit";
#else
  test::TempDir dir;
  ASSERT_EQ(test::run_cli("init --cell lstm --input-size 1 --hidden-size 2048 --recurrent-init zeros -o " +
                          dir.file("m.safetensors"))
                .exit_code,
            0);
  Tensor<float> input({1000, 1000, 1}, 0.5f);
  write_safetensors(dir.file("in.safetensors"), {safetensors_tensor("input", input.view())}, {});
  const auto r = run_with_memory_bound("forward " + dir.file("m.safetensors") + " " + dir.file("in.safetensors") +
                                       " -o " + dir.file("out.safetensors"));
  expect_rnnkit_error(r, "out of memory planning the workspace for T=1000, B=1000");
#endif
}

}  // namespace
}  // namespace rnnkit

// Failures that once reached users as a C++ library's words ("internal error: std::bad_alloc",
// "vector::_M_range_check", "cannot create std::vector larger than max_size()", nlohmann's
// "type_error.302") are rnnkit's messages naming the thing: one test per class.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <tuple>
#include <vector>

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

// The rnnkit command under a 4 GiB address-space limit. AddressSanitizer reserves terabytes of
// address space, so it cannot run under one, and its allocator ends the process on a failed
// operator new (allocator_may_return_null covers malloc, not new): the tests that need a failed
// allocation are skipped under it, saying so.
test::CommandResult run_with_memory_bound(const std::string& args) {
  return test::run_shell("ulimit -v 4194304 && " + std::string(RNNKIT_CLI_PATH) + " " + args);
}

#ifdef RNNKIT_TEST_ASAN
#define SKIP_UNDER_ASAN() \
  GTEST_SKIP() << "AddressSanitizer cannot run under an address-space limit and ends the process on a failed new"
#else
#define SKIP_UNDER_ASAN() static_cast<void>(0)
#endif

void expect_rnnkit_error(const test::CommandResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("rnnkit: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(fragment), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("std::"), std::string::npos) << r.output;
}

// More parameters than the machine has memory (2 TiB for one weight_ih of [4 * 65536, 1048576]):
// refused before anything is allocated, since Linux would grant it and then kill the process.
TEST(ErrorMessages, AModelLargerThanTheMachineIsRefusedBeforeAllocating) {
  test::TempDir dir;
  const auto r =
      test::run_cli("init --cell lstm --input-size 1048576 --hidden-size 65536 -o " + dir.file("huge.safetensors"));
  expect_rnnkit_error(r, "the recurrent layer under 'lstm' (4 variables): the store would hold ");
  expect_rnnkit_error(r, "more than this machine's ");
  EXPECT_FALSE(std::filesystem::exists(dir.file("huge.safetensors")));
}

// Within the machine (more than 5 GiB of memory) but not within the process's bound: weight_ih of
// [16384, 40000] is 4.9 GiB in float64 while initialized (2.4 GiB in float32, as many gradients).
TEST(ErrorMessages, AModelLargerThanTheProcessMayAllocateIsNamedNotABadAlloc) {
  SKIP_UNDER_ASAN();
  test::TempDir dir;
  const auto r = run_with_memory_bound(
      "init --cell lstm --input-size 40000 --hidden-size 4096 --recurrent-init zeros "
      "-o " +
      dir.file("big.safetensors"));
  expect_rnnkit_error(r, "variable 'lstm/l0/fw/weight_ih' [16384,40000]: out of memory");
  EXPECT_FALSE(std::filesystem::exists(dir.file("big.safetensors")));
}

// A small model on a long input: the workspace that keeps every step for backward is what
// does not fit (1000 x 1000 steps and sequences of a 4 x 2048-wide LSTM: 8 GiB of layer
// outputs, the first of its arrays past the bound, and 30 GiB of gates).
TEST(ErrorMessages, AWorkspaceLargerThanMemoryIsNamedNotABadAlloc) {
  SKIP_UNDER_ASAN();
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
}

constexpr const char* kTinyRun =
    "seed = 3\n[model]\nhidden_size = 8\nembedding_size = 4\n[task]\nsteps = 16\nbatch_size = 2\n"
    "[train]\nsteps = 2\nlog_every = 1\neval_every = 2\neval_batches = 1\ncheckpoint_every = 2\n";

// Metadata of the wrong JSON type where rnnkit reads a field (nlohmann's type_error.302 once).
TEST(ErrorMessages, MetadataOfTheWrongTypeIsNamedNotAJsonTypeError) {
  test::TempDir dir;
  std::ofstream(dir.file("c.toml")) << kTinyRun;
  ASSERT_EQ(test::run_cli("train --config " + dir.file("c.toml") + " --run-dir " + dir.file("run")).exit_code, 0);
  const std::string checkpoint = dir.file("run/checkpoints/step-0000002.safetensors");
  struct Mutation {
    std::string from, to, message;
  };
  for (const Mutation& mutation : std::vector<Mutation>{
           {"\"optimizer\":\"adam\"", "\"optimizer\":5", "'optimizer' must be a string, found 5"},
           {"\"step\":2", "\"step\":\"2\"", "'step' must be a non-negative integer, found \"2\""},
           {"\"step\":2", "\"step\":-2", "'step' must be a non-negative integer, found -2"},
           {"\"optimizer_steps\":2", "\"optimizer_steps\":[]", "'optimizer_steps' must be a non-negative integer"}}) {
    // Plain names, not a structured binding: clang 14 cannot capture a binding in a lambda.
    const std::string& from = mutation.from;
    const std::string& to = mutation.to;
    const std::string& message = mutation.message;
    test::rewrite_metadata(checkpoint, checkpoint, "rnnkit.train", [&](std::string j) {
      const std::size_t at = j.find(from);
      EXPECT_NE(at, std::string::npos) << j;
      return at == std::string::npos ? j : j.replace(at, from.size(), to);
    });
    expect_rnnkit_error(test::run_cli("train --resume " + dir.file("run") + " --steps 3"), message);
    test::rewrite_metadata(checkpoint, checkpoint, "rnnkit.train",
                           [&](std::string j) { return j.replace(j.find(to), to.size(), from); });
  }

  // rnnkit.source, which export reads back.
  const std::string torch = std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/pytorch/gru_bi.safetensors";
  ASSERT_EQ(test::run_cli("import --from pytorch " + torch + " -o " + dir.file("gru.safetensors")).exit_code, 0);
  test::rewrite_metadata(dir.file("gru.safetensors"), dir.file("bad.safetensors"), "rnnkit.source",
                         [](std::string j) { return j.replace(j.find("\"pytorch\""), 9, "7"); });
  expect_rnnkit_error(
      test::run_cli("export --to pytorch " + dir.file("bad.safetensors") + " -o " + dir.file("out.safetensors")),
      "rnnkit.source metadata: 'format' must be a string, found 7");

  // A metrics line whose loss is a string.
  std::ofstream(dir.file("run/metrics.jsonl"), std::ios::app)
      << "{\"kind\":\"train\",\"step\":3,\"loss\":\"low\",\"metric\":1,\"grad_norm\":1,\"lr\":0.1}\n";
  expect_rnnkit_error(test::run_cli("report " + dir.file("run") + " -o " + dir.file("r.html")),
                      "'loss' must be a number, found \"low\"");
}

}  // namespace
}  // namespace rnnkit

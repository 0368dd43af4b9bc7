// Sizes a file claims in its metadata are checked against what it holds before anything is
// allocated: a model description or a recorded run config that describes a far larger model
// than the tensors beside it is a clear error at once, not gigabytes and seconds of work.
#include <gtest/gtest.h>

#include <regex>

#include "rnnkit/checkpoint/safetensors.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::run_cli;

std::string replace(const std::string& text, const std::string& pattern, const std::string& with) {
  const std::string out = std::regex_replace(text, std::regex(pattern), with, std::regex_constants::format_first_only);
  EXPECT_NE(out, text) << pattern;
  return out;
}

TEST(ClaimedSizes, AModelDescriptionLargerThanItsTensorsIsRefused) {
  test::TempDir dir;
  const std::string model = dir.file("m.safetensors");
  ASSERT_EQ(run_cli("init --cell lstm --input-size 3 --hidden-size 4 -o " + model).exit_code, 0);
  struct Case {
    std::string pattern, with, message;
  };
  for (const Case& c : {Case{R"("hidden_size":4)", R"("hidden_size":12000)",
                             "its model description (lstm, hidden_size 12000, num_layers 1) gives "
                             "'lstm/l0/fw/weight_ih' the shape [48000,3], the file holds [16,3]"},
                        Case{R"("num_layers":1)", R"("num_layers":4096)",
                             "its model description (lstm, hidden_size 4, num_layers 4096) has a parameter "
                             "'lstm/l1/fw/weight_ih' that the file does not hold"}}) {
    const std::string bad = dir.file("bad.safetensors");
    test::rewrite_metadata(model, bad, "rnnkit.model", [&](std::string j) { return replace(j, c.pattern, c.with); });
    const auto r = run_cli("forward " + bad + " " + model + " -o " + dir.file("out.safetensors"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("model '" + bad + "': " + c.message), std::string::npos) << r.output;
  }
}

TEST(ClaimedSizes, ARunConfigLargerThanItsCheckpointIsRefused) {
  test::TempDir dir;
  const std::string checkpoint =
      std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/legacy/train_lstm_proj_bi_dropout.safetensors";
  const std::string bad = dir.file("bad.safetensors");
  test::rewrite_metadata(checkpoint, bad, "rnnkit.run_config",
                         [](std::string toml) { return replace(toml, "hidden_size = 8", "hidden_size = 12000"); });
  for (const std::string command : {"evaluate ", "probe --checkpoint "}) {
    const auto r = run_cli(command + bad);
    EXPECT_EQ(r.exit_code, 1) << command << r.output;
    EXPECT_NE(r.output.find("the recurrent layer under 'm/rnn' (20 variables): 2208000 more elements would bring the "
                            "model past 4470 elements, as many as checkpoint '" +
                            bad + "' holds in all"),
              std::string::npos)
        << command << r.output;
  }
  // The same file unedited still evaluates.
  EXPECT_EQ(run_cli("evaluate " + checkpoint).exit_code, 0);
}

}  // namespace
}  // namespace rnnkit

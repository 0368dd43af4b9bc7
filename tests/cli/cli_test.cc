// The rnnkit command: init and inspect end to end, and bad input that gets a clear
// message, a non-zero exit code and no output file.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "rnnkit/checkpoint/safetensors.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::run_cli;

TEST(Cli, InitThenInspectShowsInitializersAndGateRows) {
  test::TempDir dir;
  const std::string out = dir.file("gru.safetensors");
  const auto init = run_cli("init --cell gru --input-size 3 --hidden-size 5 --layers 2 --bidirectional --seed 9 "
                            "--recurrent-init 'per_gate(orthogonal)' --bias-init 'chrono(t_max=20)' -o " + out);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_NE(init.output.find("gru/l1/bw/weight_ih [15,10]"), std::string::npos) << init.output;

  const auto table = run_cli("inspect " + out);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("per_gate(init=orthogonal(gain=1.0))"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("chrono(t_max=20.0)"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("  [z]"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("rnnkit.seed: 9"), std::string::npos) << table.output;

  const auto json = run_cli("inspect --json " + out);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const nlohmann::json j = nlohmann::json::parse(json.output);
  ASSERT_EQ(j["variables"].size(), 16u);
  const nlohmann::json& hh = j["variables"][1];
  EXPECT_EQ(hh["name"], "gru/l0/fw/weight_hh");
  ASSERT_EQ(hh["gates"].size(), 3u);
  for (const auto& gate : hh["gates"]) EXPECT_NEAR(gate["sigma_max"].get<double>(), 1.0, 1e-5);  // each block orthogonal
  const nlohmann::json& bias = j["variables"][2];
  EXPECT_EQ(bias["gates"][0]["gate"], "r");
  EXPECT_EQ(bias["gates"][0]["max"], 0.0);  // chrono: reset gate bias zero
  EXPECT_GE(bias["gates"][1]["min"].get<double>(), 0.0);  // update gate bias log(U(1, 19)) >= 0
}

TEST(Cli, SameSeedSameBytesAndScopeKeysTheValues) {
  test::TempDir dir;
  const std::string args = "init --cell lstm --input-size 4 --hidden-size 3 --seed 5 ";
  ASSERT_EQ(run_cli(args + "-o " + dir.file("a.safetensors")).exit_code, 0);
  ASSERT_EQ(run_cli(args + "--threads 1 -o " + dir.file("b.safetensors")).exit_code, 0);
  ASSERT_EQ(run_cli(args + "--scope other -o " + dir.file("c.safetensors")).exit_code, 0);
  EXPECT_EQ(test::read_text(dir.file("a.safetensors")), test::read_text(dir.file("b.safetensors")));
  const SafetensorsFile a = SafetensorsFile::read(dir.file("a.safetensors"));
  const SafetensorsFile c = SafetensorsFile::read(dir.file("c.safetensors"));
  EXPECT_NE(a.to_float(a.at("lstm/l0/fw/weight_ih")).storage(), c.to_float(c.at("other/l0/fw/weight_ih")).storage());
}

TEST(Cli, EveryPresetAndCellInitializes) {
  test::TempDir dir;
  for (const char* cell : {"lstm", "gru", "rnn_tanh", "rnn_relu"}) {
    for (const char* preset : {"pytorch", "keras", "tf1"}) {
      const auto r = run_cli(std::string("init --cell ") + cell + " --input-size 3 --hidden-size 4 --preset " + preset +
                             " -o " + dir.file("x.safetensors"));
      EXPECT_EQ(r.exit_code, 0) << cell << " " << preset << ": " << r.output;
    }
  }
  const auto proj = run_cli("init --cell lstm --input-size 3 --hidden-size 6 --proj-size 2 -o " + dir.file("p.safetensors"));
  EXPECT_EQ(proj.exit_code, 0) << proj.output;
  EXPECT_NE(proj.output.find("lstm/l0/fw/weight_hr [2,6]"), std::string::npos) << proj.output;
}

struct BadCase {
  std::string args;
  std::string message;
  int exit_code;
};

TEST(Cli, BadInputGetsAClearErrorAndNoOutputFile) {
  test::TempDir dir;
  const std::string out = dir.file("out.safetensors");
  const std::vector<BadCase> cases = {
      {"init --cell lstm --input-size 3 --hidden-size 4 --recurrent-init 'orthogonal(gian=2)' -o " + out,
       "--recurrent-init: orthogonal: unknown argument 'gian'; valid arguments: gain", 1},
      {"init --cell gru --input-size 3 --hidden-size 4 --forget-bias 1 -o " + out, "has no forget gate", 1},
      {"init --cell gru --input-size 3 --hidden-size 4 --proj-size 2 -o " + out, "proj_size is for LSTM only", 1},
      {"init --cell lstm --input-size 3 --hidden-size 4 --proj-size 4 -o " + out, "smaller than hidden_size", 1},
      {"init --cell lstm --input-size 3 --hidden-size 4 --bias-init 'chrono(t_max=10)' --kernel-init 'chrono(t_max=10)' -o " + out,
       "chrono", 1},
      {"init --cell lstm --input-size 3 --hidden-size 4 --kernel-init 'orthogonal(' -o " + out, "--kernel-init", 1},
      {"init --cell transformer --input-size 3 --hidden-size 4 -o " + out, "--cell", 2},
      {"init --cell lstm --input-size 0 --hidden-size 4 -o " + out, "--input-size", 2},
      {"init --cell lstm --input-size x --hidden-size 4 -o " + out, "--input-size", 2},
      {"init --cell lstm --input-size 3 -o " + out, "--hidden-size", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 --threads 0 -o " + out, "--threads", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 -o " + dir.file("no/such/dir/x.safetensors"), "no/such/dir", 1},
      {"inspect " + dir.file("missing.safetensors"), "missing.safetensors", 1},
      {"", "subcommand", 2},
  };
  for (const BadCase& c : cases) {
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
  }
}

TEST(Cli, InspectNamesACorruptFile) {
  test::TempDir dir;
  const std::string path = dir.file("corrupt.safetensors");
  ASSERT_EQ(run_cli("init --cell rnn_tanh --input-size 2 --hidden-size 2 -o " + path).exit_code, 0);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  const auto r = run_cli("inspect " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("corrupt.safetensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("data section"), std::string::npos) << r.output;
}

TEST(Cli, InspectInfersGatesForPytorchStateDicts) {
  test::TempDir dir;
  Tensor<float> ih({12, 2}, 0.5f), hh({12, 3}, 0.25f), b({12}, 1.0f);
  write_safetensors(dir.file("torch.safetensors"),
                    {safetensors_tensor("rnn.weight_ih_l0", ih.view()), safetensors_tensor("rnn.weight_hh_l0", hh.view()),
                     safetensors_tensor("rnn.bias_ih_l0", b.view())},
                    {});
  const auto r = run_cli("inspect --json " + dir.file("torch.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  for (const auto& v : j["variables"]) {
    EXPECT_TRUE(v["init"].is_null());
    ASSERT_EQ(v["gates"].size(), 4u) << v["name"];
    EXPECT_EQ(v["gates"][3]["gate"], "o");
  }
}

TEST(Cli, HelpAndVersion) {
  EXPECT_EQ(run_cli("--help").exit_code, 0);
  const auto init_help = run_cli("init --help");
  EXPECT_EQ(init_help.exit_code, 0);
  EXPECT_NE(init_help.output.find("--recurrent-init"), std::string::npos);
  EXPECT_NE(run_cli("--version").output.find("rnnkit 0."), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

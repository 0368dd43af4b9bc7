// rnnkit probe: tables, JSON, the HTML page in headless Chromium, and models from a run
// config, a training checkpoint or a layer file that rnnkit init or import wrote.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace rnnkit {
namespace {

using test::read_text;
using test::run_cli;
using test::TempDir;

TEST(ProbeCli, ComparesInitializerSetsAcrossSeeds) {
  const auto r = run_cli(
      "probe --cell rnn_tanh --input-size 4 --hidden-size 16 --steps 30 --batch 3 --seeds 2 --json "
      "--init 'recurrent=orthogonal' --init 'recurrent=normal(stddev=0.01)'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["sets"].size(), 2u);
  for (int s = 0; s < 2; ++s) {
    const nlohmann::json& orthogonal = j["sets"][0]["seeds"][s];
    const nlohmann::json& small = j["sets"][1]["seeds"][s];
    EXPECT_GT(orthogonal["state_space_norm_by_distance"][20].get<double>(),
              1e6 * small["state_space_norm_by_distance"][20].get<double>())
        << "seed " << s + 1;
    // One layer: the total derivative is the state-space gradient.
    EXPECT_EQ(orthogonal["total_derivative_norm_by_distance"].size(), 1u);
    EXPECT_EQ(orthogonal["total_derivative_norm_by_distance"][0], orthogonal["state_space_norm_by_distance"]);
    EXPECT_EQ(orthogonal["jacobian_norm_by_step"].size(), 30u);
    EXPECT_EQ(orthogonal["jacobian_norm_by_step"][0].size(), 3u);  // min(4, B)
    EXPECT_NEAR(orthogonal["spectra"][0]["sigma_min"].get<double>(), 1.0, 1e-12);
    EXPECT_LT(small["spectra"][0]["sigma_max"].get<double>(), 0.2);
    EXPECT_EQ(orthogonal["layers"][0]["saturation"][0]["fraction"].size(), 30u);
  }
  const auto table = run_cli("probe --cell gru --input-size 4 --hidden-size 8 --steps 12 --seeds 1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  for (const char* text : {"pytorch", "keras", "tf1", "d=12", "decay/step", "|J| geo-mean", "r 0%", "z ", "n ",
                           "one layer: the state-space gradient and the total derivative are the same"}) {
    EXPECT_NE(table.output.find(text), std::string::npos) << text << "\n" << table.output;
  }
  EXPECT_EQ(table.output.find("total l0"), std::string::npos) << table.output;
  const auto bad = run_cli("probe --init 'recurrent=orthogonl' --steps 5");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("orthogonl"), std::string::npos) << bad.output;
  const auto field = run_cli("probe --init 'recurent=orthogonal' --steps 5");
  EXPECT_NE(field.output.find("unknown key 'recurent'"), std::string::npos) << field.output;
}

// The page opens in a real browser and draws every chart: gradient flow, step Jacobian,
// state std and mean, and the saturation of i, f, g, o and tanh(c).
TEST(ProbeCli, WritesAPageThatRendersInHeadlessChromium) {
  TempDir dir;
  const auto r = run_cli(
      "probe --cell lstm --input-size 3 --hidden-size 6 --layers 2 --steps 10 --batch 2 "
      "--seeds 2 --init keras --init 'preset=keras;forget_bias=0' -o " +
      dir.file("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("probe.html"), std::string::npos) << r.output;
  const nlohmann::json j = nlohmann::json::parse(read_text(dir.file("out/probe.json")));
  EXPECT_EQ(j["sets"][1]["init"], "preset=keras;forget_bias=0");
  EXPECT_EQ(j["sets"][0]["seeds"][0]["spectra"].size(), 8u);
  // Two layers: each layer's state-space block and total derivative, at d = 0..T.
  const nlohmann::json& seed = j["sets"][0]["seeds"][0];
  ASSERT_EQ(seed["state_space_layer_norm_by_distance"].size(), 2u);
  ASSERT_EQ(seed["total_derivative_norm_by_distance"].size(), 2u);
  ASSERT_EQ(seed["total_derivative_norm_by_distance"][0].size(), 11u);
  EXPECT_EQ(seed["total_derivative_norm_by_distance"][1], seed["state_space_layer_norm_by_distance"][1]);  // the top
  EXPECT_EQ(seed["state_space_layer_norm_by_distance"][0][0].get<double>(), 0.0);  // L reads the top layer only
  EXPECT_GT(seed["total_derivative_norm_by_distance"][0][0].get<double>(), 0.0);   // ... which reads layer 1
  EXPECT_NE(seed["total_derivative_norm_by_distance"][0][3], seed["state_space_layer_norm_by_distance"][0][3]);
  EXPECT_EQ(seed["total_derivative_norm_by_distance"][0][10], seed["state_space_layer_norm_by_distance"][0][10]);
  for (const char* key :
       {"state_space_norm_by_distance", "state_space_layer_norm_by_distance", "total_derivative_norm_by_distance"}) {
    EXPECT_TRUE(j["gradient_norms"].contains(key)) << key;
  }
  if (std::system("command -v chromium >/dev/null 2>&1") != 0) GTEST_SKIP() << "chromium is not installed";
  const std::string dom_file = dir.file("dom.html");
  const std::string command = "chromium --headless --no-sandbox --disable-gpu --dump-dom file://" +
                              dir.file("out/probe.html") + " > " + dom_file + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string dom = read_text(dom_file);
  // 9 charts, and one of the total derivative per layer.
  EXPECT_NE(dom.find("data-rendered=\"11\""), std::string::npos) << dom.substr(0, 3000);
  int64_t paths = 0;
  for (std::size_t at = dom.find("class=\"series\""); at != std::string::npos;
       at = dom.find("class=\"series\"", at + 1)) {
    ++paths;
  }
  EXPECT_EQ(paths, 11 * 2 * 3);                                    // each chart: 2 sets x (median, min, max)
  EXPECT_NE(dom.find("<td>total dL/dh</td>"), std::string::npos);  // the per-layer table
  EXPECT_EQ(dom.find("d=\"\""), std::string::npos);
  EXPECT_EQ(dom.find("NaN"), std::string::npos);
  EXPECT_NE(dom.find("forget_bias=0"), std::string::npos);  // in the legend and the tables
}

TEST(ProbeCli, ProbesTheModelOfARunConfigAndTheWeightsOfACheckpoint) {
  TempDir dir;
  std::ofstream(dir.file("c.toml")) << R"toml(
seed = 3
[model]
cell = "gru"
hidden_size = 8
embedding_size = 5
recurrent_init = "per_gate(identity)"
[task]
steps = 12
batch_size = 4
[train]
steps = 20
eval_every = 0
checkpoint_every = 0
)toml";
  const auto config = run_cli("probe --config " + dir.file("c.toml") + " --steps 8 --seeds 2 --json");
  ASSERT_EQ(config.exit_code, 0) << config.output;
  const nlohmann::json j = nlohmann::json::parse(config.output);
  EXPECT_EQ(j["model"]["cell"], "gru");
  EXPECT_EQ(j["model"]["input_size"], 5);  // the embedding feeds the recurrent layer
  EXPECT_EQ(j["sets"][0]["seeds"].size(), 2u);
  for (const auto& block : j["sets"][0]["seeds"][0]["spectra"]) {
    EXPECT_EQ(block["sigma_max"].get<double>(), 1.0);  // the config's identity blocks
  }
  ASSERT_EQ(run_cli("train --config " + dir.file("c.toml") + " --run-dir " + dir.file("run")).exit_code, 0);
  const auto trained = run_cli("probe --checkpoint " + dir.file("run") + " --steps 8 --seeds 1 --json");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const nlohmann::json t = nlohmann::json::parse(trained.output);
  EXPECT_NE(t["sets"][0]["init"].get<std::string>().find("step-0000020"), std::string::npos);
  EXPECT_NE(t["sets"][0]["seeds"][0]["spectra"][0]["sigma_max"].get<double>(), 1.0);  // training moved them
  const auto clash = run_cli("probe --config " + dir.file("c.toml") + " --cell lstm");
  EXPECT_NE(clash.exit_code, 0);
  EXPECT_NE(clash.output.find("excludes"), std::string::npos) << clash.output;
  const auto missing = run_cli("probe --config " + dir.file("none.toml"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("none.toml"), std::string::npos) << missing.output;
}

// The stacked model's table names both derivatives, per layer.
TEST(ProbeCli, TablesShowEachLayersStateSpaceBlockAndTotalDerivative) {
  const auto r = run_cli("probe --cell lstm --input-size 3 --hidden-size 6 --layers 2 --steps 12 --batch 2 --seeds 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* text : {"state-space all h", "state-space l0", "total l0", "state-space l1", "total l1", "d=0",
                           "d=12", "total: dL/dh_{T-d} of layer lK as an intermediate"}) {
    EXPECT_NE(r.output.find(text), std::string::npos) << text << "\n" << r.output;
  }
}

// A file rnnkit init (or import) wrote describes its layer in rnnkit.model: probed as it is.
TEST(ProbeCli, ProbesALayerFileThatInitOrImportWrote) {
  TempDir dir;
  const std::string layer = dir.file("rnn.safetensors");
  ASSERT_EQ(
      run_cli("init --cell rnn_tanh --input-size 3 --hidden-size 8 --layers 2 --recurrent-init identity -o " + layer)
          .exit_code,
      0);
  const auto r = run_cli("probe --checkpoint " + layer + " --steps 8 --batch 3 --seeds 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["model"]["cell"], "rnn_tanh");
  EXPECT_EQ(j["model"]["input_size"], 3);
  EXPECT_EQ(j["model"]["num_layers"], 2);
  EXPECT_EQ(j["sets"][0]["init"], "checkpoint " + layer);
  ASSERT_EQ(j["sets"][0]["seeds"].size(), 2u);
  for (const auto& seed : j["sets"][0]["seeds"]) {
    ASSERT_EQ(seed["spectra"].size(), 2u);
    for (const auto& block : seed["spectra"]) {
      EXPECT_EQ(block["sigma_max"].get<double>(), 1.0);  // the file's identity matrices
      EXPECT_EQ(block["sigma_min"].get<double>(), 1.0);
    }
    EXPECT_EQ(seed["total_derivative_norm_by_distance"].size(), 2u);
  }
  // Same weights, other inputs.
  EXPECT_NE(j["sets"][0]["seeds"][0]["state_space_norm_by_distance"][4],
            j["sets"][0]["seeds"][1]["state_space_norm_by_distance"][4]);
  const auto table = run_cli("probe --checkpoint " + layer + " --steps 8 --seeds 1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("total l1"), std::string::npos) << table.output;

  // An imported PyTorch layer; the PyTorch file itself has neither description.
  const std::string pytorch = std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/pytorch/rnn_relu_2layers.safetensors";
  const std::string imported = dir.file("imported.safetensors");
  ASSERT_EQ(run_cli("import --from pytorch --nonlinearity relu " + pytorch + " -o " + imported).exit_code, 0);
  const auto from_import = run_cli("probe --checkpoint " + imported + " --steps 5 --seeds 1 --json");
  ASSERT_EQ(from_import.exit_code, 0) << from_import.output;
  EXPECT_EQ(nlohmann::json::parse(from_import.output)["model"]["cell"], "rnn_relu");
  const auto neither = run_cli("probe --checkpoint " + pytorch + " --steps 5");
  EXPECT_EQ(neither.exit_code, 1) << neither.output;
  EXPECT_NE(neither.output.find("checkpoint '" + pytorch +
                                "' has neither rnnkit.run_config metadata (a checkpoint rnnkit train wrote) nor "
                                "rnnkit.model (a layer file rnnkit init or rnnkit import wrote)"),
            std::string::npos)
      << neither.output;

  // A bidirectional layer has no state after step t of a forward run: refused, saying so.
  const std::string bidirectional = dir.file("bi.safetensors");
  ASSERT_EQ(run_cli("init --cell gru --input-size 3 --hidden-size 4 --bidirectional -o " + bidirectional).exit_code, 0);
  const auto bi = run_cli("probe --checkpoint " + bidirectional + " --steps 5");
  EXPECT_EQ(bi.exit_code, 1) << bi.output;
  EXPECT_NE(bi.output.find("bidirectional"), std::string::npos) << bi.output;
}

// The README's probe sample: its two commands, run in a fresh directory, print its table.
TEST(ProbeCli, TheReadmesStackedSampleIsWhatProbePrints) {
  const std::string readme = read_text(std::string(RNNKIT_SOURCE_DIR) + "/README.md");
  const std::string init = "build/tools/rnnkit/rnnkit init --cell lstm --input-size 8 --hidden-size 32 --layers 2";
  const std::size_t commands = readme.find(init);
  ASSERT_NE(commands, std::string::npos) << "the README's probe sample is gone";
  const std::size_t commands_end = readme.find("```", commands);
  const std::size_t table = readme.find("```\n", commands_end + 3) + 4;
  const std::size_t table_end = readme.find("```", table);
  ASSERT_LT(table_end, readme.size());
  const std::string expected = readme.substr(table, table_end - table);
  ASSERT_NE(expected.find("total l0"), std::string::npos) << expected;
  std::string script = readme.substr(commands, commands_end - commands);
  for (std::size_t at = script.find("build/tools/rnnkit/rnnkit"); at != std::string::npos;
       at = script.find("build/tools/rnnkit/rnnkit", at)) {
    script.replace(at, 25, RNNKIT_CLI_PATH);
    at += std::string(RNNKIT_CLI_PATH).size();
  }
  while (!script.empty() && script.back() == '\n') script.pop_back();
  for (std::size_t at = script.find('\n'); at != std::string::npos; at = script.find('\n', at)) {
    script.replace(at, 1, " && ");
  }
  TempDir dir;
  const auto r = test::run_shell("cd " + dir.path() + " && mkdir out && " + script);
  ASSERT_EQ(r.exit_code, 0) << script << r.output;
  EXPECT_NE(r.output.find(expected), std::string::npos) << "README:\n" << expected << "rnnkit:\n" << r.output;
}

}  // namespace
}  // namespace rnnkit

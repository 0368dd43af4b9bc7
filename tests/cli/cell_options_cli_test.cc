// The cell variants from the command line: rnnkit init builds them and records them, inspect
// says them, forward and probe run them, a run config trains them; options that do not fit
// the cell are errors naming the option, with no output file; and a training checkpoint of
// the release before the cell options evaluates to what that release printed.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/layers/recurrent_model.h"
#include "rnnkit/layers/reference_recurrent.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::run_cli;

TEST(CliCellOptions, InitRecordsThemInspectSaysThemForwardRunsThem) {
  test::TempDir dir;
  const std::string model = dir.file("m.safetensors");
  const auto init = run_cli(
      "init --cell lstm --input-size 3 --hidden-size 4 --proj-size 2 --layers 2 --bidirectional "
      "--stacking per-direction --peepholes --no-bias --recurrent-activation 'hard_sigmoid(alpha=0.25, beta=0.5)' "
      "--gate-clip 2 --cell-clip 1.5 --proj-clip 0.5 --seed 4 -o " +
      model);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_NE(init.output.find("lstm/l1/bw/weight_peephole [3,4]"), std::string::npos) << init.output;
  EXPECT_NE(init.output.find("lstm/l1/fw/weight_ih [16,2]"), std::string::npos) << init.output;  // one direction below
  EXPECT_EQ(init.output.find("bias_ih"), std::string::npos) << init.output;

  const RecurrentModel m = load_recurrent_model(model);
  EXPECT_FALSE(m.spec.bias);
  EXPECT_TRUE(m.spec.peepholes);
  EXPECT_EQ(m.spec.stacking, Stacking::per_direction);
  EXPECT_EQ(m.options.cell.recurrent_activation, GateActivation::hard_sigmoid(0.25, 0.5));
  EXPECT_EQ(m.options.cell.gate_clip, 2.0);
  EXPECT_EQ(m.options.cell.cell_clip, 1.5);
  EXPECT_EQ(m.options.cell.proj_clip, 0.5);

  const auto inspect = run_cli("inspect " + model);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("model: lstm I=3 H=4 P=2, 2 layers, bidirectional (per-direction stacking), merge "
                                "concat, no biases, peepholes, gates hard_sigmoid(alpha=0.25, beta=0.5), activation "
                                "tanh, gate clip 2.0, cell clip 1.5, projection clip 0.5"),
            std::string::npos)
      << inspect.output;
  EXPECT_NE(inspect.output.find("  [o]"), std::string::npos) << inspect.output;  // peephole rows per gate

  // forward computes what the naive reference computes from the same file.
  Tensor<float> x({5, 2, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)));
  write_safetensors(dir.file("in.safetensors"), {safetensors_tensor("input", x.view())}, {});
  const auto fwd =
      run_cli("forward " + model + " " + dir.file("in.safetensors") + " -o " + dir.file("out.safetensors"));
  ASSERT_EQ(fwd.exit_code, 0) << fwd.output;
  const SafetensorsFile out = SafetensorsFile::read(dir.file("out.safetensors"));
  Tensor<double> xd({5, 2, 3});
  for (int64_t i = 0; i < x.numel(); ++i) xd[i] = x[i];
  const RecurrentResult<double> ref = reference_recurrent_forward(m.store, m.scope, m.spec, m.options, xd.view());
  const Tensor<float> got = out.to_float(out.at("output"));
  EXPECT_LE(test::max_abs_difference(got.data(), ref.output.data(), ref.output.numel()), 2e-6);
}

TEST(CliCellOptions, OptionsThatDoNotFitAreNamedAndWriteNothing) {
  test::TempDir dir;
  const std::string out = dir.file("x.safetensors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--cell gru --peepholes", "--peepholes: recurrent layer: peepholes are for LSTM only, the cell is gru"},
      {"--cell lstm --layers 2 --stacking per-direction",
       "--stacking per-direction: recurrent layer: per-direction stacking needs a bidirectional layer"},
      {"--cell rnn_tanh --recurrent-activation hard_sigmoid",
       "--recurrent-activation: recurrent_activation hard_sigmoid(alpha=0.2, beta=0.5) applies to the gates of an LSTM "
       "or GRU"},
      {"--cell rnn_tanh --activation relu", "--activation relu: the cell is rnn_tanh; an RNN's activation is its cell"},
      {"--cell gru --cell-clip 1", "--cell-clip: cell_clip clips an LSTM's cell state; the cell is gru"},
      {"--cell lstm --proj-clip 1", "--proj-clip: proj_clip clips an LSTM's projection; this layer has none"},
      {"--cell lstm --gru-reset before", "--gru-reset: gru_reset 'before' applies to a GRU only"},
      {"--cell lstm --recurrent-activation 'hard_sigmoid(alpha=-1)'",
       "--recurrent-activation: recurrent activation 'hard_sigmoid(alpha=-1)': alpha must be positive"},
      {"--cell lstm --no-bias --bias-init zeros", "--bias-init needs biases; --no-bias builds none"},
      {"--cell lstm --peephole-init zeros", "--peephole-init needs --peepholes"},
  };
  for (const auto& [options, message] : cases) {
    const auto r = run_cli("init " + options + " --input-size 3 --hidden-size 4 -o " + out);
    EXPECT_EQ(r.exit_code, 1) << options << ": " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << options << ": " << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << options;
  }
}

TEST(CliCellOptions, ProbeAndTrainRunThem) {
  test::TempDir dir;
  const auto probe = run_cli(
      "probe --cell gru --recurrent-activation hard_sigmoid --activation relu --gate-clip 3 "
      "--no-bias --input-size 3 --hidden-size 6 --steps 12 --seeds 1 --init keras");
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  EXPECT_NE(probe.output.find("n "), std::string::npos) << probe.output;
  const std::string config = dir.file("run.toml");
  {
    std::ofstream f(config);
    f << "seed = 3\n[model]\ncell = \"lstm\"\nhidden_size = 8\nlayers = 2\nbidirectional = true\n"
         "stacking = \"per-direction\"\npeepholes = true\nbias = false\ncell_clip = 2.0\n"
         "recurrent_activation = \"hard_sigmoid\"\n[task]\nname = \"ends_parity\"\nsteps = 8\nbatch_size = 4\n"
         "[train]\nsteps = 4\neval_every = 4\neval_batches = 1\n";
  }
  const auto train = run_cli("train --config " + config + " --run-dir " + dir.file("run"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const SafetensorsFile ckpt = SafetensorsFile::read(dir.file("run/checkpoints/step-0000004.safetensors"));
  EXPECT_NE(ckpt.find("lm/rnn/l1/bw/weight_peephole"), nullptr);
  EXPECT_EQ(ckpt.find("lm/rnn/l0/fw/bias_ih"), nullptr);
  const RecurrentDescription d = parse_recurrent_model_json(ckpt.metadata().at("rnnkit.model"), "checkpoint");
  EXPECT_EQ(d.options.cell.recurrent_activation, GateActivation::hard_sigmoid());
  EXPECT_EQ(d.spec.stacking, Stacking::per_direction);
  const auto resumed = run_cli("train --resume " + dir.file("run") + " --steps 6");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
}

// tests/fixtures/legacy/train_lstm_proj_bi_dropout.safetensors: rnnkit 0.1.0 (commit 8a6407b)
// trained train_lstm_proj_bi_dropout.toml for 3 steps; its `rnnkit evaluate` printed loss 0.69648.
TEST(CliCellOptions, ATrainingCheckpointOfTheReleaseBeforeEvaluatesAsItDid) {
  const std::string ckpt =
      std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/legacy/train_lstm_proj_bi_dropout.safetensors";
  const auto r = run_cli("evaluate " + ckpt);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("loss: 0.69648 (0.69648 nats)"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rnnkit

// Run configurations: defaults, round trips through TOML, and errors that name the key and line.
#include "rnnkit/train/run_config.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;

TEST(RunConfig, EmptyTextGivesTheDocumentedDefaults) {
  const RunConfig c = parse_run_config("", "defaults");
  EXPECT_EQ(c.seed, 42u);
  EXPECT_EQ(c.model.scope, "lm");
  EXPECT_EQ(c.model.cell, CellKind::lstm);
  EXPECT_EQ(c.task.name, "char_lm");
  EXPECT_EQ(c.optimizer.name, "adam");
  EXPECT_EQ(c.schedule.total_steps, c.train.steps);  // cosine's horizon defaults to the run's length
  EXPECT_FALSE(c.optimizer.weight_decay.has_value());
}

TEST(RunConfig, EveryFieldSurvivesARoundTripThroughToml) {
  const std::string text = R"toml(
seed = 7
[model]
scope = "enc"
cell = "gru"
hidden_size = 33
layers = 2
bidirectional = true
merge = "sum"
gru_reset = "before"
bias = false
stacking = "per-direction"
recurrent_activation = "hard_sigmoid(alpha=0.16666666666666666, beta=0.5)"
activation = "relu"
gate_clip = 3
dropout = 0.25
embedding_size = 5
preset = "pytorch"
recurrent_init = "per_gate(orthogonal)"
[model.init]
"enc/head/*" = "zeros"
"enc/rnn/*/weight_hh" = "orthogonal(gain=0.5)"
[task]
name = "typo"
steps = 12
batch_size = 3
[optimizer]
name = "sgd"
learning_rate = 0.1
momentum = 0.9
nesterov = true
weight_decay = 1e-4
[schedule]
kind = "cosine"
warmup_steps = 3
min_rate = 0.001
[clip]
norm = 1.5
[train]
steps = 17
[transfer]
init_from = "pre \"trained\".safetensors"
freeze = ["enc/rnn/l0/fw/*"]
[transfer.map]
"lm/rnn/l0/fw/" = "enc/rnn/l0/fw/"
)toml";
  const RunConfig c = parse_run_config(text, "round.toml");
  EXPECT_EQ(c.model.cell, CellKind::gru);
  EXPECT_EQ(c.model.merge, BidirectionalMerge::sum);
  EXPECT_EQ(c.model.gru_reset, GruReset::before);
  EXPECT_FALSE(c.model.bias);
  EXPECT_EQ(c.model.stacking, Stacking::per_direction);
  EXPECT_EQ(c.model.recurrent_activation, GateActivation::hard_sigmoid(1.0 / 6, 0.5));
  EXPECT_EQ(c.model.activation, CellActivation::relu);
  EXPECT_EQ(c.model.gate_clip, 3.0);
  ASSERT_EQ(c.model.init.size(), 2u);
  EXPECT_EQ(c.model.init[0].first, "enc/head/*");  // file order, not sorted order
  EXPECT_EQ(c.schedule.total_steps, 17);
  EXPECT_EQ(c.optimizer.weight_decay, 1e-4);
  EXPECT_EQ(c.transfer.map.at(0).second, "enc/rnn/l0/fw/");
  const std::string written = run_config_to_toml(c);
  const RunConfig back = parse_run_config(written, "written.toml");
  EXPECT_EQ(run_config_to_toml(back), written);
  EXPECT_EQ(back.transfer.init_from, "pre \"trained\".safetensors");
  EXPECT_EQ(recurrent_options(back.model), recurrent_options(c.model));
  EXPECT_EQ(recurrent_spec(back.model, 4), recurrent_spec(c.model, 4));
  const RunConfig lstm = parse_run_config(
      "[model]\npeepholes = true\nproj_size = 3\ncell_clip = 1.5\n"
      "proj_clip = 0.5\nforget_bias = 2.5\n",
      "lstm.toml");
  const RunConfig lstm_back = parse_run_config(run_config_to_toml(lstm), "written.toml");
  EXPECT_TRUE(lstm_back.model.peepholes);
  EXPECT_EQ(lstm_back.model.forget_bias, 2.5);
  EXPECT_EQ(recurrent_options(lstm_back.model).cell.cell_clip, 1.5);
  EXPECT_EQ(recurrent_options(lstm_back.model).cell.proj_clip, 0.5);
  EXPECT_EQ(back.optimizer.learning_rate, 0.1);
}

TEST(RunConfig, ErrorsNameTheFileTheLineAndTheKey) {
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {"[optimizer]\nlearning_rat = 0.1\n",
       "c.toml:2: optimizer.learning_rat: unknown key (expected one of: name, learning_rate"},
      {"[model]\n\nhidden_size = \"big\"\n", "c.toml:3: model.hidden_size: expected an integer, found a string"},
      {"[model]\ndropout = 1.5\n", "c.toml:2: model.dropout: expected a number in [0, 1), found 1.5"},
      {"[model]\ncell = \"lstn\"\n", "c.toml:2: model.cell: "},
      {"[model.init]\n\"lm/*\" = \"orthogonl\"\n", "c.toml:2: model.init.lm/*: "},
      {"[task]\nname = \"sorting\"\n",
       "c.toml:2: task.name: expected one of char_lm, copy_memory, adding, ends_parity, typo, found 'sorting'"},
      {"[task]\nname = \"adding\"\ntruncated_bptt = true\n",
       "c.toml:3: task.truncated_bptt: truncated BPTT reads a text as streams"},
      {"[train]\nsteps = 0\n", "c.toml:2: train.steps: expected an integer >= 1, found 0"},
      {"[optimizer]\nnesterov = true\n", "c.toml:2: optimizer.nesterov: Nesterov momentum needs momentum > 0"},
      {"[transfer]\nfreeze = [\"a\", 3]\n", "c.toml:2: transfer.freeze: expected an array of strings"},
      {"seed = 1\nsed = 2\n", "c.toml:2: sed: unknown key"},
      {"model = 3\n", "c.toml:1: model: expected a table ([model]), found an integer"},
      {"[model\n", "c.toml:1: not valid TOML: "},
      // Options that do not fit the cell: the error is at the key that asks for them.
      {"[model]\ncell = \"gru\"\n\npeepholes = true\n",
       "c.toml:4: model.peepholes: recurrent layer: peepholes are for LSTM only"},
      {"[model]\nlayers = 2\nstacking = \"per-direction\"\n",
       "c.toml:3: model.stacking: recurrent layer: per-direction stacking needs a bidirectional layer"},
      {"[model]\ncell = \"rnn_tanh\"\nrecurrent_activation = \"hard_sigmoid\"\n",
       "c.toml:3: model.recurrent_activation: recurrent_activation hard_sigmoid(alpha=0.2, beta=0.5) applies to the "
       "gates"},
      {"[model]\ncell = \"gru\"\ncell_clip = 2\n", "c.toml:3: model.cell_clip: cell_clip clips an LSTM's cell state"},
      {"[model]\nproj_clip = 2\n", "c.toml:2: model.proj_clip: proj_clip clips an LSTM's projection"},
      {"[model]\nrecurrent_activation = \"hard_sigmoid(alpha=-1)\"\n",
       "c.toml:2: model.recurrent_activation: recurrent activation 'hard_sigmoid(alpha=-1)': alpha must be positive"},
      {"[model]\nactivation = \"elu\"\n",
       "c.toml:2: model.activation: unknown cell activation 'elu'; expected tanh or relu"},
      {"[model]\ngate_clip = -1\n", "c.toml:2: model.gate_clip: expected a number in [0, 1e+12], found -1"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of([&] { parse_run_config(c.text, "c.toml"); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << "config:\n" << c.text << "message: " << message;
  }
}

TEST(RunConfig, AMissingFileIsNamed) {
  const std::string message = error_of([] { read_run_config("/nonexistent/run.toml"); });
  EXPECT_NE(message.find("/nonexistent/run.toml"), std::string::npos) << message;
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// docs/config.md lists every key with its default: its TOML block parses to the defaults.
TEST(RunConfig, TheDocumentedDefaultsAreTheDefaults) {
  const std::string doc = test::read_text(std::string(RNNKIT_SOURCE_DIR) + "/docs/config.md");
  const std::size_t begin = doc.find("```toml\n");
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = doc.find("```", begin + 8);
  const RunConfig documented = parse_run_config(doc.substr(begin + 8, end - begin - 8), "docs/config.md");
  EXPECT_EQ(run_config_to_toml(documented), run_config_to_toml(parse_run_config("", "defaults")));
}

// The walkthrough's configs (examples/transfer/) are valid.
TEST(RunConfig, TheTransferWalkthroughConfigsParse) {
  for (const char* name : {"pretrain", "detector", "finetune", "scratch"}) {
    const std::string path = std::string(RNNKIT_SOURCE_DIR) + "/examples/transfer/" + name + ".toml";
    EXPECT_EQ(test::error_of([&] { read_run_config(path); }), "") << path;
  }
}

}  // namespace
}  // namespace rnnkit

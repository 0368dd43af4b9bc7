// The training loop: resume is bit-identical, frozen variables do not move, warm starts
// load exactly the checkpoint's values and leave every other variable as a fresh run
// would have it, and config initializer overrides apply.
#include "rnnkit/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "rnnkit/checkpoint/safetensors.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;
using test::TempDir;

RunConfig small_config(const std::string& extra = "") {
  return parse_run_config(R"toml(
seed = 5
[model]
hidden_size = 12
embedding_size = 6
[task]
steps = 10
batch_size = 4
[train]
steps = 6
eval_batches = 2
)toml" + extra,
                          "small.toml");
}

std::vector<float> values_of(Trainer& t, const std::string& name) {
  const auto v = t.store().value<float>(t.store().at(name));
  return {v.data(), v.data() + v.numel()};
}

std::vector<float> all_parameters(Trainer& t) {
  const auto p = t.store().parameters<float>();
  return {p.begin(), p.end()};
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs `total` steps straight, and `cut` steps + save + resume in a new Trainer + the rest;
// both end with the same bits and the same losses.
void expect_resume_is_bit_identical(const RunConfig& config, int cut) {
  TempDir dir;
  Trainer straight(config);
  std::vector<double> losses;
  for (int k = 0; k < config.train.steps; ++k) losses.push_back(straight.train_step().loss);

  std::vector<double> resumed_losses;
  {
    Trainer first(config);
    for (int k = 0; k < cut; ++k) resumed_losses.push_back(first.train_step().loss);
    first.save(dir.file("cut.safetensors"));
  }
  Trainer second(config);
  second.resume(dir.file("cut.safetensors"));
  EXPECT_EQ(second.step(), cut);
  while (second.step() < config.train.steps) resumed_losses.push_back(second.train_step().loss);
  EXPECT_EQ(resumed_losses, losses);
  EXPECT_TRUE(bit_equal(all_parameters(second), all_parameters(straight)));
  // The runs did train: the comparison could fail.
  Trainer fresh(config);
  EXPECT_FALSE(bit_equal(all_parameters(fresh), all_parameters(straight)));
}

TEST(Trainer, ResumeContinuesBitIdentically) { expect_resume_is_bit_identical(small_config(), 3); }

TEST(Trainer, ResumeIsBitIdenticalWithMomentumDropoutAndASchedule) {
  expect_resume_is_bit_identical(small_config(R"toml(
[optimizer]
name = "sgd"
learning_rate = 0.5
momentum = 0.9
nesterov = true
[schedule]
kind = "cosine"
warmup_steps = 2
[clip]
norm = 0.5
)toml"),
                                 4);
  RunConfig dropout = small_config();
  dropout.model.layers = 2;
  dropout.model.dropout = 0.3;
  dropout.optimizer.name = "rmsprop";
  expect_resume_is_bit_identical(dropout, 2);
}

TEST(Trainer, ResumeIsBitIdenticalWithTruncatedBpttCarryingTheState) {
  RunConfig config = small_config();
  config.task.truncated_bptt = true;
  expect_resume_is_bit_identical(config, 3);
}

TEST(Trainer, TruncatedBpttCarriesTheStateFromChunkToChunk) {
  // Chunk 2 continues chunk 1: its loss depends on the state chunk 1 ended in. Resuming
  // from the checkpoint after step 1 reproduces step 2; the same checkpoint with the
  // carried state zeroed does not.
  TempDir dir;
  RunConfig config = small_config();
  config.task.truncated_bptt = true;
  Trainer a(config);
  EXPECT_FALSE(a.task().train_batch(config.seed, 1).continues_state);
  EXPECT_TRUE(a.task().train_batch(config.seed, 2).continues_state);
  a.train_step();
  a.save(dir.file("step1.safetensors"));
  const double expected = a.train_step().loss;

  const SafetensorsFile file = SafetensorsFile::read(dir.file("step1.safetensors"));
  std::vector<Tensor<float>> zeros;
  zeros.reserve(2);
  std::vector<SafetensorsTensor> tensors;
  for (const SafetensorsEntry& e : file.entries()) {
    if (e.name.rfind("@carry/", 0) == 0) {
      zeros.emplace_back(e.shape);
      tensors.push_back(safetensors_tensor(e.name, zeros.back().view()));
    } else {
      tensors.push_back({e.name, e.dtype, e.shape, file.bytes(e)});
    }
  }
  ASSERT_EQ(zeros.size(), 2u);  // h and c of the LSTM
  write_safetensors(dir.file("zeroed.safetensors"), tensors, file.metadata());

  Trainer same(config);
  same.resume(dir.file("step1.safetensors"));
  EXPECT_EQ(same.train_step().loss, expected);
  Trainer zeroed(config);
  zeroed.resume(dir.file("zeroed.safetensors"));
  EXPECT_NE(zeroed.train_step().loss, expected);
}

TEST(Trainer, FrozenVariablesStayBitIdenticalAndTheRestLearn) {
  RunConfig config = small_config();
  config.transfer.freeze = {"lm/rnn/**"};
  Trainer t(config);
  t.transfer();
  const std::vector<float> rnn_before = values_of(t, "lm/rnn/l0/fw/weight_hh");
  const std::vector<float> head_before = values_of(t, "lm/head/weight");
  for (int k = 0; k < 4; ++k) t.train_step();
  EXPECT_TRUE(bit_equal(values_of(t, "lm/rnn/l0/fw/weight_hh"), rnn_before));
  EXPECT_FALSE(bit_equal(values_of(t, "lm/head/weight"), head_before));
}

TEST(Trainer, AFreezeGlobThatMatchesNothingIsAnError) {
  RunConfig config = small_config();
  config.transfer.freeze = {"encoder/*"};
  Trainer t(config);
  EXPECT_NE(error_of([&] { t.transfer(); }).find("freeze 'encoder/*': matches no variable"), std::string::npos);
}

TEST(Trainer, ConfigInitializerOverridesBeatTheModelsOwnChoices) {
  Trainer t(small_config("[model.init]\n\"lm/head/weight\" = \"zeros\"\n\"lm/rnn/**/bias_ih\" = \"constant(0.5)\"\n"));
  for (float v : values_of(t, "lm/head/weight")) ASSERT_EQ(v, 0.0f);
  for (float v : values_of(t, "lm/rnn/l0/fw/bias_ih")) ASSERT_EQ(v, 0.5f);
  EXPECT_EQ(t.store().at("lm/head/weight").init_spec, "zeros");
}

// The user's story: pre-train a character LM, then warm-start the forward direction of a
// bidirectional typo detector (other scopes, its own head) from it.
class TransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Trainer lm(small_config());
    for (int k = 0; k < 3; ++k) lm.train_step();
    lm.save(dir_.file("lm.safetensors"));
  }
  RunConfig detector(bool transfer) const {
    RunConfig c = small_config();
    c.model.scope = "clf";
    c.model.bidirectional = true;
    c.model.recurrent_init = "per_gate(orthogonal)";
    c.task.name = "typo";
    if (transfer) {
      c.transfer.init_from = dir_.file("lm.safetensors");
      c.transfer.map = {{"lm/rnn/l0/fw/", "clf/rnn/l0/fw/"}, {"lm/embedding", "clf/embedding"}};
    }
    return c;
  }
  TempDir dir_;
};

TEST_F(TransferTest, LoadedValuesEqualTheCheckpointsBitForBit) {
  Trainer t(detector(true));
  const TransferReport report = t.transfer();
  const SafetensorsFile file = SafetensorsFile::read(dir_.file("lm.safetensors"));
  for (const char* kind : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    const Tensor<float> expected = file.to_float(file.at(std::string("lm/rnn/l0/fw/") + kind));
    const std::vector<float> got = values_of(t, std::string("clf/rnn/l0/fw/") + kind);
    EXPECT_TRUE(bit_equal(got, std::vector<float>(expected.storage().begin(), expected.storage().end()))) << kind;
  }
  // The report: where each value came from, and what of the checkpoint went unused.
  bool saw_loaded = false, saw_init = false;
  for (const TransferReport::Entry& e : report.variables) {
    if (e.name == "clf/rnn/l0/fw/weight_hh") {
      EXPECT_EQ(e.source, "checkpoint " + dir_.file("lm.safetensors") + ":lm/rnn/l0/fw/weight_hh");
      saw_loaded = true;
    }
    if (e.name == "clf/rnn/l0/bw/weight_hh") {
      EXPECT_EQ(e.source, "init per_gate(init=orthogonal(gain=1.0, version=2)), seed 5");
      saw_init = true;
    }
  }
  EXPECT_TRUE(saw_loaded && saw_init);
  ASSERT_EQ(report.unused.size(), 2u);
  EXPECT_EQ(report.unused[0], "lm/head/bias: no such variable in the model");
  EXPECT_NE(report.to_text().find("checkpoint tensors not used (2)"), std::string::npos);
}

TEST_F(TransferTest, VariablesLeftOutOfTheMapGetExactlyAFreshRunsValues) {
  Trainer warm(detector(true));
  warm.transfer();
  Trainer fresh(detector(false));
  for (const char* name : {"clf/rnn/l0/bw/weight_ih", "clf/rnn/l0/bw/weight_hh", "clf/rnn/l0/bw/bias_ih",
                           "clf/head/weight", "clf/head/bias"}) {
    EXPECT_TRUE(bit_equal(values_of(warm, name), values_of(fresh, name))) << name;
  }
  EXPECT_FALSE(bit_equal(values_of(warm, "clf/rnn/l0/fw/weight_hh"), values_of(fresh, "clf/rnn/l0/fw/weight_hh")));
}

TEST_F(TransferTest, FrozenTransferredWeightsStayPutWhileTheRestTrains) {
  RunConfig c = detector(true);
  c.transfer.freeze = {"clf/rnn/l0/fw/*", "clf/embedding"};
  Trainer t(c);
  const TransferReport report = t.transfer();
  const std::vector<float> fw = values_of(t, "clf/rnn/l0/fw/weight_hh");
  const std::vector<float> bw = values_of(t, "clf/rnn/l0/bw/weight_hh");
  for (int k = 0; k < 3; ++k) t.train_step();
  EXPECT_TRUE(bit_equal(values_of(t, "clf/rnn/l0/fw/weight_hh"), fw));
  EXPECT_FALSE(bit_equal(values_of(t, "clf/rnn/l0/bw/weight_hh"), bw));
  EXPECT_NE(report.to_text().find("clf/rnn/l0/fw/weight_hh"), std::string::npos);
}

TEST_F(TransferTest, AMapEntryThatMatchesNothingIsAnError) {
  RunConfig c = detector(true);
  c.transfer.map.push_back({"lm/decoder/", "clf/decoder/"});
  Trainer t(c);
  EXPECT_NE(
      error_of([&] { t.transfer(); }).find("map entries that match no checkpoint tensor: lm/decoder/=clf/decoder/"),
      std::string::npos);
}

TEST(Trainer, ResumingFromAPlainCheckpointSaysToUseInitFrom) {
  TempDir dir;
  Trainer t(small_config());
  save_checkpoint(t.store(), dir.file("plain.safetensors"));
  EXPECT_NE(error_of([&] { t.resume(dir.file("plain.safetensors")); }).find("use init_from"), std::string::npos);
}

TEST(Trainer, EveryTaskTrainsAndEvaluates) {
  for (const char* task : {"char_lm", "typo", "copy_memory", "adding", "ends_parity"}) {
    RunConfig c = small_config();
    c.task.name = task;
    c.task.delay = 3;
    c.model.bidirectional = std::string(task) == "ends_parity";
    Trainer t(c);
    const StepRecord r = t.train_step();
    EXPECT_TRUE(std::isfinite(r.loss)) << task;
    EXPECT_GT(r.gradient_norm, 0.0) << task;
    const EvalRecord e = t.evaluate();
    EXPECT_TRUE(std::isfinite(e.metric)) << task;
    EXPECT_EQ(e.accuracy.has_value(), std::string(task) != "adding") << task;
  }
}

}  // namespace
}  // namespace rnnkit

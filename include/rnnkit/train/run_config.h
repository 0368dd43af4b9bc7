// A training run's configuration: the model, the task, the optimizer and schedule, the seed,
// the checkpoint policy and what to transfer from another checkpoint. Written as TOML
// (docs/config.md documents every key with its default; parse_run_config("") gives the
// defaults, which train a character-level LSTM on the built-in text in about a minute).
//
// Parsing is strict: an unknown key, a value of the wrong type or out of range, or an
// unknown name throws Error naming the file, the line and the dotted key, e.g.
//   "run.toml:7: optimizer.learning_rat: unknown key (expected one of: name, learning_rate, ...)"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rnnkit/layers/recurrent_layer.h"
#include "rnnkit/layers/recurrent_spec.h"
#include "rnnkit/train/schedule.h"

namespace rnnkit {

struct ModelConfig {
  // Variables: {scope}/embedding/weight (token tasks), {scope}/rnn/l{k}/{fw|bw}/...,
  // {scope}/head/weight and {scope}/head/bias.
  std::string scope = "lm";
  CellKind cell = CellKind::lstm;
  int64_t hidden_size = 128;
  int64_t layers = 1;
  bool bidirectional = false;
  int64_t proj_size = 0;
  bool bias = true;        // false: no bias variables (PyTorch bias=False)
  bool peepholes = false;  // LSTM only
  Stacking stacking = Stacking::per_layer;
  BidirectionalMerge merge = BidirectionalMerge::concat;
  GruReset gru_reset = GruReset::after;
  GateActivation recurrent_activation;                       // sigmoid or hard_sigmoid(alpha, beta)
  CellActivation activation = CellActivation::tanh;          // LSTM, GRU: tanh or relu
  double gate_clip = 0.0, cell_clip = 0.0, proj_clip = 0.0;  // 0: none (layers/cell_options.h)
  double dropout = 0.0;
  int64_t embedding_size = 32;  // token tasks (char_lm, copy_memory, typo)
  std::string preset = "keras";
  std::string kernel_init, recurrent_init, bias_init;  // empty: the preset's
  std::optional<double> forget_bias;
  // [model.init]: glob -> initializer spec, in file order; the first match wins over
  // everything above.
  std::vector<std::pair<std::string, std::string>> init;
};

struct TaskConfig {
  std::string name = "char_lm";  // char_lm, copy_memory, adding, ends_parity, typo
  std::string text;              // char_lm, typo: a UTF-8 file; empty: the built-in text
  // The text pinned by content (train/task_text.h): rnnkit train records both when a run starts.
  std::optional<uint64_t> text_size;  // bytes
  std::string text_sha256;            // 64 lowercase hex digits
  int64_t steps = 64;                 // T (copy_memory: delay + 20, from `delay`)
  int64_t batch_size = 32;
  int64_t delay = 20;  // copy_memory
  // char_lm: read the text as B contiguous streams in chunks of `steps` characters; the
  // state carries from chunk to chunk and the gradient is cut at chunk boundaries.
  bool truncated_bptt = false;
};

struct OptimizerConfig {
  std::string name = "adam";  // sgd, adam, adamw, rmsprop, adagrad
  double learning_rate = 0.003;
  double momentum = 0.0;               // sgd
  bool nesterov = false;               // sgd
  double beta1 = 0.9, beta2 = 0.999;   // adam, adamw
  double eps = 1e-8;                   // adam, adamw, rmsprop (adagrad: 1e-10 unless set)
  double alpha = 0.99;                 // rmsprop
  std::optional<double> weight_decay;  // default 0 (adamw 0.01)
};

struct ClipConfig {
  double norm = 0.0;   // > 0: clip by global norm
  double value = 0.0;  // > 0: clip by value
};

struct TrainConfig {
  int64_t steps = 500;
  int64_t log_every = 25;
  int64_t eval_every = 100;
  int64_t eval_batches = 4;
  int64_t checkpoint_every = 250;  // 0: only at the end
};

struct TransferConfig {
  std::string init_from;                                 // a checkpoint; empty: none
  std::vector<std::pair<std::string, std::string>> map;  // checkpoint name or prefix -> model name or prefix
  std::vector<std::string> include, exclude;             // globs on model names
  std::vector<std::string> freeze;                       // globs on model names
};

struct RunConfig {
  uint64_t seed = 42;
  ModelConfig model;
  TaskConfig task;
  OptimizerConfig optimizer;
  LearningRateSchedule schedule;
  ClipConfig clip;
  TrainConfig train;
  TransferConfig transfer;
};

// The recurrent layer a model config describes, over inputs of `input_size` features, and how
// it computes (the config's cell options, merge and dropout).
RecurrentSpec recurrent_spec(const ModelConfig& model, int64_t input_size);
RecurrentLayerOptions recurrent_options(const ModelConfig& model);

// `origin` names the text in messages (a path). Throws Error as described above.
RunConfig parse_run_config(std::string_view toml_text, const std::string& origin);
RunConfig read_run_config(const std::string& path);
// The whole configuration as TOML, every key written: parse_run_config of it gives it back.
std::string run_config_to_toml(const RunConfig& config);

}  // namespace rnnkit

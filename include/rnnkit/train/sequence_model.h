// The model `rnnkit train` builds from a config: an input layer, the fused recurrent layer,
// and a linear head, over the task's input and output.
//
//   tokens:  x = Embedding(ids)            [T*B] -> [T, B, E]   ({scope}/embedding)
//   values:  x = the task's values          [T, B, F]
//   y, h_n, c_n = Recurrent(x, h0, c0)      {scope}/rnn/l{k}/{fw|bw}/...
//   class/step:      logits = Head(y)                         [T*B, C]  -> cross-entropy
//   class/sequence:  logits = Head([h_n[L-1, fw], h_n[L-1, bw]])  [B, C] -> cross-entropy
//   value/sequence:  v      = Head([h_n[L-1, fw], h_n[L-1, bw]])  [B, 1] -> MSE
// Head: {scope}/head/weight [C, W], {scope}/head/bias [C] (glorot_uniform, zeros).
//
// Initializers: the recurrent layer's from the config's preset and choices, the embedding
// normal(0, 1) (PyTorch's nn.Embedding), the head as above; the config's [model.init]
// globs override any of them (VariableStore::override_initializer).
#pragma once

#include <optional>
#include <string>

#include "rnnkit/autograd/recurrent_op.h"
#include "rnnkit/nn/embedding.h"
#include "rnnkit/nn/linear.h"
#include "rnnkit/train/run_config.h"
#include "rnnkit/train/task.h"

namespace rnnkit {

class SequenceModel {
 public:
  // Creates the variables in `store` (float32) under config.scope.
  SequenceModel(VariableStore& store, const ModelConfig& config, const TrainingTask& task);

  struct Outputs {
    Value<float> loss;        // mean cross-entropy (nats) or MSE; invalid for a batch without targets
    Value<float> prediction;  // logits [N, C] or values [B, 1]
    RecurrentValues<float> rnn;
  };
  // h0, c0: optional initial states [L*D, B, R] / [L*D, B, H].
  Outputs forward(Tape<float>& tape, const TaskBatch& batch, Value<float> h0 = {}, Value<float> c0 = {});

  RecurrentLayer<float>& recurrent() { return *recurrent_; }
  const RecurrentSpec& spec() const { return spec_; }
  // The recurrent layer's description for checkpoint metadata (rnnkit.model).
  std::string model_json() const;

 private:
  const TrainingTask* task_;
  ModelConfig config_;
  RecurrentSpec spec_;
  std::optional<Embedding> embedding_;
  std::optional<RecurrentLayer<float>> recurrent_;
  std::optional<Linear> head_;
};

// The number of correct predictions of a classification output (class per step or per sequence).
int64_t count_correct(const SequenceModel::Outputs& outputs, const TaskBatch& batch);

}  // namespace rnnkit

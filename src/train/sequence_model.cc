// The model rnnkit train builds; see train/sequence_model.h.
#include "rnnkit/train/sequence_model.h"

#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_model.h"
#include "rnnkit/layers/recurrent_variables.h"

namespace rnnkit {

SequenceModel::SequenceModel(VariableStore& store, const ModelConfig& config, const TrainingTask& task)
    : task_(&task), config_(config) {
  if (store.dtype() != DType::f32) throw Error("sequence model: the store must be float32");
  for (const auto& [pattern, spec] : config.init) store.override_initializer(pattern, parse_initializer(spec));
  const int64_t input_width = task.input() == TaskInput::tokens ? config.embedding_size : task.input_size();
  spec_ = recurrent_spec(config, input_width);
  check_recurrent_options(spec_, recurrent_options(config));
  RecurrentInitChoice choice;
  choice.preset = parse_preset(config.preset);
  if (!config.kernel_init.empty()) choice.kernel = parse_initializer(config.kernel_init);
  if (!config.recurrent_init.empty()) choice.recurrent = parse_initializer(config.recurrent_init);
  if (!config.bias_init.empty()) choice.bias = parse_initializer(config.bias_init);
  choice.forget_bias = config.forget_bias;
  {
    auto scope = store.scope(config.scope);
    if (task.input() == TaskInput::tokens) embedding_.emplace(store, task.input_size(), config.embedding_size);
    {
      auto rnn = store.scope("rnn");
      create_recurrent_variables(store, spec_, choice);
    }
    recurrent_.emplace(store, config.scope + "/rnn", spec_, recurrent_options(config));
    // Per-step heads read the (merged) output; per-sequence heads the final states of both directions.
    const int64_t width = task.output() == TaskOutput::class_per_step ? recurrent_->output_size()
                                                                      : spec_.directions() * spec_.recurrent_width();
    auto head = store.scope("head");
    head_.emplace(store, width, task.output_size());
  }
}

SequenceModel::Outputs SequenceModel::forward(Tape<float>& tape, const TaskBatch& batch, Value<float> h0,
                                              Value<float> c0) {
  const int64_t T = batch.steps, B = batch.batch;
  Value<float> x;
  if (task_->input() == TaskInput::tokens) {
    x = reshape((*embedding_)(tape, batch.tokens), {T, B, config_.embedding_size});
  } else {
    x = tape.input(batch.values.view());
  }
  Outputs out;
  out.rnn = rnnkit::recurrent(*recurrent_, x, {}, h0, c0);
  if (task_->output() == TaskOutput::class_per_step) {
    out.prediction = (*head_)(reshape(out.rnn.output, {T * B, recurrent_->output_size()}));
    if (!batch.classes.empty()) out.loss = softmax_cross_entropy(out.prediction, batch.classes);
    return out;
  }
  // The last layer's final states, forward then backward.
  std::vector<Value<float>> finals;
  const int64_t D = spec_.directions();
  for (int64_t d = 0; d < D; ++d) finals.push_back(take(out.rnn.h_n, (spec_.num_layers - 1) * D + d));
  const Value<float> features = D == 1 ? finals[0] : concat(finals);
  out.prediction = (*head_)(features);
  if (task_->output() == TaskOutput::class_per_sequence) {
    if (!batch.classes.empty()) out.loss = softmax_cross_entropy(out.prediction, batch.classes);
  } else if (batch.targets.numel() > 0) {
    out.loss = mse(out.prediction, tape.input(batch.targets.view()));
  }
  return out;
}

std::string SequenceModel::model_json() const {
  return recurrent_model_json(config_.scope + "/rnn", spec_, recurrent_->options(), config_.preset);
}

int64_t count_correct(const SequenceModel::Outputs& outputs, const TaskBatch& batch) {
  const auto logits = outputs.prediction.value();
  const int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  int64_t correct = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c) {
      if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    }
    correct += best == batch.classes[static_cast<std::size_t>(r)] ? 1 : 0;
  }
  return correct;
}

}  // namespace rnnkit

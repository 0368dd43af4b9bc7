// The built-in tasks as the training loop sees them: what goes in, what comes out, a batch
// for each step, the loss in the task's own unit, and the trivial baseline to beat.
//
//   task         input              output                       metric (baseline)
//   char_lm      characters [T*B]   next character at each step  bits/char (unigram entropy of the text)
//   copy_memory  symbols [T*B]      symbol at each step          nats/step (10 ln 8 / (delay + 20))
//   adding       values [T,B,2]     one number per sequence      MSE (1/6, always answering 1)
//   ends_parity  values [T,B,1]     one class per sequence       cross-entropy in nats (ln 2)
//   typo         characters [T*B]   one class per sequence       cross-entropy in nats (ln 2)
//
// Batches are a function of (seed, purpose, step) alone: training batch k comes from the
// stream (seed, "task/train/{k}"), evaluation batch j from (seed, "task/eval/{j}"), so a
// resumed run sees the batches an uninterrupted one would. Truncated BPTT (char_lm) reads
// chunk k - 1 of the text's streams for step k instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnkit/core/tensor.h"
#include "rnnkit/tasks/char_corpus.h"
#include "rnnkit/train/run_config.h"

namespace rnnkit {

enum class TaskInput { tokens, values };
enum class TaskOutput { class_per_step, class_per_sequence, value_per_sequence };

struct TaskBatch {
  int64_t steps = 0, batch = 0;
  std::vector<int64_t> tokens;   // TaskInput::tokens: [T * B], time-major
  Tensor<float> values;          // TaskInput::values: [T, B, F]
  std::vector<int64_t> classes;  // class_per_step: [T * B]; class_per_sequence: [B]
  Tensor<float> targets;         // value_per_sequence: [B, 1]
  bool continues_state = false;  // truncated BPTT: this chunk follows the previous one
};

// Sequences [begin, begin + count) of a batch (a data-parallel rank's shard), every field
// sliced along the batch dimension. Throws Error for a range outside [0, B).
TaskBatch slice_batch(const TaskBatch& batch, int64_t begin, int64_t count);

class TrainingTask {
 public:
  // Throws Error for a task the config cannot run (an unreadable text, one too short for
  // the batch).
  static std::unique_ptr<TrainingTask> create(const TaskConfig& config);
  virtual ~TrainingTask() = default;

  const std::string& name() const { return name_; }
  TaskInput input() const { return input_; }
  TaskOutput output() const { return output_; }
  int64_t input_size() const { return input_size_; }    // vocabulary (tokens) or features (values)
  int64_t output_size() const { return output_size_; }  // classes, or 1
  const std::string& metric_name() const { return metric_name_; }
  double baseline() const { return baseline_; }
  // The loss (mean cross-entropy in nats, or MSE) in the metric's unit.
  double metric(double loss) const { return loss * metric_scale_; }
  // The character corpus of a text task; null otherwise.
  virtual const CharCorpus* corpus() const { return nullptr; }

  // `step` counts from 1.
  virtual TaskBatch train_batch(uint64_t seed, int64_t step) const = 0;
  virtual TaskBatch eval_batch(uint64_t seed, int64_t index) const = 0;

 protected:
  TrainingTask() = default;
  std::string name_, metric_name_;
  TaskInput input_ = TaskInput::tokens;
  TaskOutput output_ = TaskOutput::class_per_step;
  int64_t input_size_ = 0, output_size_ = 0;
  double baseline_ = 0.0, metric_scale_ = 1.0;
};

}  // namespace rnnkit

// The training loop's state and one step of it: the store, the task, the model, the
// optimizer, the step count and (truncated BPTT) the carried recurrent state.
//
// One step k (k = 1, 2, ...):
//   batch    = task.train_batch(seed, k)                 (a function of seed and k alone)
//   dropout  masks from the stream (seed XOR mix(k), "{scope}/rnn/dropout")
//   loss     = model(batch; carried state if the chunk continues one)
//   gradient = d loss / d parameters                     (the store's one gradient buffer)
//   norm     = global gradient norm (logged); clipped if clip.norm > 0, by value if clip.value > 0
//   lr       = schedule.rate(optimizer.learning_rate, k)
//   update   the trainable variables (optimizer rule); frozen ones stay bit-identical
// So the state after step k is a function of the initial state and k: save() writes
// everything it depends on (parameters, optimizer slots and step count, the carried state)
// and resume() continues bit-identically to an uninterrupted run.
//
// Data parallel (set_communicator, train/communicator.h): rank r of N runs the step on its
// shard of the global batch (rows [r*B/N, (r+1)*B/N)); its loss gradient, weighted by
// count_r / B, is summed over the ranks with one all-reduce of the contiguous gradient
// buffer, so every rank holds the full batch's gradient and takes the same optimizer step
// (the optimizer state stays in step without communication). The logged loss, metric and
// accuracy are the full batch's (one small all-reduce); a carried state is reassembled for
// the whole batch after each step, so checkpoints do not depend on N and a run can resume
// with another N. Dropout masks are drawn per rank for its shard, so runs with dropout
// differ from a single process's (they remain valid runs).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rnnkit/autograd/tape.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/train/communicator.h"
#include "rnnkit/train/optimizer.h"
#include "rnnkit/train/run_config.h"
#include "rnnkit/train/sequence_model.h"
#include "rnnkit/train/task.h"
#include "rnnkit/train/transfer_report.h"

namespace rnnkit {

// Throws Error for an unknown optimizer name or options it rejects.
std::unique_ptr<Optimizer> create_optimizer(const OptimizerConfig& config);

struct StepRecord {
  int64_t step = 0;
  double loss = 0, metric = 0;     // the batch's loss, and in the task's unit
  std::optional<double> accuracy;  // classification tasks
  double gradient_norm = 0;        // before clipping
  double learning_rate = 0;
  double seconds = 0;
  double communication_seconds = 0;  // data parallel: time in the gradient all-reduce
  // The loss is more than kDivergingLossRatio times the first step's (of this process): the
  // run is diverging though every number is still finite.
  bool diverging = false;
};

inline constexpr double kDivergingLossRatio = 10.0;

struct EvalRecord {
  int64_t step = 0;
  double loss = 0, metric = 0;  // means over the evaluation batches
  std::optional<double> accuracy;
};

// At most how many parameter elements a Trainer may create (0: no limit), and why; see
// VariableStore::set_element_budget. A model about to be filled from a checkpoint is built only
// as large as the checkpoint can fill (checkpoint_budget in run_directory.h).
struct ParameterBudget {
  int64_t elements = 0;
  std::string reason;
};

class Trainer {
 public:
  // Builds the task, the store (seeded with config.seed) and the model's variables.
  explicit Trainer(RunConfig config, const ParameterBudget& budget = {});
  ~Trainer();

  // Warm start (config.transfer): restores the mapped, selected variables from init_from
  // (lenient: the rest keep their initial values), then freezes the freeze globs. Throws
  // Error if a map entry or a freeze glob matches nothing. Call before the first step.
  TransferReport transfer();

  // Trains data-parallel with the other ranks of `communicator` (null: alone); the caller
  // keeps it alive. Throws Error if the batch has fewer sequences than there are ranks.
  void set_communicator(Communicator* communicator);
  // Collective: throws Error unless every rank holds the same configuration, step and
  // parameters (checksums compared with one all-reduce). Call after set-up and whenever the
  // ranks should agree (rnnkit train: at start and at every checkpoint).
  void check_replicas();

  // One step. A non-finite loss, a non-finite gradient or an update that makes a parameter
  // non-finite throws Error naming the step and the first such variable; the step is not
  // taken (step() is unchanged), so nothing of it can be saved.
  StepRecord train_step();
  // Mean loss over config.train.eval_batches held-out batches; no state changes.
  EvalRecord evaluate();

  // Loads every variable from a checkpoint (a run's, or any with the model's names and
  // shapes; strict), e.g. to evaluate or sample. The step count and optimizer are left alone.
  void load_variables(const std::string& path);

  // A checkpoint with everything the next step depends on; written atomically.
  void save(const std::string& path) const;
  // Restores a checkpoint save() wrote for this configuration (strict). Throws Error naming
  // the file and what does not fit.
  void resume(const std::string& path);

  int64_t step() const { return step_; }
  const RunConfig& config() const { return config_; }
  VariableStore& store() { return store_; }
  const TrainingTask& task() const { return *task_; }
  SequenceModel& model() { return *model_; }

 private:
  RunConfig config_;
  std::unique_ptr<TrainingTask> task_;
  VariableStore store_;
  std::unique_ptr<SequenceModel> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Tape<float>> tape_;
  int64_t step_ = 0;
  double first_loss_ = 0;                // of the first step this process took
  Tensor<float> carry_h_, carry_c_;      // truncated BPTT: the state after the previous chunk
  std::vector<TaskBatch> eval_batches_;  // made at the first evaluation
  Communicator* communicator_ = nullptr;
};

}  // namespace rnnkit

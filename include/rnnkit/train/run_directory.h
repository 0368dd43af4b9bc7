// A training run's directory:
//   config.toml                      the whole configuration, every key (what --resume reads)
//   transfer.txt, transfer.json      where each variable's initial value came from
//   metrics.jsonl                    one JSON object per line: {"kind":"train","step":..} per
//                                    step, {"kind":"eval","step":..} per evaluation
//   checkpoints/step-NNNNNNN.safetensors   atomic; with optimizer state (train/trainer.h);
//                                    step 0 is the model at initialization
// Files other than metrics.jsonl are written atomically; metrics.jsonl is appended, and on
// resume cut back to the checkpoint's step, so that it reads as one uninterrupted run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/train/run_config.h"
#include "rnnkit/train/trainer.h"

namespace rnnkit {

class RunDirectory {
 public:
  // Creates `path` (and its parents) and writes config.toml. Throws Error if `path` exists
  // and is not an empty directory.
  static RunDirectory create(const std::string& path, const RunConfig& config);
  // Opens an existing run. Throws Error if it has no config.toml.
  static RunDirectory open(const std::string& path);

  const std::string& path() const { return path_; }
  RunConfig config() const;
  std::string checkpoint_path(int64_t step) const;
  // The checkpoint with the highest step, if any.
  std::optional<std::string> latest_checkpoint() const;
  // The step a checkpoint path names (step-NNNNNNN.safetensors). Throws Error otherwise.
  static int64_t checkpoint_step(const std::string& path);

  void append_metrics(const std::string& json_line) const;
  // Keeps the metrics lines whose step is <= `step` (rewritten atomically).
  void truncate_metrics(int64_t step) const;
  // Writes `name` inside the run directory atomically.
  void write(const std::string& name, const std::string& text) const;

  // Takes the run's lock (an flock on rnnkit.lock, holding the owner's pid) for as long as
  // this object or a copy lives: one writer per run. Throws Error naming the pid that holds it.
  void lock();
  // With the lock held: removes what writes killed mid-way left behind (rnnkit's own
  // temporary files, .NAME.tmp-PID-N, in the directory and checkpoints/); returns how many.
  int remove_stale_temporaries() const;

 private:
  explicit RunDirectory(std::string path) : path_(std::move(path)) {}
  struct Lock;
  std::string path_;
  std::shared_ptr<Lock> lock_;
};

// What `rnnkit evaluate` and `rnnkit sample` were pointed at: a run directory (its
// config.toml and latest checkpoint) or a checkpoint a run wrote (its configuration is in
// the rnnkit.run_config metadata). Throws Error naming the path otherwise.
struct RunCheckpoint {
  RunConfig config;
  std::string checkpoint;
  ParameterBudget budget;  // checkpoint_budget of the checkpoint: build the Trainer with it
};
RunCheckpoint locate_run_checkpoint(const std::string& path);

// As many elements as the checkpoint's tensors hold in all: a run config recorded in (or next
// to) a file may not describe a model larger than the file can fill.
ParameterBudget checkpoint_budget(const SafetensorsFile& file);

std::string metrics_line(const StepRecord& record);
std::string metrics_line(const EvalRecord& record);

}  // namespace rnnkit

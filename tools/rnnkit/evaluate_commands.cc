// rnnkit evaluate and rnnkit sample: use what a training run produced.
//   evaluate RUN_DIR|CKPT   the held-out loss in the task's unit, beside its baseline
//   sample RUN_DIR|CKPT     text from a character-level model
#include <iostream>

#include "commands.h"
#include "rnnkit/core/error.h"
#include "rnnkit/train/run_directory.h"
#include "rnnkit/train/sample.h"
#include "rnnkit/train/task_text.h"
#include "rnnkit/train/trainer.h"

namespace rnnkit::cli {
namespace {

// The checkpoint's run config with its text located: where it was pinned, or --text.
RunCheckpoint locate(const std::string& target, const std::string& text) {
  RunCheckpoint located = locate_run_checkpoint(target);
  locate_task_text(located.config.task, text, "'" + target + "'");
  return located;
}

constexpr const char* kTextHelp =
    "The text the model was trained on, if it is no longer where the run recorded it or the run does not "
    "record its size and sha256 (checked against them when it does)";

struct EvaluateArgs {
  std::string target;
  std::string text;
  int64_t batches = 0;
  int threads = 0;
};

void run_evaluate(const EvaluateArgs& args) {
  apply_threads(args.threads);
  RunCheckpoint located = locate(args.target, args.text);
  if (args.batches > 0) located.config.train.eval_batches = args.batches;
  Trainer trainer(located.config, located.budget);
  trainer.load_variables(located.checkpoint);
  const EvalRecord r = trainer.evaluate();
  const TrainingTask& task = trainer.task();
  std::cout << "checkpoint: " << located.checkpoint << "\ntask " << task.name() << ", "
            << located.config.train.eval_batches << " held-out batches of " << located.config.task.batch_size
            << "\nloss: " << r.loss << " (" << r.metric << " " << task.metric_name() << ")\n";
  if (r.accuracy) std::cout << "accuracy: " << *r.accuracy << "\n";
  std::cout << "baseline: " << task.baseline() << " " << task.metric_name() << "\n";
}

struct SampleArgs {
  std::string target;
  std::string text;
  SampleOptions options;
  int threads = 0;
};

void run_sample(const SampleArgs& args) {
  apply_threads(args.threads);
  const RunCheckpoint located = locate(args.target, args.text);
  if (located.config.task.name != "char_lm") {
    throw Error("sample: '" + args.target + "' is a model of task " + located.config.task.name +
                "; text comes from char_lm models");
  }
  Trainer trainer(located.config, located.budget);
  trainer.load_variables(located.checkpoint);
  std::cout << sample_text(trainer.model(), trainer.store(), *trainer.task().corpus(), args.options) << "\n";
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Held-out loss of a trained model beside its task's baseline");
  cmd->add_option("target", args->target, "A run directory (its latest checkpoint) or a checkpoint rnnkit train wrote")
      ->required();
  cmd->add_option("--batches", args->batches, "Held-out batches (default: the run's train.eval_batches)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--text", args->text, kTextHelp);
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_evaluate(*args); });
}

void add_sample_command(CLI::App& app) {
  auto args = std::make_shared<SampleArgs>();
  CLI::App* cmd = app.add_subcommand("sample", "Generate text from a character-level model");
  cmd->add_option("target", args->target, "A run directory (its latest checkpoint) or a checkpoint rnnkit train wrote")
      ->required();
  cmd->add_option("--length", args->options.length, "Characters to generate (default 200)")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--temperature", args->options.temperature, "Softmax temperature; 0 picks the likeliest (default 1)")
      ->check(kFiniteNumber & CLI::Range(0.0, 100.0));
  cmd->add_option("--seed", args->options.seed, "Seed of the sampling stream (default 0)");
  cmd->add_option("--prompt", args->options.prompt, "Text to start from (its characters must be in the vocabulary)");
  cmd->add_option("--text", args->text, kTextHelp);
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_sample(*args); });
}

}  // namespace rnnkit::cli

// rnnkit train: train a model on a built-in task from a config, in a run directory, with a
// progress display, metrics, checkpoints, warm starts from other checkpoints and resume.
// Ctrl-C saves a checkpoint after the current step and exits with status 130.
//
// Started by mpirun (or another MPI launcher), every rank runs this same command: the ranks
// train data-parallel (Trainer::set_communicator), check at start and at every checkpoint
// that they hold the same state, and stop together after a Ctrl-C; rank 0 alone evaluates,
// prints and writes the run directory. An error on one rank ends the whole job (MPI_Abort),
// so no rank waits forever for a partner that is gone.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <thread>

#if RNNKIT_HAVE_MPI
#include <mpi.h>
#endif

#include "commands.h"
#include "interrupts.h"
#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/core/threads.h"
#include "rnnkit/train/mpi.h"
#include "rnnkit/train/run_directory.h"
#include "rnnkit/train/task_text.h"
#include "rnnkit/train/trainer.h"

namespace rnnkit::cli {
namespace {

struct TrainArgs {
  std::string config, init_from, resume, run_dir;
  std::string text;  // with --resume: where the run's text is now
  std::vector<std::string> maps, include, exclude, freeze;
  int64_t steps = 0;
  int threads = 0;
};

std::string default_run_dir() {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::string("runs/") + stamp;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

// What one step or evaluation reads like: "2.314 bits/char (acc 0.41)".
std::string result_text(const TrainingTask& task, double metric, const std::optional<double>& accuracy) {
  std::string s = fixed(metric, 4) + " " + task.metric_name();
  if (accuracy) s += " (accuracy " + fixed(*accuracy, 3) + ")";
  return s;
}

class Progress {
 public:
  Progress(int64_t first, int64_t total, int64_t every)
      : tty_(isatty(STDERR_FILENO) != 0),
        first_(first),
        total_(total),
        every_(every),
        start_(std::chrono::steady_clock::now()) {}

  void step(const TrainingTask& task, const StepRecord& r) {
    if (!tty_ && r.step % every_ != 0 && r.step != total_) return;
    const auto now = std::chrono::steady_clock::now();
    if (tty_ && r.step != total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;  // 10 redraws/s at most
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = static_cast<double>(r.step - first_) / std::max(elapsed, 1e-9);
    const double eta = static_cast<double>(total_ - r.step) / std::max(rate, 1e-9);
    std::string text = "step " + std::to_string(r.step) + "/" + std::to_string(total_);
    if (tty_) {
      constexpr int kWidth = 24;
      const auto filled = static_cast<int>(kWidth * r.step / std::max<int64_t>(total_, 1));
      text += " [" + std::string(static_cast<std::size_t>(filled), '=') +
              std::string(static_cast<std::size_t>(kWidth - filled), ' ') + "]";
    }
    text += "  loss " + fixed(r.loss, 4) + "  " + result_text(task, r.metric, r.accuracy) + "  |g| " +
            fixed(r.gradient_norm, 3) + "  " + fixed(rate, 1) + " steps/s  ETA " + clock_text(eta);
    if (tty_) {
      std::cerr << "\r" << text << "\033[K" << std::flush;
      open_line_ = true;
    } else {
      std::cout << text << std::endl;
    }
  }

  // A line that stays (an evaluation, a checkpoint), printed above the bar.
  void line(const std::string& text) {
    if (open_line_) std::cerr << "\r\033[K";
    std::cout << text << std::endl;
  }

  void warn(const std::string& text) {
    if (open_line_) std::cerr << "\r\033[K";
    std::cerr << "warning: " << text << std::endl;
  }

  void finish() {
    if (open_line_) std::cerr << "\n";
    open_line_ = false;
  }

 private:
  bool tty_;
  int64_t first_, total_, every_;
  std::chrono::steady_clock::time_point start_, last_draw_{};
  bool open_line_ = false;
};

void describe(Trainer& trainer, const std::string& dir) {
  const RunConfig& c = trainer.config();
  const TrainingTask& task = trainer.task();
  const RecurrentSpec& spec = trainer.model().spec();
  std::cout << "run " << dir << ": task " << task.name() << " (T=" << c.task.steps << ", B=" << c.task.batch_size
            << "), " << (spec.bidirectional ? "bidirectional " : "") << cell_name(spec.cell)
            << " H=" << spec.hidden_size << " L=" << spec.num_layers << " under '" << c.model.scope << "', "
            << trainer.store().parameter_count() << " parameters, " << c.optimizer.name << " lr "
            << c.optimizer.learning_rate << ", seed " << c.seed << "\n"
            << "baseline: " << fixed(task.baseline(), 4) << " " << task.metric_name() << "\n";
}

void train(const TrainArgs& args, Communicator* comm) {
  const bool leader = comm == nullptr || comm->rank() == 0;
  if (!args.resume.empty() &&
      (!args.config.empty() || !args.init_from.empty() || !args.maps.empty() || !args.include.empty() ||
       !args.exclude.empty() || !args.freeze.empty() || !args.run_dir.empty())) {
    throw CLI::ValidationError("--resume",
                               "continues a run as it was configured: it takes only --steps, --threads and --text");
  }
  if (args.resume.empty() && !args.text.empty()) {
    throw CLI::ValidationError("--text", "names a resumed run's text; a new run's text is [task] text in --config");
  }
  std::optional<RunDirectory> dir;
  std::optional<Trainer> trainer;
  // A new run, in a new directory or (resuming a run that never saved step 0) its own.
  auto start = [&](RunConfig config) {
    trainer.emplace(config);
    const TransferReport report = trainer->transfer();  // before the directory: a bad map leaves nothing behind
    trainer->set_communicator(comm);
    trainer->check_replicas();
    if (!leader) return;
    if (!dir) {
      dir = RunDirectory::create(args.run_dir.empty() ? default_run_dir() : args.run_dir, config);
      dir->lock();
    }
    dir->write("transfer.txt", report.to_text());
    dir->write("transfer.json", report.to_json());
    describe(*trainer, dir->path());
    if (comm) {
      std::cout << "data parallel: " << comm->size() << " ranks, " << config.task.batch_size
                << " sequences per global batch, " << get_threads() << " thread(s) per rank\n";
    }
    if (!config.transfer.init_from.empty() || !config.transfer.freeze.empty()) std::cout << report.to_text();
    trainer->save(dir->checkpoint_path(0));
  };
  std::optional<std::string> latest;
  if (!args.resume.empty()) {
    dir = RunDirectory::open(args.resume);
    if (leader) {
      dir->lock();
      if (const int removed = dir->remove_stale_temporaries(); removed > 0) {
        std::cout << "removed " << removed << " temporary file(s) of an interrupted write\n";
      }
    }
    latest = dir->latest_checkpoint();
  }
  if (!args.resume.empty() && !latest) {
    // Even step 0 was never saved (the disk was full, say): the run starts again from its
    // config.toml, which gives the same step 0 a completed save would have held.
    RunConfig config = dir->config();
    if (args.steps > 0) config.train.steps = args.steps;
    locate_task_text(config.task, args.text, "run directory '" + args.resume + "'");
    if (leader) {
      std::cout << "run directory '" << args.resume << "' has no checkpoint: starting the run again from its "
                << "config.toml\n";
      dir->truncate_metrics(-1);
    }
    start(config);
  } else if (!args.resume.empty()) {
    RunConfig config = dir->config();
    if (args.steps > 0) config.train.steps = args.steps;
    locate_task_text(config.task, args.text, "run directory '" + args.resume + "'");
    trainer.emplace(config, checkpoint_budget(SafetensorsFile::read(*latest)));
    trainer->resume(*latest);
    trainer->set_communicator(comm);
    trainer->check_replicas();
    if (leader) {
      dir->truncate_metrics(trainer->step());
      describe(*trainer, dir->path());
      std::cout << "resumed from " << *latest << " at step " << trainer->step() << "\n";
    }
  } else {
    RunConfig config = args.config.empty() ? parse_run_config("", "(defaults)") : read_run_config(args.config);
    if (args.steps > 0) config.train.steps = args.steps;
    TransferConfig& t = config.transfer;
    if (!args.init_from.empty()) t.init_from = args.init_from;
    for (const std::string& m : args.maps) t.map.push_back(parse_rename(m));
    t.include.insert(t.include.end(), args.include.begin(), args.include.end());
    t.exclude.insert(t.exclude.end(), args.exclude.begin(), args.exclude.end());
    t.freeze.insert(t.freeze.end(), args.freeze.begin(), args.freeze.end());
    pin_task_text(config.task);  // the path made absolute, with its size and sha256
    start(config);
  }
  const RunConfig& c = trainer->config();
  const TrainingTask& task = trainer->task();
  // The first Ctrl-C asks for a checkpoint after the current step; a second one ends the
  // process at once (interrupts.h).
  defer_interrupts();
  if (trainer->step() >= c.train.steps) {
    if (!leader) return;
    std::cout << "nothing to do: the run is at step " << trainer->step() << " of " << c.train.steps
              << " (--steps N continues it further)\n";
    return;
  }
  Progress progress(trainer->step(), c.train.steps, c.train.log_every);
  std::optional<EvalRecord> last_eval;
  bool warned_diverging = false;
  while (trainer->step() < c.train.steps) {
    const StepRecord r = trainer->train_step();
    if (r.diverging && !warned_diverging && leader) {
      warned_diverging = true;
      progress.warn("at step " + std::to_string(r.step) + " the loss (" + fixed(r.loss, 4) + ") is more than " +
                    fixed(kDivergingLossRatio, 0) +
                    " times its first value: the run is diverging; lower the learning rate or clip gradients "
                    "([clip] norm)");
    }
    const bool last = r.step == c.train.steps;
    const bool interrupted =
        comm ? comm->any(interrupt_requested()) : interrupt_requested();  // all ranks stop together
    const bool checkpoint =
        (c.train.checkpoint_every > 0 && r.step % c.train.checkpoint_every == 0) || last || interrupted;
    if (checkpoint) trainer->check_replicas();
    if (!leader) {
      if (interrupted && !last) throw ExitStatus{130};
      continue;
    }
    dir->append_metrics(metrics_line(r));
    progress.step(task, r);
    if ((c.train.eval_every > 0 && r.step % c.train.eval_every == 0) || last) {
      last_eval = trainer->evaluate();
      dir->append_metrics(metrics_line(*last_eval));
      progress.line("eval at step " + std::to_string(r.step) + ": " +
                    result_text(task, last_eval->metric, last_eval->accuracy) + " on held-out batches");
    }
    if (checkpoint) trainer->save(dir->checkpoint_path(r.step));
    if (interrupted && !last) {
      progress.finish();
      end_deferring_interrupts();
      std::cout << "interrupted at step " << r.step << ": saved " << dir->checkpoint_path(r.step)
                << "\ncontinue with: rnnkit train --resume " << dir->path() << "\n";
      throw ExitStatus{130};
    }
  }
  progress.finish();
  end_deferring_interrupts();
  if (last_eval) {
    // Every task's metric is a loss: lower is better.
    const double gain = task.baseline() - last_eval->metric;
    std::cout << "result: " << result_text(task, last_eval->metric, last_eval->accuracy) << " on held-out data after "
              << trainer->step() << " steps; baseline " << fixed(task.baseline(), 4) << " " << task.metric_name()
              << (gain > 0 ? " (" + fixed(100.0 * gain / task.baseline(), 1) + "% below it)" : " (not below it)")
              << "\ncheckpoint: " << dir->checkpoint_path(trainer->step()) << "\n";
  }
}

// Ends every rank of the MPI job: after an error on one rank the others would wait for it forever.
[[noreturn]] void abort_job(int code) {
#if RNNKIT_HAVE_MPI
  MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

void run_train(const TrainArgs& args) {
  const int ranks = launched_job_size();
  if (ranks == 1) {
    apply_threads(args.threads);
    train(args, nullptr);
    return;
  }
  // Without --threads or OMP_NUM_THREADS (which count per rank), the ranks on this machine
  // share its cores.
  const bool omp_set = std::getenv("OMP_NUM_THREADS") != nullptr;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  apply_threads(args.threads > 0 ? args.threads
                : omp_set        ? default_threads()
                                 : std::max(1, cores / launched_local_size()));
  const std::unique_ptr<Communicator> comm = join_mpi_job();
  try {
    train(args, comm.get());
  } catch (const ExitStatus&) {
    throw;  // every rank stops at the same step
  } catch (const CLI::Error&) {
    throw;  // the same arguments on every rank: every rank reports it
  } catch (const std::exception& e) {
    std::cerr << "rnnkit: error on rank " << comm->rank() << " of " << comm->size() << ": " << e.what()
              << "\nrnnkit: ending every rank of the job\n";
    abort_job(1);
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd =
      app.add_subcommand("train", "Train a model on a built-in task (defaults: a character LSTM, ~1 minute)");
  cmd->add_option("--config", args->config, "Run configuration (TOML; docs/config.md). Default: the defaults")
      ->check(CLI::ExistingFile);
  cmd->add_option("--init-from", args->init_from, "Checkpoint to warm-start variables from")->check(CLI::ExistingFile);
  cmd->add_option("--map", args->maps, "OLD=NEW: checkpoint name (or prefix ending in /) -> model name (repeatable)");
  cmd->add_option("--include", args->include, "Load only model variables matching GLOB (repeatable)");
  cmd->add_option("--exclude", args->exclude, "Do not load model variables matching GLOB (repeatable)");
  cmd->add_option("--freeze", args->freeze, "Keep variables matching GLOB unchanged (repeatable)");
  cmd->add_option("--resume", args->resume, "Continue the run in RUN_DIR from its latest checkpoint");
  cmd->add_option("--text", args->text,
                  "With --resume: the run's text file, if it moved or the run does not record its size and "
                  "sha256 (it must be the text the run recorded)");
  cmd->add_option("--run-dir", args->run_dir, "Directory for this run (default: runs/DATE-TIME)");
  cmd->add_option("--steps", args->steps, "Train until this step (overrides train.steps)")
      ->check(CLI::Range(1, 1 << 30));
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_train(*args); });
}

}  // namespace rnnkit::cli

// Data-parallel training over MPI, end to end through `mpirun -np 2 rnnkit train`: two ranks
// equal one process on the same global batches, a run resumes with another number of ranks,
// ranks that disagree are stopped, and a rank that dies or fails ends the job instead of
// leaving the others waiting. Skipped where rnnkit was built without MPI or mpirun is
// missing; there the build's own message is tested instead.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/train/mpi.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::read_text;
using test::run_cli;
using test::TempDir;

// Open MPI refuses to run as root without these (CI runs as root); --oversubscribe lets two
// ranks share fewer cores.
const std::string kMpirun = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe ";

bool mpi_runnable() { return mpi_built() && std::system("command -v mpirun >/dev/null 2>&1") == 0; }

// `mpirun -np N rnnkit ARGS`, output and exit code.
test::CommandResult run_mpi(int ranks, const std::string& args) {
  return test::run_shell(kMpirun + "-np " + std::to_string(ranks) + " " + RNNKIT_CLI_PATH + " " + args);
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<nlohmann::json> metrics(const std::string& run_dir, const char* kind) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j["kind"] == kind) out.push_back(j);
  }
  return out;
}

// The largest difference between two checkpoints' tensors (variables and state), after
// checking that they hold the same names and shapes.
double max_difference(const std::string& a_path, const std::string& b_path) {
  const SafetensorsFile a = SafetensorsFile::read(a_path), b = SafetensorsFile::read(b_path);
  EXPECT_EQ(a.entries().size(), b.entries().size());
  double largest = 0;
  for (const SafetensorsEntry& e : a.entries()) {
    const SafetensorsEntry* f = b.find(e.name);
    if (f == nullptr || f->shape != e.shape) {
      ADD_FAILURE() << e.name << " is missing or misshapen in " << b_path;
      continue;
    }
    const Tensor<double> x = a.to_double(e), y = b.to_double(*f);
    largest = test::nan_max(largest, test::max_abs_difference(x.data(), y.data(), x.numel()));
  }
  return largest;
}

// A character LSTM with truncated BPTT (a carried state), clipping and Adam, 8 sequences per
// batch; and the adding problem with 5 (shards of 2 and 3 rows).
constexpr const char* kLanguageModel = R"toml(
seed = 5
[model]
hidden_size = 16
embedding_size = 8
[task]
steps = 12
batch_size = 8
truncated_bptt = true
[clip]
norm = 0.5
[train]
steps = 20
log_every = 10
eval_every = 10
eval_batches = 1
checkpoint_every = 10
)toml";

constexpr const char* kAdding = R"toml(
seed = 2
[model]
cell = "gru"
hidden_size = 12
[task]
name = "adding"
steps = 10
batch_size = 5
[optimizer]
name = "sgd"
learning_rate = 0.05
momentum = 0.9
[train]
steps = 20
eval_every = 0
checkpoint_every = 10
)toml";

// Two ranks against one process: the losses of every step and every final tensor agree to
// float32 reduction tolerance. The only difference is the order in which the gradient's
// float32 terms are added (two half-batch sums, then their sum, against one sum over the
// batch): about one unit in the last place per element and step. Measured here: 6e-8 on
// parameters of magnitude up to 4, relative loss differences of 4e-8. Asserted: 2e-6
// absolute on every tensor after 20 steps, 1e-6 relative on every loss.
TEST(DistributedCli, TwoRanksTrainLikeOneProcessOnTheSameGlobalBatches) {
  if (!mpi_runnable()) GTEST_SKIP() << "rnnkit was built without MPI or mpirun is missing";
  for (const char* config : {kLanguageModel, kAdding}) {
    TempDir dir;
    write(dir.file("c.toml"), config);
    const auto one = run_cli("train --config " + dir.file("c.toml") + " --run-dir " + dir.file("one") + " --threads 1");
    ASSERT_EQ(one.exit_code, 0) << one.output;
    const auto two =
        run_mpi(2, "train --config " + dir.file("c.toml") + " --run-dir " + dir.file("two") + " --threads 1");
    ASSERT_EQ(two.exit_code, 0) << two.output;
    EXPECT_NE(two.output.find("data parallel: 2 ranks"), std::string::npos) << two.output;
    const auto a = metrics(dir.file("one"), "train"), b = metrics(dir.file("two"), "train");
    ASSERT_EQ(a.size(), 20u);
    ASSERT_EQ(b.size(), 20u);  // rank 0 alone writes
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double x = a[i]["loss"], y = b[i]["loss"];
      EXPECT_NEAR(x, y, 1e-6 * std::abs(x)) << "step " << i + 1;
      EXPECT_TRUE(b[i].contains("allreduce_seconds"));
    }
    EXPECT_LE(max_difference(dir.file("one/checkpoints/step-0000020.safetensors"),
                             dir.file("two/checkpoints/step-0000020.safetensors")),
              2e-6);
  }
}

// Half the run on two ranks, the rest on one process, from the same checkpoint: the global
// batch, the data order and the carried state do not depend on the number of ranks.
TEST(DistributedCli, ARunResumesWithAnotherNumberOfRanks) {
  if (!mpi_runnable()) GTEST_SKIP() << "rnnkit was built without MPI or mpirun is missing";
  TempDir dir;
  write(dir.file("c.toml"), kLanguageModel);
  ASSERT_EQ(
      run_cli("train --config " + dir.file("c.toml") + " --run-dir " + dir.file("one") + " --threads 1").exit_code, 0);
  const auto half = run_mpi(
      2, "train --config " + dir.file("c.toml") + " --run-dir " + dir.file("mixed") + " --steps 10 --threads 1");
  ASSERT_EQ(half.exit_code, 0) << half.output;
  const auto rest = run_cli("train --resume " + dir.file("mixed") + " --steps 20 --threads 1");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_LE(max_difference(dir.file("one/checkpoints/step-0000020.safetensors"),
                           dir.file("mixed/checkpoints/step-0000020.safetensors")),
            2e-6);
  // And back: resumed on two ranks from a single process's checkpoint.
  const auto back = run_mpi(2, "train --resume " + dir.file("mixed") + " --steps 30 --threads 1");
  ASSERT_EQ(back.exit_code, 0) << back.output;
  EXPECT_EQ(metrics(dir.file("mixed"), "train").size(), 30u);
}

// Ranks started with different configurations (here, different seeds) stop at start-up.
TEST(DistributedCli, RanksThatDisagreeAreStoppedWithAClearMessage) {
  if (!mpi_runnable()) GTEST_SKIP() << "rnnkit was built without MPI or mpirun is missing";
  TempDir dir;
  write(dir.file("a.toml"), kAdding);
  std::string other = kAdding;
  other.replace(other.find("seed = 2"), 8, "seed = 3");
  write(dir.file("b.toml"), other);
  const std::string rnnkit = RNNKIT_CLI_PATH;
  const auto r = test::run_shell(kMpirun + "-np 1 " + rnnkit + " train --config " + dir.file("a.toml") + " --run-dir " +
                                 dir.file("run") + " : -np 1 " + rnnkit + " train --config " + dir.file("b.toml") +
                                 " --run-dir " + dir.file("run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("the ranks run different configurations"), std::string::npos) << r.output;
}

// An error on one rank (rank 0 cannot create its run directory: a file is in the way) ends
// the job at once rather than leaving rank 1 waiting in the first all-reduce.
TEST(DistributedCli, AnErrorOnOneRankEndsTheJob) {
  if (!mpi_runnable()) GTEST_SKIP() << "rnnkit was built without MPI or mpirun is missing";
  TempDir dir;
  write(dir.file("c.toml"), kAdding);
  write(dir.file("taken"), "a file, not a directory");
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_mpi(2, "train --config " + dir.file("c.toml") + " --run-dir " + dir.file("taken/run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("error on rank 0 of 2"), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

// The pid of rank `rank`'s rnnkit process of the run in `run_dir` (0 if none yet).
int rank_pid(const std::string& run_dir, int rank) {
  const std::string find = "for p in $(pgrep -f '" + run_dir +
                           "'); do if tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=" +
                           std::to_string(rank) + "; then echo $p; fi; done";
  const test::CommandResult r = test::run_shell(find);
  return std::atoi(r.output.c_str());
}

// Starts `mpirun -np 2 rnnkit train` on a long run in the background and waits for its first
// checkpoint; the exit status lands in dir/status.
struct LongJob {
  TempDir dir;
  std::thread job;
  LongJob() {
    std::string config = kAdding;
    config.replace(config.find("steps = 20"), 10, "steps = 1000000");
    write(dir.file("c.toml"), config);
    const std::string command = kMpirun + "-np 2 " + std::string(RNNKIT_CLI_PATH) + " train --config " +
                                dir.file("c.toml") + " --run-dir " + dir.file("run") + " --threads 1 > " + log() +
                                " 2>&1; echo $? > " + dir.file("status");
    job = std::thread([command] { std::system(command.c_str()); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!std::filesystem::exists(dir.file("run/checkpoints/step-0000010.safetensors")) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~LongJob() {  // a test that failed half-way must not leave a job running forever
    if (!job.joinable()) return;
    std::system(("pkill -KILL -f '" + run() + "'").c_str());
    job.join();
  }
  std::string log() const { return dir.file("log.txt"); }
  std::string run() const { return dir.file("run"); }
  // Sends `signal` to rank `rank`'s process; false if it was not found.
  bool signal_rank(int rank, int signal) const {
    const int pid = rank_pid(run(), rank);
    return pid > 0 && ::kill(pid, signal) == 0;
  }
};

// SIGINT to one rank: every rank stops after the same step, rank 0 saves, the job exits 130.
TEST(DistributedCli, AnInterruptToOneRankStopsEveryRankAfterACheckpoint) {
  if (!mpi_runnable()) GTEST_SKIP() << "rnnkit was built without MPI or mpirun is missing";
  LongJob j;
  ASSERT_TRUE(j.signal_rank(1, SIGINT)) << read_text(j.log());
  j.job.join();
  EXPECT_EQ(read_text(j.dir.file("status")), "130\n") << read_text(j.log());
  const std::string log = read_text(j.log());
  const std::size_t at = log.find("interrupted at step ");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string step = log.substr(at + 20, log.find(':', at) - at - 20);
  char name[64];
  std::snprintf(name, sizeof name, "/checkpoints/step-%07d.safetensors", std::atoi(step.c_str()));
  EXPECT_NO_THROW(SafetensorsFile::read(j.run() + name)) << log;
}

// A rank killed mid-run (SIGKILL: no chance to say goodbye) makes mpirun end the others; the
// checkpoints written before stay whole.
TEST(DistributedCli, ARankThatDiesEndsTheJobAndLeavesTheCheckpointsWhole) {
  if (!mpi_runnable()) GTEST_SKIP() << "rnnkit was built without MPI or mpirun is missing";
  LongJob j;
  ASSERT_TRUE(j.signal_rank(1, SIGKILL)) << read_text(j.log());
  const auto killed = std::chrono::steady_clock::now();
  j.job.join();
  EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::seconds(60)) << "the job outlived its rank";
  EXPECT_NE(read_text(j.dir.file("status")), "0\n") << read_text(j.log());
  for (const auto& entry : std::filesystem::directory_iterator(j.run() + "/checkpoints")) {
    if (entry.path().extension() != ".safetensors") continue;
    EXPECT_NO_THROW(SafetensorsFile::read(entry.path().string())) << entry.path();
  }
}

// Without MPI in the build, a process that a launcher started says how to get MPI.
TEST(DistributedCli, ABuildWithoutMpiSaysHowToGetIt) {
  if (mpi_built()) GTEST_SKIP() << "this build has MPI";
  const auto r = test::run_shell("OMPI_COMM_WORLD_SIZE=2 " + std::string(RNNKIT_CLI_PATH) + " train --steps 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("built without MPI"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("libopenmpi-dev"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rnnkit

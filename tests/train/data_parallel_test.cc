// Data-parallel training through the library, without MPI: two trainers in two threads joined
// by an in-process communicator train like one trainer on the same global batches, and
// disagreeing replicas are caught. (The MPI path end to end: tests/cli/distributed_cli_test.cc.)
#include <gtest/gtest.h>

#include <barrier>
#include <cmath>
#include <thread>

#include "rnnkit/train/communicator.h"
#include "rnnkit/train/trainer.h"
#include "test_support.h"

namespace rnnkit {
namespace {

// N threads as ranks: each sum writes the rank's values into its slot, and every rank adds the
// slots in rank order, so all ranks get the same bits.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), slots_(static_cast<std::size_t>(size)), barrier_(size) {}
  template <class T>
  void sum(int rank, std::span<T> values) {
    slots_[static_cast<std::size_t>(rank)].assign(values.begin(), values.end());
    barrier_.arrive_and_wait();
    for (std::size_t i = 0; i < values.size(); ++i) {
      double s = 0;
      for (const std::vector<double>& slot : slots_) s += slot[i];
      values[i] = static_cast<T>(s);
    }
    barrier_.arrive_and_wait();  // nobody overwrites a slot another rank still reads
  }
  int size() const { return size_; }

 private:
  int size_;
  std::vector<std::vector<double>> slots_;
  std::barrier<> barrier_;
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(ThreadGroup& group, int rank) : group_(&group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  void sum(std::span<float> values) override { group_->sum(rank_, values); }
  void sum(std::span<double> values) override { group_->sum(rank_, values); }
  // Sums of the value's four 16-bit parts and of their squares (exact in double): the parts
  // are equal on every rank iff n * sum(x^2) == sum(x)^2.
  bool same_everywhere(uint64_t value) override {
    double sums[8];
    for (int i = 0; i < 4; ++i) {
      const auto part = static_cast<double>((value >> (16 * i)) & 0xffffu);
      sums[i] = part;
      sums[4 + i] = part * part;
    }
    group_->sum(rank_, std::span<double>(sums));
    for (int i = 0; i < 4; ++i) {
      if (sums[4 + i] * size() != sums[i] * sums[i]) return false;
    }
    return true;
  }
  bool any(bool value) override {
    double v[1] = {value ? 1.0 : 0.0};
    group_->sum(rank_, std::span<double>(v));
    return v[0] > 0;
  }

 private:
  ThreadGroup* group_;
  int rank_;
};

RunConfig config(const char* task) {
  const std::string text = R"toml(
seed = 4
[model]
hidden_size = 12
embedding_size = 6
[task]
steps = 10
batch_size = 7
[clip]
norm = 0.5
[train]
steps = 12
)toml";
  RunConfig c = parse_run_config(text, "(test)");
  c.task.name = task;
  if (c.task.name == "char_lm") c.task.truncated_bptt = true;  // a carried state, reassembled across ranks
  return c;
}

// Runs `steps` steps on `ranks` trainers in as many threads; returns the trainers.
std::vector<std::unique_ptr<Trainer>> train_in_threads(const RunConfig& c, int ranks, int steps,
                                                       std::vector<std::vector<double>>& losses) {
  ThreadGroup group(ranks);
  std::vector<std::unique_ptr<Trainer>> trainers;
  std::vector<ThreadCommunicator> communicators;
  for (int r = 0; r < ranks; ++r) {
    trainers.push_back(std::make_unique<Trainer>(c));
    communicators.emplace_back(group, r);
  }
  losses.assign(static_cast<std::size_t>(ranks), {});
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      trainers[r]->set_communicator(&communicators[r]);
      trainers[r]->check_replicas();
      for (int k = 0; k < steps; ++k) losses[r].push_back(trainers[r]->train_step().loss);
      trainers[r]->check_replicas();
      trainers[r]->set_communicator(nullptr);
    });
  }
  for (std::thread& t : threads) t.join();
  return trainers;
}

// Shards of 7 sequences over 2 and 3 ranks (4+3, 2+2+3) against one trainer; the tolerance is
// the order of float32 additions in the gradient, as in the MPI test (measured there: 6e-8).
TEST(DataParallel, ThreadsAsRanksTrainLikeOneTrainer) {
  for (const char* task : {"char_lm", "adding", "typo"}) {
    SCOPED_TRACE(task);
    const RunConfig c = config(task);
    Trainer alone(c);
    std::vector<double> expected;
    for (int k = 0; k < 12; ++k) expected.push_back(alone.train_step().loss);
    for (const int ranks : {2, 3}) {
      std::vector<std::vector<double>> losses;
      const auto trainers = train_in_threads(c, ranks, 12, losses);
      for (int r = 0; r < ranks; ++r) {
        for (int k = 0; k < 12; ++k)
          EXPECT_NEAR(losses[r][k], expected[k], 1e-6 * std::abs(expected[k])) << r << " " << k;
      }
      const std::span<float> a = alone.store().parameters<float>(), b = trainers[0]->store().parameters<float>();
      double largest = 0;
      for (std::size_t i = 0; i < a.size(); ++i) largest = test::nan_max(largest, std::abs(double(a[i]) - b[i]));
      EXPECT_LE(largest, 2e-6) << ranks << " ranks";
    }
  }
}

TEST(DataParallel, DisagreeingReplicasAndTooManyRanksAreErrors) {
  RunConfig a = config("adding"), b = config("adding");
  b.seed = 5;
  ThreadGroup group(2);
  ThreadCommunicator first(group, 0), second(group, 1);
  Trainer ta(a), tb(b);
  ta.set_communicator(&first);
  tb.set_communicator(&second);
  std::string errors[2];
  std::thread t0([&] { errors[0] = test::error_of([&] { ta.check_replicas(); }); });
  std::thread t1([&] { errors[1] = test::error_of([&] { tb.check_replicas(); }); });
  t0.join();
  t1.join();
  for (const std::string& e : errors)
    EXPECT_NE(e.find("the ranks run different configurations"), std::string::npos) << e;
  ThreadGroup big(8);
  ThreadCommunicator eighth(big, 0);
  EXPECT_NE(test::error_of([&] { ta.set_communicator(&eighth); }).find("7 sequences and the job 8 ranks"),
            std::string::npos);
  EXPECT_EQ(batch_shard(7, 0, 2).count, 3);
  EXPECT_EQ(batch_shard(7, 1, 2).begin, 3);
  EXPECT_EQ(batch_shard(7, 1, 2).count, 4);
}

}  // namespace
}  // namespace rnnkit

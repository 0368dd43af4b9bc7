// Data-parallel training's view of the other processes: every process (rank r of N) holds
// the whole model, reads its shard of each global batch, and the ranks sum what must agree.
//
// A global batch of B sequences is split into N contiguous shards as even as possible:
// rank r reads rows [r*B/N, (r+1)*B/N) (integer division), so the data of step k is the same
// whatever N is. A rank's loss is the mean over its shard; weighting it by count_r / B
// before summing gives exactly the full batch's mean and its gradient (up to rounding).
//
// Communicator is an interface so the trainer does not depend on MPI; train/mpi.h provides
// the MPI one. Every call is collective: all ranks make it, in the same order.
#pragma once

#include <cstdint>
#include <span>

namespace rnnkit {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: every rank ends with the elementwise sum over the ranks (the same bits on every
  // rank). Throws Error if the communication fails.
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  // Whether every rank passed the same value.
  virtual bool same_everywhere(uint64_t value) = 0;
  // Whether any rank passed true.
  virtual bool any(bool value) = 0;
};

struct BatchShard {
  int64_t begin = 0, count = 0;
};

// Rank `rank` of `size`'s rows of a batch of `batch` sequences.
BatchShard batch_shard(int64_t batch, int rank, int size);

}  // namespace rnnkit

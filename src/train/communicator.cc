// Batch shards; see train/communicator.h.
#include "rnnkit/train/communicator.h"

namespace rnnkit {

BatchShard batch_shard(int64_t batch, int rank, int size) {
  const int64_t begin = batch * rank / size, end = batch * (rank + 1) / size;
  return {begin, end - begin};
}

}  // namespace rnnkit

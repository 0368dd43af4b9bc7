// Embedding layer: rows of a table "embedding" [V, E] looked up by id, on the autograd tape.
// The table is created (or shared) in the store's current scope at construction.
#pragma once

#include <vector>

#include "rnnkit/autograd/ops.h"
#include "rnnkit/init/initializer.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

class Embedding {
 public:
  // init null: normal(0, 1), as PyTorch's nn.Embedding.
  Embedding(VariableStore& store, int64_t vocab_size, int64_t dim, InitializerPtr init = nullptr);

  // ids: N values in [0, V) -> [N, E].
  template <class T>
  Value<T> operator()(Tape<T>& tape, const std::vector<int64_t>& ids) const;

  const Variable& table() const { return *table_; }

 private:
  const Variable* table_;
};

}  // namespace rnnkit

// Linear layer: y = x W^T + b on the autograd tape.
//   x [N, in]  ->  y [N, out];  W "weight" [out, in] (PyTorch's layout), b "bias" [out].
// The variables are created (or, under a reusing scope, shared) in the store's current
// scope when the layer is constructed; the layer holds references to them.
#pragma once

#include "rnnkit/autograd/ops.h"
#include "rnnkit/init/initializer.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

struct LinearOptions {
  InitializerPtr weight_init;  // null: the scope's default (glorot_uniform unless a scope sets one)
  InitializerPtr bias_init;    // null: zeros
  bool bias = true;
};

class Linear {
 public:
  Linear(VariableStore& store, int64_t in_features, int64_t out_features, const LinearOptions& options = {});

  template <class T>
  Value<T> operator()(Value<T> x) const;

  const Variable& weight() const { return *weight_; }
  const Variable* bias() const { return bias_; }

 private:
  const Variable* weight_;
  const Variable* bias_ = nullptr;
};

}  // namespace rnnkit

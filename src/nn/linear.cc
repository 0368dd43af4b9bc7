// Linear and Embedding layers; see nn/linear.h and nn/embedding.h.
#include "rnnkit/nn/linear.h"

#include "rnnkit/core/error.h"
#include "rnnkit/nn/embedding.h"

namespace rnnkit {

Linear::Linear(VariableStore& store, int64_t in_features, int64_t out_features, const LinearOptions& options) {
  if (in_features < 1 || out_features < 1) {
    throw Error("Linear: sizes must be at least 1, got in " + std::to_string(in_features) + ", out " +
                std::to_string(out_features));
  }
  weight_ = &store.get_variable("weight", {out_features, in_features}, {.initializer = options.weight_init});
  if (options.bias) {
    bias_ = &store.get_variable("bias", {out_features},
                                {.initializer = options.bias_init ? options.bias_init : parse_initializer("zeros")});
  }
}

template <class T>
Value<T> Linear::operator()(Value<T> x) const {
  Tape<T>& tape = *x.tape;
  Value<T> y = matmul(x, tape.param(*weight_), false, true);  // x W^T
  return bias_ != nullptr ? add(y, tape.param(*bias_)) : y;
}

Embedding::Embedding(VariableStore& store, int64_t vocab_size, int64_t dim, InitializerPtr init) {
  if (vocab_size < 1 || dim < 1) {
    throw Error("Embedding: sizes must be at least 1, got vocabulary " + std::to_string(vocab_size) + ", dimension " +
                std::to_string(dim));
  }
  table_ = &store.get_variable("embedding", {vocab_size, dim},
                               {.initializer = init ? init : parse_initializer("normal(0.0, 1.0)")});
}

template <class T>
Value<T> Embedding::operator()(Tape<T>& tape, const std::vector<int64_t>& ids) const {
  return embedding(tape.param(*table_), ids);
}

template Value<float> Linear::operator()(Value<float>) const;
template Value<double> Linear::operator()(Value<double>) const;
template Value<float> Embedding::operator()(Tape<float>&, const std::vector<int64_t>&) const;
template Value<double> Embedding::operator()(Tape<double>&, const std::vector<int64_t>&) const;

}  // namespace rnnkit

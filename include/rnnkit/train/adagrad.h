// Adagrad (PyTorch's torch.optim.Adagrad, no learning-rate decay, initial accumulator 0):
//   g <- g + weight_decay * p
//   s <- s + g^2
//   p <- p - lr * g / (sqrt(s) + eps)
#pragma once

#include "rnnkit/train/optimizer.h"

namespace rnnkit {

struct AdagradOptions {
  double learning_rate = 0.01;
  double eps = 1e-10;
  double weight_decay = 0.0;
};

class Adagrad : public OptimizerRule<Adagrad> {
 public:
  explicit Adagrad(const AdagradOptions& options);

  template <class T>
  void apply(T* p, const T* g, int64_t begin, int64_t n);

 private:
  AdagradOptions options_;
};

}  // namespace rnnkit

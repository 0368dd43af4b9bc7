// Stochastic gradient descent with momentum, Nesterov momentum and weight decay (PyTorch's
// torch.optim.SGD with dampening 0):
//   g <- g + weight_decay * p
//   with momentum mu > 0:  b <- g at t = 1, else b <- mu * b + g
//                          g <- g + mu * b (nesterov)  or  g <- b
//   p <- p - lr * g
#pragma once

#include "rnnkit/train/optimizer.h"

namespace rnnkit {

struct SgdOptions {
  double learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;  // needs momentum > 0
  double weight_decay = 0.0;
};

class Sgd : public OptimizerRule<Sgd> {
 public:
  // Throws Error for a negative rate, momentum or weight decay, or nesterov without momentum.
  explicit Sgd(const SgdOptions& options);

  template <class T>
  void apply(T* p, const T* g, int64_t begin, int64_t n);

 private:
  SgdOptions options_;
};

}  // namespace rnnkit

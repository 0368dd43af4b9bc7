// RMSProp (PyTorch's torch.optim.RMSprop, not centered, no momentum):
//   g <- g + weight_decay * p
//   v <- alpha * v + (1 - alpha) * g^2
//   p <- p - lr * g / (sqrt(v) + eps)
#pragma once

#include "rnnkit/train/optimizer.h"

namespace rnnkit {

struct RmsPropOptions {
  double learning_rate = 0.01;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class RmsProp : public OptimizerRule<RmsProp> {
 public:
  explicit RmsProp(const RmsPropOptions& options);

  template <class T>
  void apply(T* p, const T* g, int64_t begin, int64_t n);

 private:
  RmsPropOptions options_;
};

}  // namespace rnnkit

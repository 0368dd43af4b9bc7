// Adam and AdamW (PyTorch's torch.optim.Adam / AdamW, amsgrad off):
//   Adam:  g <- g + weight_decay * p                  (L2 penalty in the gradient)
//   AdamW: p <- p - lr * weight_decay * p             (decoupled decay, before the update)
//   m <- beta1 * m + (1 - beta1) * g
//   v <- beta2 * v + (1 - beta2) * g^2
//   p <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
#pragma once

#include "rnnkit/train/optimizer.h"

namespace rnnkit {

struct AdamOptions {
  double learning_rate = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 in the gradient; AdamW: decoupled (AdamW's default 0.01)
  bool decoupled = false;     // true: AdamW
};

class Adam : public OptimizerRule<Adam> {
 public:
  // Throws Error for betas outside [0, 1), a negative rate, eps or weight decay.
  explicit Adam(const AdamOptions& options);

  template <class T>
  void apply(T* p, const T* g, int64_t begin, int64_t n);

 private:
  AdamOptions options_;
};

// AdamW with PyTorch's defaults (weight decay 0.01).
inline AdamOptions adamw_options(double learning_rate = 0.001, double weight_decay = 0.01) {
  return {.learning_rate = learning_rate, .weight_decay = weight_decay, .decoupled = true};
}

}  // namespace rnnkit

// Adam and AdamW; the rule is in adam.h.
#include "rnnkit/train/adam.h"

#include <cmath>

#include "rnnkit/core/error.h"

namespace rnnkit {

Adam::Adam(const AdamOptions& options) : OptimizerRule<Adam>(options.learning_rate, {"m", "v"}), options_(options) {
  if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1)) {
    throw Error("Adam: betas must be in [0, 1), got " + std::to_string(options.beta1) + " and " +
                std::to_string(options.beta2));
  }
  if (!(options.eps >= 0) || !(options.weight_decay >= 0)) {
    throw Error("Adam: eps and weight decay must be >= 0, got " + std::to_string(options.eps) + " and " +
                std::to_string(options.weight_decay));
  }
}

template <class T>
void Adam::apply(T* p, const T* g, int64_t begin, int64_t n) {
  const double lr = learning_rate(), b1 = options_.beta1, b2 = options_.beta2, wd = options_.weight_decay;
  const double t = static_cast<double>(steps());
  const double correction1 = 1 - std::pow(b1, t), correction2 = 1 - std::pow(b2, t);
  double* m = slot_at(0, begin);
  double* v = slot_at(1, begin);
  for (int64_t i = 0; i < n; ++i) {
    double param = static_cast<double>(p[i]);
    double d = static_cast<double>(g[i]);
    if (options_.decoupled) {
      param -= lr * wd * param;
    } else {
      d += wd * param;
    }
    m[i] = b1 * m[i] + (1 - b1) * d;
    v[i] = b2 * v[i] + (1 - b2) * d * d;
    param -= lr * (m[i] / correction1) / (std::sqrt(v[i] / correction2) + options_.eps);
    p[i] = static_cast<T>(param);
  }
}

template void Adam::apply<float>(float*, const float*, int64_t, int64_t);
template void Adam::apply<double>(double*, const double*, int64_t, int64_t);

}  // namespace rnnkit

// RMSProp and Adagrad; the rules are in rmsprop.h and adagrad.h.
#include "rnnkit/train/rmsprop.h"

#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/train/adagrad.h"

namespace rnnkit {

RmsProp::RmsProp(const RmsPropOptions& options)
    : OptimizerRule<RmsProp>(options.learning_rate, {"square_average"}), options_(options) {
  if (!(options.alpha >= 0 && options.alpha < 1) || !(options.eps >= 0) || !(options.weight_decay >= 0)) {
    throw Error("RMSProp: alpha must be in [0, 1) and eps, weight decay >= 0; got alpha " +
                std::to_string(options.alpha));
  }
}

template <class T>
void RmsProp::apply(T* p, const T* g, int64_t begin, int64_t n) {
  const double lr = learning_rate(), alpha = options_.alpha;
  double* v = slot_at(0, begin);
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(g[i]) + options_.weight_decay * static_cast<double>(p[i]);
    v[i] = alpha * v[i] + (1 - alpha) * d * d;
    p[i] = static_cast<T>(static_cast<double>(p[i]) - lr * d / (std::sqrt(v[i]) + options_.eps));
  }
}

Adagrad::Adagrad(const AdagradOptions& options)
    : OptimizerRule<Adagrad>(options.learning_rate, {"sum_of_squares"}), options_(options) {
  if (!(options.eps >= 0) || !(options.weight_decay >= 0)) throw Error("Adagrad: eps and weight decay must be >= 0");
}

template <class T>
void Adagrad::apply(T* p, const T* g, int64_t begin, int64_t n) {
  const double lr = learning_rate();
  double* s = slot_at(0, begin);
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(g[i]) + options_.weight_decay * static_cast<double>(p[i]);
    s[i] += d * d;
    p[i] = static_cast<T>(static_cast<double>(p[i]) - lr * d / (std::sqrt(s[i]) + options_.eps));
  }
}

template void RmsProp::apply<float>(float*, const float*, int64_t, int64_t);
template void RmsProp::apply<double>(double*, const double*, int64_t, int64_t);
template void Adagrad::apply<float>(float*, const float*, int64_t, int64_t);
template void Adagrad::apply<double>(double*, const double*, int64_t, int64_t);

}  // namespace rnnkit

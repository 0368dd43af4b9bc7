// SGD; the rule is in sgd.h.
#include "rnnkit/train/sgd.h"

#include "rnnkit/core/error.h"

namespace rnnkit {

Sgd::Sgd(const SgdOptions& options)
    : OptimizerRule<Sgd>(options.learning_rate,
                         options.momentum > 0 ? std::vector<std::string>{"momentum"} : std::vector<std::string>{}),
      options_(options) {
  if (!(options.momentum >= 0) || !(options.weight_decay >= 0)) {
    throw Error("SGD: momentum and weight decay must be >= 0, got " + std::to_string(options.momentum) + " and " +
                std::to_string(options.weight_decay));
  }
  if (options.nesterov && options.momentum <= 0) throw Error("SGD: nesterov needs momentum > 0");
}

template <class T>
void Sgd::apply(T* p, const T* g, int64_t begin, int64_t n) {
  const double lr = learning_rate(), mu = options_.momentum, wd = options_.weight_decay;
  double* b = mu > 0 ? slot_at(0, begin) : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(g[i]) + wd * static_cast<double>(p[i]);
    if (b != nullptr) {
      b[i] = steps() == 1 ? d : mu * b[i] + d;
      d = options_.nesterov ? d + mu * b[i] : b[i];
    }
    p[i] = static_cast<T>(static_cast<double>(p[i]) - lr * d);
  }
}

template void Sgd::apply<float>(float*, const float*, int64_t, int64_t);
template void Sgd::apply<double>(double*, const double*, int64_t, int64_t);

}  // namespace rnnkit

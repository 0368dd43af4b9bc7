// Gradient clipping; see clip.h.
#include "rnnkit/train/clip.h"

#include <algorithm>
#include <cmath>

#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

// Calls f(span of gradient values) for each trainable variable, in the store's type.
template <class F>
void for_each_trainable_gradient(VariableStore& store, F&& f) {
  for (const Variable& v : store.variables()) {
    if (!v.trainable) continue;
    if (store.dtype() == DType::f32) {
      f(store.grad<float>(v));
    } else {
      f(store.grad<double>(v));
    }
  }
}

}  // namespace

double gradient_norm(VariableStore& store) {
  double total = 0;
  for_each_trainable_gradient(store, [&](auto g) {
    for (int64_t i = 0; i < g.numel(); ++i) total += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  });
  return std::sqrt(total);
}

double clip_gradient_norm(VariableStore& store, double max_norm) {
  if (!(max_norm > 0)) throw Error("clip_gradient_norm: max_norm is " + std::to_string(max_norm) + ", expected > 0");
  const double norm = gradient_norm(store);
  if (norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for_each_trainable_gradient(store, [&](auto g) {
      using T = std::remove_cvref_t<decltype(g[0])>;
      for (int64_t i = 0; i < g.numel(); ++i) g[i] = static_cast<T>(static_cast<double>(g[i]) * scale);
    });
  }
  return norm;
}

void clip_gradient_value(VariableStore& store, double limit) {
  if (!(limit > 0)) throw Error("clip_gradient_value: limit is " + std::to_string(limit) + ", expected > 0");
  for_each_trainable_gradient(store, [&](auto g) {
    using T = std::remove_cvref_t<decltype(g[0])>;
    for (int64_t i = 0; i < g.numel(); ++i) g[i] = std::clamp(g[i], static_cast<T>(-limit), static_cast<T>(limit));
  });
}

}  // namespace rnnkit

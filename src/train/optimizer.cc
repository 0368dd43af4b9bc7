// The optimizer base: which elements are updated, and the slots; see optimizer.h.
#include "rnnkit/train/optimizer.h"

#include <cmath>

#include "rnnkit/core/error.h"

namespace rnnkit {

Optimizer::Optimizer(double learning_rate, std::vector<std::string> slot_names)
    : learning_rate_(learning_rate), slot_names_(std::move(slot_names)), slots_(slot_names_.size()) {
  set_learning_rate(learning_rate);
}

void Optimizer::set_learning_rate(double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr))
    throw Error("optimizer: learning rate is " + std::to_string(lr) + ", expected a finite value >= 0");
  learning_rate_ = lr;
}

void Optimizer::restore_state(int64_t steps, std::size_t size) {
  if (steps < 0) throw Error("optimizer: step count " + std::to_string(steps) + " is negative");
  steps_ = steps;
  for (std::vector<double>& s : slots_) s.assign(size, 0.0);
}

void Optimizer::step(VariableStore& store) {
  const std::size_t size =
      store.dtype() == DType::f32 ? store.parameters<float>().size() : store.parameters<double>().size();
  for (std::vector<double>& s : slots_) s.resize(size, 0.0);  // variables created since the last step start at 0
  ++steps_;
  for (const Variable& v : store.variables()) {
    if (!v.trainable) continue;
    if (store.dtype() == DType::f32) {
      update(store.value<float>(v).data(), store.grad<float>(v).data(), v.offset, v.numel);
    } else {
      update(store.value<double>(v).data(), store.grad<double>(v).data(), v.offset, v.numel);
    }
  }
}

}  // namespace rnnkit

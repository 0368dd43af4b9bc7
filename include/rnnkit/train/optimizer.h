// Optimizers: update a store's trainable variables from their gradients, one step at a time.
//
// Each optimizer keeps its per-parameter state ("slots": momentum, moments...) in buffers
// with the store's layout (one double per parameter-buffer element), so saving, restoring
// or averaging the state is one pass over each slot. Only trainable variables are read or
// written: a frozen variable's values stay bit-identical. The update rules, in the notation
// p parameter, g gradient, lr learning rate, t the step count starting at 1, are in each
// optimizer's header (sgd.h, adam.h, rmsprop.h, adagrad.h); they are PyTorch's
// (torch.optim, 1.13) and tests compare trajectories with PyTorch's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One update of every trainable variable of `store` from its gradient.
  void step(VariableStore& store);

  double learning_rate() const { return learning_rate_; }
  void set_learning_rate(double lr);
  int64_t steps() const { return steps_; }

  // Resuming: sets the step count and sizes every slot for a parameter buffer of `size`
  // elements (zeros), for the caller to fill in from a checkpoint.
  void restore_state(int64_t steps, std::size_t size);

  // The slots by name, each with one value per element of the store's parameter buffer.
  const std::vector<std::string>& slot_names() const { return slot_names_; }
  std::vector<double>& slot(std::size_t k) { return slots_[k]; }

 protected:
  Optimizer(double learning_rate, std::vector<std::string> slot_names);
  // Updates elements [begin, begin + n) of the parameter buffer: p and g point at element
  // begin; slots are indexed from begin. steps() is already the current t.
  virtual void update(float* p, const float* g, int64_t begin, int64_t n) = 0;
  virtual void update(double* p, const double* g, int64_t begin, int64_t n) = 0;
  double* slot_at(std::size_t k, int64_t begin) { return slots_[k].data() + begin; }

 private:
  double learning_rate_;
  int64_t steps_ = 0;
  std::vector<std::string> slot_names_;
  std::vector<std::vector<double>> slots_;
};

// Lets an optimizer write its rule once, as `template <class T> void apply(T* p, const T* g,
// int64_t begin, int64_t n)`, for both parameter types.
template <class Derived>
class OptimizerRule : public Optimizer {
 protected:
  using Optimizer::Optimizer;
  void update(float* p, const float* g, int64_t begin, int64_t n) override {
    static_cast<Derived*>(this)->apply(p, g, begin, n);
  }
  void update(double* p, const double* g, int64_t begin, int64_t n) override {
    static_cast<Derived*>(this)->apply(p, g, begin, n);
  }
};

}  // namespace rnnkit

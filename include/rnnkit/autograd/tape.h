// A reverse-mode autograd tape over tensors.
//
// A Tape records, in order, every value an op computes; backward() walks the record in
// reverse and accumulates (+=) each value's gradient into the gradients of the values it
// was computed from. Leaves are store variables (param: the value and the gradient are
// the store's own buffers, so parameter gradients land directly in the one contiguous
// gradient buffer) or inputs (input: copied into the tape, with or without a gradient).
//
// Memory: values and gradients live in an arena of large blocks owned by the tape. clear()
// forgets the record but keeps the blocks, so a training loop that records the same
// computation each step allocates nothing after its first step (peak_bytes() says how
// much the tape holds). Values and gradients are read through views that stay valid until
// clear().
//
// Ops (ops.h) are free functions on Values; each op's backward sits beside its forward in
// src/autograd/ and is a plain function pointer stored in the node with the few numbers it
// needs, so recording allocates nothing but arena space.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnkit/core/tensor.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

template <class T>
class Tape;

// A handle to a value recorded on a tape. Cheap to copy; valid until the tape's clear().
template <class T>
struct Value {
  Tape<T>* tape = nullptr;
  int32_t id = -1;

  bool valid() const { return tape != nullptr && id >= 0; }
  const Shape& shape() const;
  TensorView<const T> value() const;
  // The gradient after backward(); empty if the value needs none.
  TensorView<const T> grad() const;
};

template <class T>
class Tape {
 public:
  // How an op's backward pass reads its node: the gradient of the node's output is known;
  // it adds the gradients of its inputs (Tape::grad_for allocates them, zeroed, on demand).
  using BackwardFn = void (*)(Tape& tape, int32_t node);

  struct Node {
    Shape shape;
    T* value = nullptr;
    T* grad = nullptr;  // allocated in backward; a param's points into the store
    bool requires_grad = false;
    BackwardFn backward = nullptr;  // null for leaves
    std::array<int32_t, 3> inputs{-1, -1, -1};
    std::array<int64_t, 2> ints{0, 0};  // op parameters (sizes, flags)
    std::array<double, 2> reals{0, 0};
    std::array<const void*, 2> extra{nullptr, nullptr};  // op data kept by the tape (keep_ints, scratch)
  };

  explicit Tape(VariableStore& store);
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  VariableStore& store() { return *store_; }

  // A store variable as a leaf: reads the store's value, accumulates into its gradient
  // when the variable is trainable. The store's dtype must be T.
  Value<T> param(const Variable& variable);
  Value<T> param(const std::string& full_name);
  // Data as a leaf, copied; with requires_grad its gradient is available after backward.
  Value<T> input(TensorView<const T> data, bool requires_grad = false);

  // Seeds d(loss)/d(loss) = 1 for a scalar (one-element) loss and runs every recorded
  // op's backward in reverse order. Throws Error if the loss is not a single element.
  void backward(Value<T> loss);

  // Forgets the record (values, gradients); keeps the memory for the next one.
  void clear();

  std::size_t size() const { return nodes_.size(); }
  // Bytes the tape's arena holds (its high-water mark).
  std::size_t peak_bytes() const;

  // For ops: record a node whose value has the given shape (allocated, uninitialized).
  Value<T> record(Shape shape, BackwardFn backward_fn, std::array<int32_t, 3> inputs);
  // A node, its param pointers current (creating a variable moves the store's buffers:
  // cells may create their variables while they are being recorded).
  Node& node(int32_t id) {
    refresh_params();
    return nodes_[static_cast<std::size_t>(id)];
  }
  const Node& node(int32_t id) const {
    refresh_params();
    return nodes_[static_cast<std::size_t>(id)];
  }
  // The gradient buffer of node `id`, allocated and zeroed on first use.
  T* grad_for(int32_t id);
  // Copies integers into the tape's memory (kept until clear()), e.g. embedding ids.
  const int64_t* keep_ints(const std::vector<int64_t>& values);
  // Uninitialized space for n values kept until clear(), e.g. a dropout mask.
  T* scratch(int64_t n);

 private:
  template <class E>
  struct Arena;
  // Re-points param nodes into the store's buffers if they moved since the last look.
  void refresh_params() const;

  VariableStore* store_;
  mutable std::vector<Node> nodes_;
  std::vector<std::pair<int32_t, const Variable*>> param_nodes_;
  mutable const T* params_base_ = nullptr;
  std::unique_ptr<Arena<T>> arena_;
  std::unique_ptr<Arena<int64_t>> int_arena_;
};

extern template class Tape<float>;
extern template class Tape<double>;

}  // namespace rnnkit

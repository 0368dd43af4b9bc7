// The autograd tape; see tape.h.
#include "rnnkit/autograd/tape.h"

#include <algorithm>
#include <cstring>

#include "rnnkit/core/error.h"

namespace rnnkit {

// Blocks of at least kBlock elements; allocate() never moves what it handed out, reset()
// rewinds to the first block and keeps every block for reuse.
template <class T>
template <class E>
struct Tape<T>::Arena {
  explicit Arena(int64_t block_elements) : block(block_elements) {}
  int64_t block;  // elements per block (a larger request gets a block of its own size)
  std::vector<std::vector<E>> blocks;
  std::size_t current = 0;  // block being filled
  int64_t used = 0;         // elements used in it

  E* allocate(int64_t n) {
    n = (n + 15) / 16 * 16;  // 64-byte granularity for float, keeps vector loads aligned
    while (current < blocks.size() && used + n > static_cast<int64_t>(blocks[current].size())) {
      ++current;
      used = 0;
    }
    if (current == blocks.size()) {
      blocks.emplace_back(static_cast<std::size_t>(std::max(n, block)));
      used = 0;
    }
    E* p = blocks[current].data() + used;
    used += n;
    return p;
  }
  void reset() {
    current = 0;
    used = 0;
  }
  std::size_t bytes() const {
    std::size_t total = 0;
    for (const auto& b : blocks) total += b.size() * sizeof(E);
    return total;
  }
};

template <class T>
const Shape& Value<T>::shape() const {
  return tape->node(id).shape;
}

template <class T>
TensorView<const T> Value<T>::value() const {
  const auto& n = tape->node(id);
  return TensorView<const T>(n.value, n.shape);
}

template <class T>
TensorView<const T> Value<T>::grad() const {
  const auto& n = tape->node(id);
  return n.grad == nullptr ? TensorView<const T>() : TensorView<const T>(n.grad, n.shape);
}

template <class T>
Tape<T>::Tape(VariableStore& store)
    : store_(&store),
      arena_(std::make_unique<Arena<T>>(int64_t{1} << 18)),             // 1 MB of float
      int_arena_(std::make_unique<Arena<int64_t>>(int64_t{1} << 12)) {  // ids and targets: small
  if (store.dtype() != DTypeOf<T>::value) {
    throw Error(std::string("autograd tape: the store holds ") + dtype_name(store.dtype()) +
                " variables, the tape computes in " + dtype_name(DTypeOf<T>::value));
  }
}

template <class T>
Tape<T>::~Tape() = default;

template <class T>
Value<T> Tape<T>::param(const Variable& variable) {
  refresh_params();
  Node n;
  n.shape = variable.shape;
  n.value = store_->value<T>(variable).data();
  n.requires_grad = variable.trainable;
  if (variable.trainable) n.grad = store_->grad<T>(variable).data();
  nodes_.push_back(n);
  param_nodes_.emplace_back(static_cast<int32_t>(nodes_.size() - 1), &variable);
  return {this, static_cast<int32_t>(nodes_.size() - 1)};
}

template <class T>
void Tape<T>::refresh_params() const {
  const T* base = store_->parameters<T>().data();
  if (base == params_base_) return;
  params_base_ = base;
  for (const auto& [id, variable] : param_nodes_) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    n.value = store_->value<T>(*variable).data();
    if (n.grad != nullptr) n.grad = store_->grad<T>(*variable).data();
  }
}

template <class T>
Value<T> Tape<T>::param(const std::string& full_name) {
  return param(store_->at(full_name));
}

template <class T>
Value<T> Tape<T>::input(TensorView<const T> data, bool requires_grad) {
  Node n;
  n.shape = data.shape();
  n.value = arena_->allocate(data.numel());
  std::copy(data.data(), data.data() + data.numel(), n.value);
  n.requires_grad = requires_grad;
  nodes_.push_back(n);
  return {this, static_cast<int32_t>(nodes_.size() - 1)};
}

template <class T>
Value<T> Tape<T>::record(Shape shape, BackwardFn backward_fn, std::array<int32_t, 3> inputs) {
  Node n;
  n.value = arena_->allocate(shape_numel(shape));
  n.shape = std::move(shape);
  n.backward = backward_fn;
  n.inputs = inputs;
  for (int32_t in : inputs) {
    if (in >= 0 && nodes_[static_cast<std::size_t>(in)].requires_grad) n.requires_grad = true;
  }
  nodes_.push_back(std::move(n));
  return {this, static_cast<int32_t>(nodes_.size() - 1)};
}

template <class T>
T* Tape<T>::grad_for(int32_t id) {
  Node& n = node(id);
  if (n.grad == nullptr) {
    const int64_t count = shape_numel(n.shape);
    n.grad = arena_->allocate(count);
    std::fill(n.grad, n.grad + count, T(0));
  }
  return n.grad;
}

template <class T>
const int64_t* Tape<T>::keep_ints(const std::vector<int64_t>& values) {
  int64_t* p = int_arena_->allocate(static_cast<int64_t>(values.size()));
  std::copy(values.begin(), values.end(), p);
  return p;
}

template <class T>
T* Tape<T>::scratch(int64_t n) {
  return arena_->allocate(n);
}

template <class T>
void Tape<T>::backward(Value<T> loss) {
  if (loss.tape != this || loss.id < 0 || loss.id >= static_cast<int32_t>(nodes_.size())) {
    throw Error("autograd backward: the loss is not a value of this tape");
  }
  const Node& l = node(loss.id);
  if (shape_numel(l.shape) != 1) {
    throw Error("autograd backward: the loss has shape " + shape_to_string(l.shape) +
                ", expected a single element (reduce it with sum or mean)");
  }
  if (!l.requires_grad) return;  // nothing trainable contributed
  grad_for(loss.id)[0] += T(1);
  for (int32_t id = loss.id; id >= 0; --id) {
    const Node& n = node(id);
    if (n.backward != nullptr && n.requires_grad && n.grad != nullptr) n.backward(*this, id);
  }
}

template <class T>
void Tape<T>::clear() {
  nodes_.clear();
  param_nodes_.clear();
  arena_->reset();
  int_arena_->reset();
}

template <class T>
std::size_t Tape<T>::peak_bytes() const {
  return arena_->bytes() + int_arena_->bytes();
}

template struct Value<float>;
template struct Value<double>;
template class Tape<float>;
template class Tape<double>;

}  // namespace rnnkit

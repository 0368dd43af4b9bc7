// Embedding look-up and losses: forward and backward side by side. See ops.h.
#include <algorithm>
#include <cmath>

#include "op_support.h"
#include "rnnkit/autograd/ops.h"

namespace rnnkit {

using autograd::check;

// --- embedding: y[n] = table[ids[n]]; ids kept in node.extra ---
template <class T>
static void embedding_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* dtable = tape.grad_for(n.inputs[0]);
  const int64_t* ids = static_cast<const int64_t*>(n.extra[0]);
  const int64_t e = n.shape[1];
  for (int64_t r = 0; r < n.shape[0]; ++r) {
    for (int64_t j = 0; j < e; ++j) dtable[ids[r] * e + j] += n.grad[r * e + j];
  }
}

template <class T>
Value<T> embedding(Value<T> table, const std::vector<int64_t>& ids) {
  Tape<T>& tape = *table.tape;
  if (table.shape().size() != 2) {
    throw Error("embedding: the table has shape " + shape_to_string(table.shape()) + ", expected [V, E]");
  }
  const int64_t vocab = table.shape()[0], e = table.shape()[1];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw Error("embedding: ids[" + std::to_string(i) + "] is " + std::to_string(ids[i]) +
                  ", expected a value in [0, " + std::to_string(vocab) + ") (the table's rows)");
    }
  }
  const int64_t count = static_cast<int64_t>(ids.size());
  Value<T> y = tape.record({count, e}, embedding_backward<T>, {table.id, -1, -1});
  auto& node = tape.node(y.id);
  node.extra[0] = tape.keep_ints(ids);
  const T* tv = tape.node(table.id).value;
  for (int64_t r = 0; r < count; ++r) std::copy(tv + ids[r] * e, tv + (ids[r] + 1) * e, node.value + r * e);
  return y;
}

// --- softmax cross-entropy: extra = {softmax, targets} kept by the tape; ints[1] = the
// ignore index; reals[0] = 1 / counted rows ---
template <class T>
static void cross_entropy_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const auto& logits = tape.node(n.inputs[0]);
  const int64_t rows = logits.shape[0], classes = logits.shape[1];
  const T* softmax = static_cast<const T*>(n.extra[0]);
  const int64_t* targets = static_cast<const int64_t*>(n.extra[1]);
  const T g = n.grad[0] * static_cast<T>(n.reals[0]);
  T* dl = tape.grad_for(n.inputs[0]);
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == n.ints[1]) continue;  // ignored
    for (int64_t c = 0; c < classes; ++c) {
      dl[r * classes + c] += g * (softmax[r * classes + c] - (c == targets[r] ? T(1) : T(0)));
    }
  }
}

template <class T>
Value<T> softmax_cross_entropy(Value<T> logits, const std::vector<int64_t>& targets, int64_t ignore_index) {
  Tape<T>& tape = *logits.tape;
  if (logits.shape().size() != 2 || static_cast<int64_t>(targets.size()) != logits.shape()[0]) {
    throw Error("softmax_cross_entropy: logits have shape " + shape_to_string(logits.shape()) + " and there are " +
                std::to_string(targets.size()) + " targets; expected logits [N, C] and N targets");
  }
  const int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  int64_t counted = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] == ignore_index) continue;
    if (targets[i] < 0 || targets[i] >= classes) {
      throw Error("softmax_cross_entropy: targets[" + std::to_string(i) + "] is " + std::to_string(targets[i]) +
                  ", expected a class in [0, " + std::to_string(classes) + ") or the ignore index " +
                  std::to_string(ignore_index));
    }
    ++counted;
  }
  T* softmax = tape.scratch(rows * classes);
  const T* lv = tape.node(logits.id).value;
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = lv + r * classes;
    const T top = *std::max_element(row, row + classes);  // subtract the max: exp cannot overflow
    double z = 0;
    for (int64_t c = 0; c < classes; ++c) z += std::exp(static_cast<double>(row[c] - top));
    for (int64_t c = 0; c < classes; ++c) {
      softmax[r * classes + c] = static_cast<T>(std::exp(static_cast<double>(row[c] - top)) / z);
    }
    if (targets[static_cast<std::size_t>(r)] != ignore_index) {
      total += std::log(z) - static_cast<double>(row[targets[static_cast<std::size_t>(r)]] - top);  // -log softmax
    }
  }
  Value<T> y = tape.record({}, cross_entropy_backward<T>, {logits.id, -1, -1});
  auto& node = tape.node(y.id);
  node.extra = {softmax, tape.keep_ints(targets)};
  node.ints[1] = ignore_index;
  node.reals[0] = counted > 0 ? 1.0 / static_cast<double>(counted) : 0.0;  // all ignored: loss 0, no gradient
  node.value[0] = static_cast<T>(total * node.reals[0]);
  return y;
}

// --- mse: mean((a - b)^2) ---
template <class T>
static void mse_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const auto& a = tape.node(n.inputs[0]);
  const auto& b = tape.node(n.inputs[1]);
  const int64_t count = shape_numel(a.shape);
  const T g = n.grad[0] * T(2) / static_cast<T>(count);
  if (a.requires_grad) {
    T* da = tape.grad_for(n.inputs[0]);
    for (int64_t i = 0; i < count; ++i) da[i] += g * (a.value[i] - b.value[i]);
  }
  if (b.requires_grad) {
    T* db = tape.grad_for(n.inputs[1]);
    for (int64_t i = 0; i < count; ++i) db[i] -= g * (a.value[i] - b.value[i]);
  }
}

template <class T>
Value<T> mse(Value<T> a, Value<T> b) {
  Tape<T>& tape = autograd::same_tape("mse", a, b);
  check(a.shape() == b.shape() && shape_numel(a.shape()) > 0, "mse", "shapes must match and not be empty", a, b);
  Value<T> y = tape.record({}, mse_backward<T>, {a.id, b.id, -1});
  const T* av = tape.node(a.id).value;
  const T* bv = tape.node(b.id).value;
  double total = 0;
  const int64_t count = shape_numel(a.shape());
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(av[i]) - static_cast<double>(bv[i]);
    total += d * d;
  }
  tape.node(y.id).value[0] = static_cast<T>(total / static_cast<double>(count));
  return y;
}

#define RNNKIT_LOSS_OPS(T)                                                                    \
  template Value<T> embedding<T>(Value<T>, const std::vector<int64_t>&);                      \
  template Value<T> softmax_cross_entropy<T>(Value<T>, const std::vector<int64_t>&, int64_t); \
  template Value<T> mse<T>(Value<T>, Value<T>);
RNNKIT_LOSS_OPS(float)
RNNKIT_LOSS_OPS(double)
#undef RNNKIT_LOSS_OPS

}  // namespace rnnkit

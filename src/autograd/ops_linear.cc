// Linear algebra and shape ops: forward and backward side by side. See ops.h.
#include <algorithm>
#include <numeric>

#include "op_support.h"
#include "rnnkit/autograd/ops.h"
#include "rnnkit/core/matrix.h"

namespace rnnkit {

using autograd::check;
using autograd::features;
using autograd::rows;
using autograd::same_tape;

// --- matmul: y [M,N] = op(a) op(b); ints = {transpose_a, transpose_b} ---
template <class T>
static MatrixOperand<T> operand(MatrixView<const T> m, bool transposed) {
  return transposed ? MatrixOperand<T>(m.t()) : MatrixOperand<T>(m);
}

template <class T>
static void matmul_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const auto& a = tape.node(n.inputs[0]);
  const auto& b = tape.node(n.inputs[1]);
  const bool ta = n.ints[0] != 0, tb = n.ints[1] != 0;
  const MatrixView<const T> A(a.value, a.shape[0], a.shape[1]), B(b.value, b.shape[0], b.shape[1]);
  const MatrixView<const T> dy(n.grad, n.shape[0], n.shape[1]);
  if (a.requires_grad) {
    const MatrixView<T> da(tape.grad_for(n.inputs[0]), a.shape[0], a.shape[1]);
    if (!ta) {
      matmul_add(da, dy, operand(B, !tb));  // d op(a) = dy op(b)^T
    } else {
      matmul_add(da, operand(B, tb), dy.t());  // a is [K,M]: da = (dy op(b)^T)^T = op(b) dy^T
    }
  }
  if (b.requires_grad) {
    const MatrixView<T> db(tape.grad_for(n.inputs[1]), b.shape[0], b.shape[1]);
    if (!tb) {
      matmul_add(db, operand(A, !ta), dy);  // d op(b) = op(a)^T dy
    } else {
      matmul_add(db, dy.t(), operand(A, ta));  // b is [N,K]: db = (op(a)^T dy)^T = dy^T op(a)
    }
  }
}

template <class T>
Value<T> matmul(Value<T> a, Value<T> b, bool transpose_a, bool transpose_b) {
  Tape<T>& tape = same_tape("matmul", a, b);
  check(a.shape().size() == 2 && b.shape().size() == 2, "matmul", "operands must be matrices", a, b);
  const int64_t m = transpose_a ? a.shape()[1] : a.shape()[0], k = transpose_a ? a.shape()[0] : a.shape()[1];
  const int64_t kb = transpose_b ? b.shape()[1] : b.shape()[0], n = transpose_b ? b.shape()[0] : b.shape()[1];
  check(k == kb, "matmul", "inner dimensions differ", a, b);
  Value<T> y = tape.record({m, n}, matmul_backward<T>, {a.id, b.id, -1});
  auto& node = tape.node(y.id);
  node.ints = {transpose_a ? 1 : 0, transpose_b ? 1 : 0};
  const MatrixView<const T> A(tape.node(a.id).value, a.shape()[0], a.shape()[1]);
  const MatrixView<const T> B(tape.node(b.id).value, b.shape()[0], b.shape()[1]);
  matmul(MatrixView<T>(node.value, m, n), operand(A, transpose_a), operand(B, transpose_b));
  return y;
}

// --- add / sub: ints[0] = 1 when b is a bias broadcast over rows; reals[0] = sign of b ---
template <class T>
static void add_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const int64_t count = shape_numel(n.shape);
  const T sign = static_cast<T>(n.reals[0]);
  if (tape.node(n.inputs[0]).requires_grad) {
    T* da = tape.grad_for(n.inputs[0]);
    for (int64_t i = 0; i < count; ++i) da[i] += n.grad[i];
  }
  if (tape.node(n.inputs[1]).requires_grad) {
    T* db = tape.grad_for(n.inputs[1]);
    if (n.ints[0] != 0) {  // broadcast: sum over rows
      const int64_t f = features(n.shape);
      for (int64_t r = 0; r < count / f; ++r) {
        for (int64_t j = 0; j < f; ++j) db[j] += sign * n.grad[r * f + j];
      }
    } else {
      for (int64_t i = 0; i < count; ++i) db[i] += sign * n.grad[i];
    }
  }
}

template <class T>
static Value<T> add_signed(const char* op, Value<T> a, Value<T> b, double sign) {
  Tape<T>& tape = same_tape(op, a, b);
  const bool same = a.shape() == b.shape();
  const int64_t f = a.shape().empty() ? 1 : a.shape().back();
  const bool bias = !same && sign > 0 && !a.shape().empty() && (b.shape() == Shape{f} || b.shape() == Shape{1, f});
  check(same || bias, op, sign > 0 ? "shapes must match, or b be a bias [F] for a [..., F]" : "shapes must match", a,
        b);
  Value<T> y = tape.record(a.shape(), add_backward<T>, {a.id, b.id, -1});
  auto& node = tape.node(y.id);
  node.ints[0] = bias ? 1 : 0;
  node.reals[0] = sign;
  const T* av = tape.node(a.id).value;
  const T* bv = tape.node(b.id).value;
  const int64_t count = shape_numel(a.shape());
  const T s = static_cast<T>(sign);
  for (int64_t i = 0; i < count; ++i) node.value[i] = av[i] + s * bv[bias ? i % f : i];
  return y;
}

template <class T>
Value<T> add(Value<T> a, Value<T> b) {
  return add_signed("add", a, b, 1.0);
}

template <class T>
Value<T> sub(Value<T> a, Value<T> b) {
  return add_signed("sub", a, b, -1.0);
}

// --- mul: y = a * b ---
template <class T>
static void mul_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const auto& a = tape.node(n.inputs[0]);
  const auto& b = tape.node(n.inputs[1]);
  const int64_t count = shape_numel(n.shape);
  if (a.requires_grad) {
    T* da = tape.grad_for(n.inputs[0]);
    for (int64_t i = 0; i < count; ++i) da[i] += n.grad[i] * b.value[i];
  }
  if (b.requires_grad) {
    T* db = tape.grad_for(n.inputs[1]);
    for (int64_t i = 0; i < count; ++i) db[i] += n.grad[i] * a.value[i];
  }
}

template <class T>
Value<T> mul(Value<T> a, Value<T> b) {
  Tape<T>& tape = same_tape("mul", a, b);
  check(a.shape() == b.shape(), "mul", "shapes must match", a, b);
  Value<T> y = tape.record(a.shape(), mul_backward<T>, {a.id, b.id, -1});
  const T* av = tape.node(a.id).value;
  const T* bv = tape.node(b.id).value;
  T* out = tape.node(y.id).value;
  for (int64_t i = 0; i < shape_numel(a.shape()); ++i) out[i] = av[i] * bv[i];
  return y;
}

// --- scale: y = s * a; reals[0] = s ---
template <class T>
static void scale_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* da = tape.grad_for(n.inputs[0]);
  const T s = static_cast<T>(n.reals[0]);
  for (int64_t i = 0; i < shape_numel(n.shape); ++i) da[i] += s * n.grad[i];
}

template <class T>
Value<T> scale(Value<T> a, double s) {
  Tape<T>& tape = *a.tape;
  Value<T> y = tape.record(a.shape(), scale_backward<T>, {a.id, -1, -1});
  tape.node(y.id).reals[0] = s;
  const T* av = tape.node(a.id).value;
  T* out = tape.node(y.id).value;
  for (int64_t i = 0; i < shape_numel(a.shape()); ++i) out[i] = static_cast<T>(s) * av[i];
  return y;
}

// --- reshape: the same elements ---
template <class T>
static void reshape_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* da = tape.grad_for(n.inputs[0]);
  for (int64_t i = 0; i < shape_numel(n.shape); ++i) da[i] += n.grad[i];
}

template <class T>
Value<T> reshape(Value<T> a, Shape shape) {
  Tape<T>& tape = *a.tape;
  if (shape_numel(shape) != shape_numel(a.shape())) {
    throw Error("reshape: " + shape_to_string(a.shape()) + " has " + std::to_string(shape_numel(a.shape())) +
                " elements, " + shape_to_string(shape) + " has " + std::to_string(shape_numel(shape)));
  }
  Value<T> y = tape.record(std::move(shape), reshape_backward<T>, {a.id, -1, -1});
  const T* av = tape.node(a.id).value;
  std::copy(av, av + shape_numel(a.shape()), tape.node(y.id).value);
  return y;
}

// --- slice: columns [begin, end) of the last dimension; ints = {begin, input width} ---
template <class T>
static void slice_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* da = tape.grad_for(n.inputs[0]);
  const int64_t w = features(n.shape), in_w = n.ints[1], begin = n.ints[0];
  for (int64_t r = 0; r < rows(n.shape); ++r) {
    for (int64_t j = 0; j < w; ++j) da[r * in_w + begin + j] += n.grad[r * w + j];
  }
}

template <class T>
Value<T> slice(Value<T> a, int64_t begin, int64_t end) {
  Tape<T>& tape = *a.tape;
  const int64_t in_w = features(a.shape());
  if (a.shape().empty() || begin < 0 || end > in_w || begin >= end) {
    throw Error("slice: columns [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " +
                shape_to_string(a.shape()) + ", expected 0 <= begin < end <= " + std::to_string(in_w));
  }
  Shape shape = a.shape();
  shape.back() = end - begin;
  Value<T> y = tape.record(shape, slice_backward<T>, {a.id, -1, -1});
  auto& node = tape.node(y.id);
  node.ints = {begin, in_w};
  const T* av = tape.node(a.id).value;
  for (int64_t r = 0; r < rows(shape); ++r) {
    std::copy(av + r * in_w + begin, av + r * in_w + end, node.value + r * (end - begin));
  }
  return y;
}

template <class T>
std::vector<Value<T>> split(Value<T> a, const std::vector<int64_t>& widths) {
  const int64_t total = std::accumulate(widths.begin(), widths.end(), int64_t{0});
  if (a.shape().empty() || total != features(a.shape())) {
    throw Error("split: widths add up to " + std::to_string(total) + ", expected the last dimension of " +
                shape_to_string(a.shape()));
  }
  std::vector<Value<T>> parts;
  int64_t begin = 0;
  for (int64_t w : widths) {
    parts.push_back(slice(a, begin, begin + w));
    begin += w;
  }
  return parts;
}

// concat: a chain of two-input nodes keeps nodes fixed-size: y = [a, b] along the last dimension.
template <class T>
static void concat2_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const int64_t w = features(n.shape), wa = n.ints[0], wb = w - wa;
  for (int k = 0; k < 2; ++k) {
    if (!tape.node(n.inputs[k]).requires_grad) continue;
    T* d = tape.grad_for(n.inputs[k]);
    const int64_t width = k == 0 ? wa : wb, offset = k == 0 ? 0 : wa;
    for (int64_t r = 0; r < rows(n.shape); ++r) {
      for (int64_t j = 0; j < width; ++j) d[r * width + j] += n.grad[r * w + offset + j];
    }
  }
}

template <class T>
static Value<T> concat2(Value<T> a, Value<T> b) {
  Tape<T>& tape = same_tape("concat", a, b);
  Shape rest_a = a.shape(), rest_b = b.shape();
  check(!rest_a.empty() && rest_a.size() == rest_b.size(), "concat", "parts must have the same rank", a, b);
  rest_a.pop_back();
  rest_b.pop_back();
  check(rest_a == rest_b, "concat", "all dimensions but the last must match", a, b);
  const int64_t wa = features(a.shape()), wb = features(b.shape());
  Shape shape = a.shape();
  shape.back() = wa + wb;
  Value<T> y = tape.record(shape, concat2_backward<T>, {a.id, b.id, -1});
  auto& node = tape.node(y.id);
  node.ints[0] = wa;
  const T* av = tape.node(a.id).value;
  const T* bv = tape.node(b.id).value;
  for (int64_t r = 0; r < rows(shape); ++r) {
    std::copy(av + r * wa, av + (r + 1) * wa, node.value + r * (wa + wb));
    std::copy(bv + r * wb, bv + (r + 1) * wb, node.value + r * (wa + wb) + wa);
  }
  return y;
}

template <class T>
Value<T> concat(const std::vector<Value<T>>& parts) {
  if (parts.empty()) throw Error("concat: no parts");
  Value<T> y = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) y = concat2(y, parts[i]);
  return y;
}

// --- take: y = a[index] along the first dimension; ints[0] = index ---
template <class T>
static void take_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const int64_t count = shape_numel(n.shape);
  T* da = tape.grad_for(n.inputs[0]) + n.ints[0] * count;
  for (int64_t i = 0; i < count; ++i) da[i] += n.grad[i];
}

template <class T>
Value<T> take(Value<T> a, int64_t index) {
  Tape<T>& tape = *a.tape;
  if (a.shape().empty() || index < 0 || index >= a.shape()[0]) {
    throw Error("take: index " + std::to_string(index) + " of " + shape_to_string(a.shape()) +
                ", expected a value in [0, the first dimension)");
  }
  const Shape shape(a.shape().begin() + 1, a.shape().end());
  Value<T> y = tape.record(shape, take_backward<T>, {a.id, -1, -1});
  tape.node(y.id).ints[0] = index;
  const int64_t count = shape_numel(shape);
  const T* av = tape.node(a.id).value + index * count;
  std::copy(av, av + count, tape.node(y.id).value);
  return y;
}

// --- stack: extra[0] = the parts' ids (in the tape's int memory), ints[0] = their number ---
template <class T>
static void stack_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const int64_t* ids = static_cast<const int64_t*>(n.extra[0]);
  const int64_t count = shape_numel(n.shape) / n.ints[0];
  for (int64_t k = 0; k < n.ints[0]; ++k) {
    const int32_t part = static_cast<int32_t>(ids[k]);
    if (!tape.node(part).requires_grad) continue;
    T* d = tape.grad_for(part);
    for (int64_t i = 0; i < count; ++i) d[i] += n.grad[k * count + i];
  }
}

template <class T>
Value<T> stack(const std::vector<Value<T>>& parts) {
  if (parts.empty()) throw Error("stack: no parts");
  Tape<T>& tape = *parts[0].tape;
  std::vector<int64_t> ids;
  for (const Value<T>& p : parts) {
    check(p.tape == &tape && p.shape() == parts[0].shape(), "stack", "parts must share a tape and a shape", parts[0],
          p);
    ids.push_back(p.id);
  }
  Shape shape = parts[0].shape();
  shape.insert(shape.begin(), static_cast<int64_t>(parts.size()));
  const int64_t count = shape_numel(parts[0].shape());
  const int64_t* kept = tape.keep_ints(ids);
  // Recorded with no fixed inputs: requires_grad comes from the parts.
  Value<T> y = tape.record(shape, stack_backward<T>, {-1, -1, -1});
  auto& node = tape.node(y.id);
  node.extra[0] = kept;
  node.ints[0] = static_cast<int64_t>(parts.size());
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const T* pv = tape.node(parts[k].id).value;
    node.requires_grad = node.requires_grad || tape.node(parts[k].id).requires_grad;
    std::copy(pv, pv + count, node.value + static_cast<int64_t>(k) * count);
  }
  return y;
}

// --- reverse_sequences: extra[0] = the lengths (in the tape's int memory) ---
template <class T>
static void reverse_sequences_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const int64_t* lengths = static_cast<const int64_t*>(n.extra[0]);
  const int64_t batch = n.shape[1], f = n.shape[2];
  T* da = tape.grad_for(n.inputs[0]);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < lengths[b]; ++t) {
      const T* src = n.grad + (t * batch + b) * f;
      T* dst = da + ((lengths[b] - 1 - t) * batch + b) * f;
      for (int64_t j = 0; j < f; ++j) dst[j] += src[j];
    }
  }
}

template <class T>
Value<T> reverse_sequences(Value<T> a, const std::vector<int64_t>& lengths) {
  Tape<T>& tape = *a.tape;
  if (a.shape().size() != 3)
    throw Error("reverse_sequences: a has shape " + shape_to_string(a.shape()) + ", expected [T, B, F]");
  const int64_t steps = a.shape()[0], batch = a.shape()[1], f = a.shape()[2];
  std::vector<int64_t> lens = lengths.empty() ? std::vector<int64_t>(static_cast<std::size_t>(batch), steps) : lengths;
  if (static_cast<int64_t>(lens.size()) != batch) {
    throw Error("reverse_sequences: " + std::to_string(lens.size()) + " lengths, expected one per sequence (" +
                std::to_string(batch) + ")");
  }
  for (std::size_t b = 0; b < lens.size(); ++b) {
    if (lens[b] < 1 || lens[b] > steps) {
      throw Error("reverse_sequences: lengths[" + std::to_string(b) + "] is " + std::to_string(lens[b]) +
                  ", expected a value in [1, " + std::to_string(steps) + "] (T)");
    }
  }
  Value<T> y = tape.record(a.shape(), reverse_sequences_backward<T>, {a.id, -1, -1});
  auto& node = tape.node(y.id);
  node.extra[0] = tape.keep_ints(lens);
  const T* av = tape.node(a.id).value;
  std::fill(node.value, node.value + shape_numel(a.shape()), T(0));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lens[static_cast<std::size_t>(b)];
    for (int64_t t = 0; t < len; ++t) {
      const T* src = av + ((len - 1 - t) * batch + b) * f;
      std::copy(src, src + f, node.value + (t * batch + b) * f);
    }
  }
  return y;
}

// --- sum / mean of all elements; reals[0] = the factor (1 or 1/n) ---
template <class T>
static void sum_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  const auto& a = tape.node(n.inputs[0]);
  T* da = tape.grad_for(n.inputs[0]);
  const T g = n.grad[0] * static_cast<T>(n.reals[0]);
  for (int64_t i = 0; i < shape_numel(a.shape); ++i) da[i] += g;
}

template <class T>
static Value<T> reduce(Value<T> a, bool average) {
  Tape<T>& tape = *a.tape;
  const int64_t count = shape_numel(a.shape());
  if (count == 0)
    throw Error(std::string(average ? "mean" : "sum") + ": the operand " + shape_to_string(a.shape()) + " is empty");
  Value<T> y = tape.record({}, sum_backward<T>, {a.id, -1, -1});
  auto& node = tape.node(y.id);
  node.reals[0] = average ? 1.0 / static_cast<double>(count) : 1.0;
  double total = 0;  // accumulated in double: the loss should not depend on summation luck
  const T* av = tape.node(a.id).value;
  for (int64_t i = 0; i < count; ++i) total += static_cast<double>(av[i]);
  node.value[0] = static_cast<T>(total * node.reals[0]);
  return y;
}

template <class T>
Value<T> sum(Value<T> a) {
  return reduce(a, false);
}

template <class T>
Value<T> mean(Value<T> a) {
  return reduce(a, true);
}

// NOLINTBEGIN(bugprone-macro-parentheses): T is a type in these explicit instantiations
#define RNNKIT_LINEAR_OPS(T)                                                      \
  template Value<T> matmul<T>(Value<T>, Value<T>, bool, bool);                    \
  template Value<T> add<T>(Value<T>, Value<T>);                                   \
  template Value<T> sub<T>(Value<T>, Value<T>);                                   \
  template Value<T> mul<T>(Value<T>, Value<T>);                                   \
  template Value<T> scale<T>(Value<T>, double);                                   \
  template Value<T> reshape<T>(Value<T>, Shape);                                  \
  template Value<T> slice<T>(Value<T>, int64_t, int64_t);                         \
  template Value<T> concat<T>(const std::vector<Value<T>>&);                      \
  template std::vector<Value<T>> split<T>(Value<T>, const std::vector<int64_t>&); \
  template Value<T> take<T>(Value<T>, int64_t);                                   \
  template Value<T> stack<T>(const std::vector<Value<T>>&);                       \
  template Value<T> reverse_sequences<T>(Value<T>, const std::vector<int64_t>&);  \
  template Value<T> sum<T>(Value<T>);                                             \
  template Value<T> mean<T>(Value<T>);
// NOLINTEND(bugprone-macro-parentheses)
RNNKIT_LINEAR_OPS(float)
RNNKIT_LINEAR_OPS(double)
#undef RNNKIT_LINEAR_OPS

}  // namespace rnnkit

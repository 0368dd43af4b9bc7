// Activations and dropout: forward and backward side by side. See ops.h.
#include <cmath>

#include "op_support.h"
#include "rnnkit/autograd/ops.h"

namespace rnnkit {

// A unary elementwise op: y[i] = f(a[i]), recorded with its backward.
template <class T, class F>
static Value<T> elementwise(Value<T> a, typename Tape<T>::BackwardFn backward, F f) {
  Tape<T>& tape = *a.tape;
  Value<T> y = tape.record(a.shape(), backward, {a.id, -1, -1});
  const T* av = tape.node(a.id).value;
  T* out = tape.node(y.id).value;
  for (int64_t i = 0; i < shape_numel(a.shape()); ++i) out[i] = f(av[i]);
  return y;
}

// --- sigmoid: y = 1 / (1 + exp(-a)); da += dy y (1 - y) ---
template <class T>
static void sigmoid_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* da = tape.grad_for(n.inputs[0]);
  for (int64_t i = 0; i < shape_numel(n.shape); ++i) da[i] += n.grad[i] * n.value[i] * (T(1) - n.value[i]);
}

template <class T>
Value<T> sigmoid(Value<T> a) {
  return elementwise(a, sigmoid_backward<T>, [](T x) { return T(1) / (T(1) + std::exp(-x)); });
}

// --- tanh: y = tanh(a); da += dy (1 - y^2) ---
template <class T>
static void tanh_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* da = tape.grad_for(n.inputs[0]);
  for (int64_t i = 0; i < shape_numel(n.shape); ++i) da[i] += n.grad[i] * (T(1) - n.value[i] * n.value[i]);
}

template <class T>
Value<T> tanh(Value<T> a) {
  return elementwise(a, tanh_backward<T>, [](T x) { return std::tanh(x); });
}

// --- relu: y = max(a, 0); da += dy [a > 0] (= [y > 0]) ---
template <class T>
static void relu_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* da = tape.grad_for(n.inputs[0]);
  for (int64_t i = 0; i < shape_numel(n.shape); ++i) da[i] += n.value[i] > T(0) ? n.grad[i] : T(0);
}

template <class T>
Value<T> relu(Value<T> a) {
  return elementwise(a, relu_backward<T>, [](T x) { return x > T(0) ? x : T(0); });
}

// --- dropout: y = a * m, m kept in the tape's scratch (node.extra) ---
template <class T>
static void dropout_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  T* da = tape.grad_for(n.inputs[0]);
  const T* mask = static_cast<const T*>(n.extra[0]);
  for (int64_t i = 0; i < shape_numel(n.shape); ++i) da[i] += n.grad[i] * mask[i];
}

template <class T>
Value<T> dropout(Value<T> a, double p, RandomStream& random, bool training) {
  if (!(p >= 0.0 && p < 1.0)) throw Error("dropout: p is " + std::to_string(p) + ", expected a value in [0, 1)");
  if (!training || p == 0.0) return a;
  Tape<T>& tape = *a.tape;
  const int64_t count = shape_numel(a.shape());
  T* mask = tape.scratch(count);
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  for (int64_t i = 0; i < count; ++i) mask[i] = random.uniform() < p ? T(0) : keep_scale;
  Value<T> y = tape.record(a.shape(), dropout_backward<T>, {a.id, -1, -1});
  auto& node = tape.node(y.id);
  node.extra[0] = mask;
  const T* av = tape.node(a.id).value;
  for (int64_t i = 0; i < count; ++i) node.value[i] = av[i] * mask[i];
  return y;
}

#define RNNKIT_ACTIVATION_OPS(T)          \
  template Value<T> sigmoid<T>(Value<T>); \
  template Value<T> tanh<T>(Value<T>);    \
  template Value<T> relu<T>(Value<T>);    \
  template Value<T> dropout<T>(Value<T>, double, RandomStream&, bool);
RNNKIT_ACTIVATION_OPS(float)
RNNKIT_ACTIVATION_OPS(double)
#undef RNNKIT_ACTIVATION_OPS

}  // namespace rnnkit

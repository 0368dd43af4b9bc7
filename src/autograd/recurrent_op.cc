// The recurrent layer as a tape node; see recurrent_op.h.
//
// Recorded as output (k), h_n (k+1) and, for an LSTM, c_n (k+2). Only the output node
// has a backward; it runs after every consumer of them (they were recorded later),
// reads the gradients of h_n and c_n from their nodes and calls the layer's backward.
// Its own gradient is allocated at record time so that it runs even when only h_n is used.
// extra[0] = the layer; ints = {forward count at record, c_n's id or -1}.
#include "rnnkit/autograd/recurrent_op.h"

#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

template <class T>
TensorView<const T> grad_or_empty(const typename Tape<T>::Node& n) {
  return n.grad == nullptr ? TensorView<const T>() : TensorView<const T>(n.grad, n.shape);
}

template <class T>
void add_into(Tape<T>& tape, int32_t id, const Tensor<T>& g) {
  if (id < 0 || !tape.node(id).requires_grad || g.numel() == 0) return;
  T* d = tape.grad_for(id);
  for (int64_t i = 0; i < g.numel(); ++i) d[i] += g[i];
}

template <class T>
void recurrent_backward(Tape<T>& tape, int32_t id) {
  const auto& n = tape.node(id);
  auto& layer = *static_cast<RecurrentLayer<T>*>(const_cast<void*>(n.extra[0]));
  if (layer.forward_count() != static_cast<uint64_t>(n.ints[0])) {
    throw Error("autograd: a " + std::string(cell_name(layer.spec().cell)) +
                " layer object was run again after being recorded; record one layer object per use "
                "(objects on the same scope share their variables)");
  }
  const auto c_n = static_cast<int32_t>(n.ints[1]);
  const TensorView<const T> d_h = grad_or_empty<T>(tape.node(id + 1));
  const TensorView<const T> d_c = c_n >= 0 ? grad_or_empty<T>(tape.node(c_n)) : TensorView<const T>();
  const RecurrentGradients<T> g = layer.backward(TensorView<const T>(n.grad, n.shape), d_h, d_c);
  add_into(tape, n.inputs[0], g.d_input);
  add_into(tape, n.inputs[1], g.d_h0);
  add_into(tape, n.inputs[2], g.d_c0);
}

template <class T>
TensorView<const T> view_of(const Value<T>& v) {
  return v.valid() ? v.value() : TensorView<const T>();
}

}  // namespace

template <class T>
RecurrentValues<T> recurrent(RecurrentLayer<T>& layer, Value<T> input, std::span<const int64_t> lengths, Value<T> h0,
                             Value<T> c0) {
  if (!input.valid()) throw Error("autograd recurrent: the input is not a recorded value");
  Tape<T>& tape = *input.tape;
  for (const Value<T>* v : {&h0, &c0}) {
    if (v->valid() && v->tape != &tape) throw Error("autograd recurrent: h0 or c0 is on another tape");
  }
  const RecurrentResult<T> y = layer.forward(input.value(), lengths, view_of(h0), view_of(c0));
  RecurrentValues<T> out;
  out.output = tape.record(y.output.shape(), recurrent_backward<T>,
                           {input.id, h0.valid() ? h0.id : -1, c0.valid() ? c0.id : -1});
  // Parameters always take gradients, so the node does whatever its inputs need.
  tape.node(out.output.id).requires_grad = true;
  auto copy_into = [&](const Value<T>& v, const Tensor<T>& t) {
    std::copy(t.data(), t.data() + t.numel(), tape.node(v.id).value);
  };
  copy_into(out.output, y.output);
  out.h_n = tape.record(y.h_n.shape(), nullptr, {-1, -1, -1});
  tape.node(out.h_n.id).requires_grad = true;
  copy_into(out.h_n, y.h_n);
  if (y.c_n.numel() > 0) {
    out.c_n = tape.record(y.c_n.shape(), nullptr, {-1, -1, -1});
    tape.node(out.c_n.id).requires_grad = true;
    copy_into(out.c_n, y.c_n);
  }
  auto& node = tape.node(out.output.id);
  node.extra[0] = &layer;
  node.ints = {static_cast<int64_t>(layer.forward_count()), out.c_n.valid() ? out.c_n.id : -1};
  tape.grad_for(out.output.id);  // see the file comment
  return out;
}

template RecurrentValues<float> recurrent<float>(RecurrentLayer<float>&, Value<float>, std::span<const int64_t>,
                                                 Value<float>, Value<float>);
template RecurrentValues<double> recurrent<double>(RecurrentLayer<double>&, Value<double>, std::span<const int64_t>,
                                                   Value<double>, Value<double>);

}  // namespace rnnkit

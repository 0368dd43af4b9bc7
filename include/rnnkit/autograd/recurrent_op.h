// The fused recurrent layer (layers/recurrent_layer.h) as one node of the autograd tape:
// its forward is the layer's forward, its backward the layer's own BPTT. Fast built-in
// layers and hand-written tape ops mix in one model.
//
// Gradients: of the input, h0 and c0 flow to their tape values; the layer's parameter
// gradients are accumulated (+=) into the store's gradient buffer by the layer itself,
// trainable or not (an optimizer skips frozen variables). A layer object keeps the
// workspace of its latest forward, so it can be recorded once per tape record: use one
// layer object per use (objects built on the same scope share the variables). Recording
// it twice before backward is an error that says so.
#pragma once

#include <span>

#include "rnnkit/autograd/tape.h"
#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

template <class T>
struct RecurrentValues {
  Value<T> output;  // [T, B, D*R] (or merged / batch-first as the layer's options say)
  Value<T> h_n;     // [L*D, B, R]
  Value<T> c_n;     // [L*D, B, H] for an LSTM; invalid otherwise
};

// h0 and c0 may be default (invalid) Values: zero initial states.
template <class T>
RecurrentValues<T> recurrent(RecurrentLayer<T>& layer, Value<T> input, std::span<const int64_t> lengths = {},
                             Value<T> h0 = {}, Value<T> c0 = {});

}  // namespace rnnkit

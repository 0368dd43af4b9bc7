// Vanilla RNN cell (Elman): the elementwise step, forward and backward.
//
//   h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   act = tanh or relu
// The layer does the GEMMs; rows with `active` 0 keep h.
#pragma once

#include <cstdint>

namespace rnnkit {

// a [B, H]: pre-activations. Writes h [B, H] (rows past their length copy h_prev).
template <class T>
void rnn_step_forward(int64_t batch, int64_t hidden, bool relu, const T* a, const T* h_prev, T* h,
                      const uint8_t* active);

// From h_t and dh = dL/dh_t writes da = dL/da [B, H] (zero for inactive rows).
template <class T>
void rnn_step_backward(int64_t batch, int64_t hidden, bool relu, const T* h, const T* dh, T* da,
                       const uint8_t* active);

}  // namespace rnnkit

// LSTM cell: the fused elementwise step, forward and backward.
//
// Equations (PyTorch's nn.LSTM; gates stacked i, f, g, o along the fused dimension 4H):
//   a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            (a = [a_i, a_f, a_g, a_o], each H wide)
//   i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
//   c_t = f * c_{t-1} + i * g
//   m_t = o * tanh(c_t)
//   h_t = m_t, or with a projection (proj_size P > 0) h_t = W_hr m_t   (W_hr [P, H])
// The matrix products are GEMMs done by the recurrent layer; these kernels do the rest
// for B rows at once. Rows whose `active` flag is 0 (a sequence past its length) keep
// their state: c_t = c_{t-1}, and their gradients pass straight through.
#pragma once

#include <cstdint>

namespace rnnkit {

// gates [B, 4H] holds a on entry and (i, f, g, o) on exit. Writes c [B, H] and m [B, H].
template <class T>
void lstm_step_forward(int64_t batch, int64_t hidden, T* gates, const T* c_prev, T* c, T* m, const uint8_t* active);

// Given dm = dL/dm_t [B, H] and dc = dL/dc_t from later steps [B, H] (overwritten with
// dL/dc_{t-1}), writes dgates = dL/da [B, 4H]. gates holds (i, f, g, o) from forward.
template <class T>
void lstm_step_backward(int64_t batch, int64_t hidden, const T* gates, const T* c_prev, const T* c, const T* dm,
                        T* dc, T* dgates, const uint8_t* active);

}  // namespace rnnkit

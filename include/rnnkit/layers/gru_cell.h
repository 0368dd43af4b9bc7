// GRU cell: the fused elementwise step, forward and backward, in both reset forms.
//
// Gates stacked r, z, n along the fused dimension 3H. With x-side pre-activations
// x_r, x_z, x_n = W_i{r,z,n} x_t + b_i{r,z,n}:
//
// Reset after the recurrent product (PyTorch, cuDNN, Keras reset_after=True; the default):
//   r = sigmoid(x_r + W_hr h_{t-1} + b_hr)
//   z = sigmoid(x_z + W_hz h_{t-1} + b_hz)
//   n = tanh(x_n + r * (W_hn h_{t-1} + b_hn))
//   h_t = (1 - z) * n + z * h_{t-1}
//
// Reset before the recurrent product (TensorFlow 1 GRUCell, Keras reset_after=False):
//   r, z as above
//   n = tanh(x_n + W_hn (r * h_{t-1}) + b_hn)
//   h_t = (1 - z) * n + z * h_{t-1}
//
// The layer does the GEMMs: hh = W_hh h_{t-1} + b_hh ([B, 3H]; for reset-before only its r, z
// part, then hn = W_hn (r * h_{t-1}) + b_hn after phase 1). Rows with `active` 0 keep h.
#pragma once

#include <cstdint>

namespace rnnkit {

// Reset after. xg [B, 3H] holds (x_r, x_z, x_n) on entry and (r, z, n) on exit; hh [B, 3H]
// is kept (its n part is needed by backward). Writes h [B, H].
template <class T>
void gru_step_forward(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* h, const uint8_t* active);

// Reset after. dh [B, H] = dL/dh_t. Writes dxg = dL/d(x_r, x_z, x_n) [B, 3H],
// dhh = dL/dhh [B, 3H], and dh_prev = z * dh [B, H] (the direct path; the layer adds dhh W_hh).
template <class T>
void gru_step_backward(int64_t batch, int64_t hidden, const T* xg, const T* hh, const T* h_prev, const T* dh, T* dxg,
                       T* dhh, T* dh_prev, const uint8_t* active);

// Reset before, phase 1: xg's r, z parts plus hh's r, z parts -> (r, z) into xg; rh = r * h_prev.
template <class T>
void gru_before_step_forward_gates(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* rh);
// Reset before, phase 2: hh's n part holds hn = W_hn rh + b_hn; n = tanh(x_n + hn) into xg; writes h.
template <class T>
void gru_before_step_forward_output(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* h,
                                    const uint8_t* active);
// Reset before, phase 1 of backward: from dh writes dxg's n and z parts, dhh's n part
// (= dL/dhn, the pre-activation gradient of n) and dh_prev = z * dh.
template <class T>
void gru_before_step_backward_output(int64_t batch, int64_t hidden, const T* xg, const T* h_prev, const T* dh, T* dxg,
                                     T* dhh, T* dh_prev, const uint8_t* active);
// Reset before, phase 2 of backward: drh = dL/d(r * h_prev) = dhh_n W_hn [B, H]; writes dxg's
// r part, dhh's r and z parts (equal to dxg's), and adds r * drh to dh_prev.
template <class T>
void gru_before_step_backward_gates(int64_t batch, int64_t hidden, const T* xg, const T* h_prev, const T* drh, T* dxg,
                                    T* dhh, T* dh_prev, const uint8_t* active);

}  // namespace rnnkit

// The GRU cell policies (cell_policy.h), one per reset form: after the recurrent product
// (PyTorch's nn.GRU, cuDNN, Keras reset_after=True, ONNX linear_before_reset=1) and before it
// (TensorFlow 1's GRUCell, Keras reset_after=False, ONNX linear_before_reset=0); with
// hard_sigmoid gates, a relu candidate and ONNX's gate clipping as options.
//
// Gates are stacked r, z, n along the fused dimension 3H; sigma is the recurrent activation,
// act the cell activation, clip_G the gate clip (cell_options.h; lstm_cell.h explains the
// notation). x_r, x_z, x_n are the step's blocks of xg = x W_ih^T + b_ih (reset before:
// fold_recurrent_bias adds all of b_hh there, where it adds linearly).
//
// Reset after the product (GruResetAfterCell). Per step, each row of the batch:
//  forward                                          backward, given dh_t
//  F1  hh = h_{t-1} W_hh^T + b_hh  (one GEMM, 3H   B4  dh_{t-1} += dhh W_hh; after the loop
//      wide; b_hh added in the fused pass)               dW_hh += dhh^T h_{t-1}, db_hh += sum dhh   (F1)
//  F2  r = sigma(clip_G(x_r + hh_r))                B3  dhh_r = da_r = dr sigma'(r) [..],
//      z = sigma(clip_G(x_z + hh_z))                    dhh_z = da_z = dz sigma'(z) [..]          (F2)
//  F3  n = act(clip_G(x_n + r hh_n))                B2  da_n = dn act'(n) [..], dr = da_n hh_n,
//                                                        dhh_n = da_n r                            (F3)
//  F4  h_t = (1 - z) n + z h_{t-1}                  B1  dn = dh_t (1 - z), dz = dh_t (h_{t-1} - n),
//                                                        dh_{t-1} = dh_t z                          (F4)
// run from B1 to B4; dxg = (da_r, da_z, da_n). Kept: the activations (r, z, n) in xg, the GEMM's
// h_{t-1} W_hh^T (backward adds b_hn again), and with a gate clip the three pre-activations.
//
// Reset before the product (GruResetBeforeCell):
//  forward                                          backward, given dh_t
//  F1  x_r += h_{t-1} W_hr^T, x_z += h_{t-1} W_hz^T  B4  dh_{t-1} += da_r W_hr + da_z W_hz; after the
//                                                        loop dW_h{r,z} += da_{r,z}^T h_{t-1},
//                                                        db_hh += sum da                            (F1)
//  F2  r = sigma(clip_G(x_r)), z = sigma(clip_G(x_z)) B3  da_r = drh h_{t-1} sigma'(r) [..],
//  F3  rh = r h_{t-1}                                     dh_{t-1} += drh r                        (F3, F2)
//  F4  x_n += rh W_hn^T                             B2  drh = da_n W_hn; after the loop
//                                                        dW_hn += da_n^T rh                         (F4)
//  F5  n = act(clip_G(x_n))                         B1  da_n = dh_t (1 - z) act'(n) [..],
//  F6  h_t = (1 - z) n + z h_{t-1}                       da_z = dh_t (h_{t-1} - n) sigma'(z) [..],
//                                                        dh_{t-1} = dh_t z                     (F6, F5, F2)
// run from B1 to B4; dxg = (da_r, da_z, da_n). Kept: (r, z, n) in xg, rh, and with a gate clip
// the pre-activations.
//
// In both, sigma' and act' are written in terms of the activations' outputs, [..] is the gate
// clip's mask of the pre-activation (1 inside (-G, G)), and rows past their sequence's length
// keep h and get no gradient (cell_policy.h).
#pragma once

#include <vector>

#include "rnnkit/layers/cell_policy.h"

namespace rnnkit {

template <class T>
class GruResetAfterCell final : public CellPolicy<T> {
 public:
  // spec.cell must be gru.
  GruResetAfterCell(const RecurrentSpec& spec, const CellOptions& options);

  int64_t gate_width() const override { return 3 * hidden_; }
  CellMemory memory(int64_t steps, int64_t batch) const override;
  void bind_kept(T* kept, int64_t steps, int64_t batch) override;

  void fold_recurrent_bias(MatrixView<T> xg_all, const CellParameters<T>& p) const override;
  void forward_step(int64_t t, const CellParameters<T>& p, MatrixView<T> xg_t, MatrixView<const T> h_prev,
                    MatrixView<T> h_t, const uint8_t* active) override;

  void begin_backward(T* scratch, const T* d_state_n) override;
  void backward_step(int64_t t, const CellParameters<T>& p, MatrixView<const T> xg_t, MatrixView<const T> h_prev,
                     MatrixView<const T> h_t, MatrixView<const T> dh, MatrixView<T> dxg_t, MatrixView<T> dh_prev,
                     const uint8_t* active) override;
  void end_backward(const CellParameters<T>& p, MatrixView<const T> dxg_all, MatrixView<const T> h_prev_all,
                    T* d_state0) override;

 private:
  int64_t hidden_;
  CellOptions options_;
  std::vector<T> zeros_;  // [3H]: b_hh of a layer without biases
  int64_t steps_ = 0, batch_ = 0;
  T* hh_ = nullptr;   // [T, B, 3H]: h_{t-1} W_hh^T
  T* pre_ = nullptr;  // [T, B, 3H] with a gate clip
  T* dhh_ = nullptr;  // scratch [T, B, 3H]
};

template <class T>
class GruResetBeforeCell final : public CellPolicy<T> {
 public:
  // spec.cell must be gru.
  GruResetBeforeCell(const RecurrentSpec& spec, const CellOptions& options);

  int64_t gate_width() const override { return 3 * hidden_; }
  CellMemory memory(int64_t steps, int64_t batch) const override;
  void bind_kept(T* kept, int64_t steps, int64_t batch) override;

  void fold_recurrent_bias(MatrixView<T> xg_all, const CellParameters<T>& p) const override;
  void forward_step(int64_t t, const CellParameters<T>& p, MatrixView<T> xg_t, MatrixView<const T> h_prev,
                    MatrixView<T> h_t, const uint8_t* active) override;

  void begin_backward(T* scratch, const T* d_state_n) override;
  void backward_step(int64_t t, const CellParameters<T>& p, MatrixView<const T> xg_t, MatrixView<const T> h_prev,
                     MatrixView<const T> h_t, MatrixView<const T> dh, MatrixView<T> dxg_t, MatrixView<T> dh_prev,
                     const uint8_t* active) override;
  void end_backward(const CellParameters<T>& p, MatrixView<const T> dxg_all, MatrixView<const T> h_prev_all,
                    T* d_state0) override;

 private:
  int64_t hidden_;
  CellOptions options_;
  int64_t steps_ = 0, batch_ = 0;
  T* rh_ = nullptr;   // [T, B, H]
  T* pre_ = nullptr;  // [T, B, 3H] with a gate clip
  T* drh_ = nullptr;  // scratch [B, H]
};

extern template class GruResetAfterCell<float>;
extern template class GruResetAfterCell<double>;
extern template class GruResetBeforeCell<float>;
extern template class GruResetBeforeCell<double>;

}  // namespace rnnkit

// The LSTM cell policy (cell_policy.h): PyTorch's nn.LSTM, optionally with a projection
// (proj_size), peepholes, TensorFlow 1's cell and projection clipping, ONNX's gate clipping,
// hard_sigmoid gates and a relu cell activation.
//
// Gates are stacked i, f, g, o along the fused dimension 4H. sigma is the recurrent activation
// (sigmoid, or hard_sigmoid(alpha, beta) = max(0, min(1, alpha x + beta))), act the cell
// activation (tanh or relu), clip_C(x) = max(-C, min(C, x)) the identity when C is 0 (none), with
// G = gate_clip, K = cell_clip, Q = proj_clip. p_i, p_f, p_o are the rows of weight_peephole [3, H]
// (zero without peepholes). xg_t holds x_t W_ih^T + b_ih + b_hh (the driver's GEMM before the
// loop; fold_recurrent_bias adds b_hh). Per step, each row of the batch:
//
//  forward                                         backward, given dh_t and dc_t (from step t+1)
//  F1  a = xg_t + h_{t-1} W_hh^T                   B9  dh_{t-1} = da W_hh; after the loop
//                                                      dW_hh += da^T h_{t-1}, db_hh += sum da     (F1)
//  F2  â_i = a_i + p_i c_{t-1}                     B8  dc_{t-1} += dâ_i p_i + dâ_f p_f,
//      â_f = a_f + p_f c_{t-1}                         dp_i += dâ_i c_{t-1}, dp_f += dâ_f c_{t-1}  (F2)
//  F3  i = sigma(clip_G(â_i))                      B7  dâ_i = di sigma'(i) [|â_i| < G]
//      f = sigma(clip_G(â_f))                          dâ_f = df sigma'(f) [|â_f| < G]
//      g = act(clip_G(a_g))                            da_g = dg act'(g) [|a_g| < G]              (F3)
//  F4  c~ = f c_{t-1} + i g                        B6  di = dc~ g, df = dc~ c_{t-1}, dg = dc~ i,
//                                                      dc_{t-1} = dc~ f                           (F4)
//  F5  c_t = clip_K(c~)                            B5  dc~ = dc_t [|c_t| < K]                     (F5)
//  F6  â_o = a_o + p_o c_t                         B4  dc_t += dâ_o p_o, dp_o += dâ_o c_t         (F6)
//  F7  o = sigma(clip_G(â_o))                      B3  dâ_o = do sigma'(o) [|â_o| < G]            (F7)
//  F8  m_t = o act(c_t)                            B2  do = dm act(c_t),
//                                                      dc_t += dm o act'(act(c_t))                (F8)
//  F9  h_t = clip_Q(m_t W_hr^T), or m_t            B1  dz = dh_t [|h_t| < Q], dm = dz W_hr;
//      without a projection                            after the loop dW_hr += dz^T m            (F9)
// run backward from B1 to B9, where [cond] is 1 or 0, sigma'(y) = y (1 - y) for sigmoid and
// alpha [0 < y < 1] for hard_sigmoid, act'(y) = 1 - y^2 for tanh and [y > 0] for relu (both
// written in terms of the activation's output y, which is what forward keeps), and dc_t from
// step t+1 is dL/dc_t through c_{t+1} (zero, or d c_n, after the last step). A clip's gradient
// is 1 inside (-C, C) and 0 where it clipped (at exactly +-C too). Rows past their sequence's
// length keep their state (c_t = c_{t-1}) and get no gate gradient; dc passes them unchanged.
//
// Kept from forward for backward, per step: the activations (i, f, g, o) in xg, c_t (the history
// [T+1, B, H], c[0] = c0), m_t with a projection, and with a gate or cell clip the
// pre-activations (â_i, â_f, a_g, â_o) whose clip masks backward needs.
#pragma once

#include "rnnkit/layers/cell_policy.h"

namespace rnnkit {

template <class T>
class LstmCell final : public CellPolicy<T> {
 public:
  // spec.cell must be lstm.
  LstmCell(const RecurrentSpec& spec, const CellOptions& options);

  int64_t gate_width() const override { return 4 * hidden_; }
  int64_t state_width() const override { return hidden_; }
  CellMemory memory(int64_t steps, int64_t batch) const override;
  void bind_kept(T* kept, int64_t steps, int64_t batch) override;

  void fold_recurrent_bias(MatrixView<T> xg_all, const CellParameters<T>& p) const override;
  void begin_forward(const T* c0) override;
  void forward_step(int64_t t, const CellParameters<T>& p, MatrixView<T> xg_t, MatrixView<const T> h_prev,
                    MatrixView<T> h_t, const uint8_t* active) override;
  void final_state(T* c_n) const override;

  void begin_backward(T* scratch, const T* dc_n) override;
  void backward_step(int64_t t, const CellParameters<T>& p, MatrixView<const T> xg_t, MatrixView<const T> h_prev,
                     MatrixView<const T> h_t, MatrixView<const T> dh, MatrixView<T> dxg_t, MatrixView<T> dh_prev,
                     const uint8_t* active) override;
  void end_backward(const CellParameters<T>& p, MatrixView<const T> dxg_all, MatrixView<const T> h_prev_all,
                    T* dc0) override;

 private:
  bool clipping() const { return options_.gate_clip > 0.0 || options_.cell_clip > 0.0; }

  int64_t hidden_, proj_;
  bool peepholes_;
  CellOptions options_;
  int64_t steps_ = 0, batch_ = 0;
  T* c_ = nullptr;    // [T+1, B, H]
  T* m_ = nullptr;    // [T, B, H] with a projection
  T* pre_ = nullptr;  // [T, B, 4H] when clipping
  T* dc_ = nullptr;   // scratch [B, H]: dL/dc_t through later steps
  T* dm_ = nullptr;   // scratch [B, H]
  T* dz_ = nullptr;   // scratch [T, B, P]: dL/d(m W_hr^T) with a projection
};

extern template class LstmCell<float>;
extern template class LstmCell<double>;

}  // namespace rnnkit

// The vanilla (Elman) RNN cell policy (cell_policy.h): PyTorch's nn.RNN, Keras' SimpleRNN,
// TensorFlow 1's BasicRNNCell, ONNX's RNN, with act = tanh (rnn_tanh) or relu (rnn_relu) and
// ONNX's clip as an option (clip_G, cell_options.h; lstm_cell.h explains the notation).
//
// xg_t holds x_t W_ih^T + b_ih + b_hh (fold_recurrent_bias adds b_hh). Per step, each row:
//  forward                                  backward, given dh_t
//  F1  a = xg_t + h_{t-1} W_hh^T            B2  dh_{t-1} = da W_hh; after the loop
//                                               dW_hh += da^T h_{t-1}, db_hh += sum da   (F1)
//  F2  h_t = act(clip_G(a))                 B1  da = dh_t act'(h_t) [|a| < G]            (F2)
// with act'(y) = 1 - y^2 for tanh and [y > 0] for relu, in terms of the output h_t. Kept: a
// itself, in xg (an RNN has no gate activations to keep there: it keeps its pre-activations).
// Rows past their sequence's length keep h and get no gradient.
#pragma once

#include "rnnkit/layers/cell_policy.h"

namespace rnnkit {

template <class T>
class RnnCell final : public CellPolicy<T> {
 public:
  // spec.cell must be rnn_tanh or rnn_relu.
  RnnCell(const RecurrentSpec& spec, const CellOptions& options);

  int64_t gate_width() const override { return hidden_; }
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
  bool relu_;
  double gate_clip_;
  int64_t batch_ = 0;
};

extern template class RnnCell<float>;
extern template class RnnCell<double>;

}  // namespace rnnkit

// The interface between the recurrent layer's driver (recurrent_layer.h) and a cell policy:
// what one cell kind computes at each step, forward and backward, and what it keeps in between.
// One policy object serves one layer and direction; the policies are lstm_cell.h, gru_cell.h
// (reset after and before) and rnn_cell.h, made by make_cell_policy.
//
// The driver owns, per layer and direction:
//   xg [T*B, G*H]   the input projection of all steps, X W_ih^T + b_ih, one GEMM before the loop
//                   (fold_recurrent_bias may add what of b_hh adds linearly); each step's rows become
//                   that step's gate activations
//   h  [T+1, B, R]  the state history, h[0] = h0
//   after the loop  dW_ih += dxg^T X, db_ih += colsum(dxg), dX = dxg W_ih
//   lengths         rows past a sequence's length: after each forward step it copies h_{t-1} into
//                   h_t, and after each backward step it adds their dL/dh_t to dL/dh_{t-1}
// A policy owns everything else: its gates' order, activations and clips, the per-step recurrent
// product h_{t-1} W_hh^T (and an LSTM's projection), the fused elementwise step forward and
// backward, any state beyond h (an LSTM's c), what it keeps for backward, and the gradients of
// W_hh, b_hh and its own parameters (W_hr, the peepholes).
//
// Step contracts, for B rows of which `active` (null: all) flags those still inside their sequence:
//   forward_step   xg_t [B, G*H] holds the input projection on entry and the gate activations on
//                  exit, in the cell's gate order (RNN: its pre-activations). Writes h_t [B, R] on
//                  active rows (the driver overwrites the others); keeps its own state on inactive rows.
//   backward_step  dh [B, R] = dL/dh_t, complete. Writes dxg_t [B, G*H] = dL/d(xg_t as it was on entry
//                  to forward_step) and dh_prev [B, R] = the cell's part of dL/dh_{t-1}: both zero on
//                  inactive rows, whose own-state gradient (an LSTM's dL/dc) passes through unchanged.
// Parameter gradients accumulate (+=) into the gradient views; a policy keeps pointers into the
// memory bound to it, never into the variable store (whose buffers may move between calls).
#pragma once

#include <cstdint>
#include <memory>

#include "rnnkit/core/matrix.h"
#include "rnnkit/layers/recurrent_options.h"

namespace rnnkit {

// One layer and direction's recurrent-side variables, bound for one forward or backward call.
// Views of variables the spec does not have are empty; bias pointers are null without biases.
template <class T>
struct CellParameters {
  MatrixView<const T> weight_hh;        // [G*H, R]
  const T* bias_hh = nullptr;           // [G*H]
  MatrixView<const T> weight_hr;        // [P, H]
  MatrixView<const T> weight_peephole;  // [3, H]: rows i, f, o
  MatrixView<T> dweight_hh;
  T* dbias_hh = nullptr;
  MatrixView<T> dweight_hr;
  MatrixView<T> dweight_peephole;
};

// Elements of T a policy needs for T steps of B rows: `kept` from forward to backward, `scratch`
// during backward only (one scratch is shared by every layer and direction, in turn).
struct CellMemory {
  int64_t kept = 0;
  int64_t scratch = 0;
};

template <class T>
class CellPolicy {
 public:
  virtual ~CellPolicy() = default;

  // G*H: the width of xg, whose column blocks are the gates in the cell's order.
  virtual int64_t gate_width() const = 0;
  // S: the width of the state beyond h (an LSTM's c: H); 0 for other cells.
  virtual int64_t state_width() const { return 0; }

  virtual CellMemory memory(int64_t steps, int64_t batch) const = 0;
  // Gives the policy its kept memory for (steps, batch) (memory(steps, batch).kept elements,
  // 64-byte aligned); called whenever the workspace is planned anew.
  virtual void bind_kept(T* kept, int64_t steps, int64_t batch) = 0;

  // xg_all [T*B, G*H] = X W_ih^T + b_ih: adds the parts of b_hh that add linearly.
  virtual void fold_recurrent_bias(MatrixView<T> xg_all, const CellParameters<T>& p) const = 0;
  // state0 [B, S], or null for zeros. Called before step 0.
  virtual void begin_forward(const T* state0) { (void)state0; }
  virtual void forward_step(int64_t t, const CellParameters<T>& p, MatrixView<T> xg_t, MatrixView<const T> h_prev,
                            MatrixView<T> h_t, const uint8_t* active) = 0;
  // The state after the last step, [B, S].
  virtual void final_state(T* state_n) const { (void)state_n; }

  // scratch: memory(steps, batch).scratch elements, 64-byte aligned; d_state_n [B, S] or null.
  virtual void begin_backward(T* scratch, const T* d_state_n) = 0;
  // xg_t holds the step's gate activations (as forward left them); h_t is the state the step wrote.
  virtual void backward_step(int64_t t, const CellParameters<T>& p, MatrixView<const T> xg_t,
                             MatrixView<const T> h_prev, MatrixView<const T> h_t, MatrixView<const T> dh,
                             MatrixView<T> dxg_t, MatrixView<T> dh_prev, const uint8_t* active) = 0;
  // After the last backward step (t = 0): the gradients of W_hh, b_hh and the policy's own
  // parameters, from dxg_all [T*B, G*H] and h_prev_all [T*B, R] (row t*B + b: h_{t-1} of sequence b);
  // writes d_state0 [B, S] (if S > 0).
  virtual void end_backward(const CellParameters<T>& p, MatrixView<const T> dxg_all, MatrixView<const T> h_prev_all,
                            T* d_state0) = 0;
};

// The policy for spec.cell and options (LSTM, GRU reset after or before, RNN tanh or relu).
template <class T>
std::unique_ptr<CellPolicy<T>> make_cell_policy(const RecurrentSpec& spec, const CellOptions& options);

extern template std::unique_ptr<CellPolicy<float>> make_cell_policy<float>(const RecurrentSpec&, const CellOptions&);
extern template std::unique_ptr<CellPolicy<double>> make_cell_policy<double>(const RecurrentSpec&, const CellOptions&);

}  // namespace rnnkit

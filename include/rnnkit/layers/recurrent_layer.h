// The recurrent layer: stacked, optionally bidirectional LSTM / GRU / RNN over a batch of
// sequences, with fused forward and BPTT backward. Shapes and meaning follow PyTorch's
// nn.LSTM / nn.GRU / nn.RNN:
//   input   [T, B, I]  (time-major; [B, T, I] with batch_first)
//   lengths B values in [1, T], or none (all T): packed-sequence semantics. Outputs past a
//           sequence's length are zero, its final state is the one at its last valid step,
//           and the reverse direction starts at its own last valid step.
//   h0, c0  [L*D, B, R] and [L*D, B, H] (c0 for LSTM only), zero when not given;
//           row l*D + d is layer l, direction d (0 forward, 1 reverse), in either stacking.
//           R = P if projecting, else H.
//   output  [T, B, D*R] (directions concatenated), h_n [L*D, B, R], c_n [L*D, B, H] (LSTM);
//           with a sum, mul or ave merge (Keras' Bidirectional merge_mode) output is [T, B, R]:
//           fw + bw, fw * bw or (fw + bw) / 2 of the last layer.
// Layer k > 0 reads layer k-1's output: both directions of it, concatenated (per-layer
// stacking, as PyTorch), or only its own direction's (per-direction stacking, recurrent_spec.h).
// Dropout (PyTorch's `dropout`): while training, each layer's output except the last is
// multiplied by a mask of 0 and 1/(1-p) (each element kept with probability 1-p) before the
// next layer reads it; masks come from the random stream (seed, "{scope}/dropout"), a fresh
// mask per forward. Weights are the store's variables `{scope}/l{k}/{fw|bw}/...`
// (recurrent_spec.h); how the cells compute is in the options (recurrent_options.h).
//
// The layer is one driver (this file) over a cell policy per layer and direction (cell_policy.h:
// lstm_cell.h, gru_cell.h, rnn_cell.h, each with its equations forward and backward). The driver
// does what every cell shares: the loops over layers, directions and steps, the workspace planned
// once per (T, B), the input projection of all steps as one GEMM (X [T*B, I_k] W_ih^T + b_ih)
// before the loop, lengths and the reversal of each sequence within its length for the reverse
// direction, dropout between layers, the merge, and after the loop the input-weight, input-bias
// and input gradients as single GEMMs over all steps. Each step, the policy does the recurrent
// product and one fused elementwise pass, forward and backward.
//
// Forward keeps what backward needs. Parameter gradients are accumulated (+=) into the store's
// gradient buffer; input and state gradients are returned.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnnkit/core/tensor.h"
#include "rnnkit/layers/cell_policy.h"
#include "rnnkit/layers/recurrent_options.h"
#include "rnnkit/layers/recurrent_spec.h"
#include "rnnkit/random/stream.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

template <class T>
struct RecurrentResult {
  Tensor<T> output;  // [T, B, D*R] ([B, T, D*R] with batch_first)
  Tensor<T> h_n;     // [L*D, B, R]
  Tensor<T> c_n;     // [L*D, B, H] for LSTM; empty otherwise
};

template <class T>
struct RecurrentGradients {
  Tensor<T> d_input;  // shaped as the input
  Tensor<T> d_h0;     // [L*D, B, R]
  Tensor<T> d_c0;     // [L*D, B, H] for LSTM; empty otherwise
};

template <class T>
class RecurrentLayer {
 public:
  // Binds to the variables under `scope` (which must exist with the spec's shapes) of a
  // store whose dtype is T. Throws Error naming a missing or misshapen variable, or an option
  // that does not fit the spec (check_recurrent_options).
  RecurrentLayer(VariableStore& store, std::string scope, RecurrentSpec spec, RecurrentLayerOptions options = {});
  ~RecurrentLayer();
  RecurrentLayer(RecurrentLayer&&) noexcept;
  RecurrentLayer& operator=(RecurrentLayer&&) noexcept;

  const RecurrentSpec& spec() const { return spec_; }
  VariableStore& store() const { return *store_; }
  const std::string& scope() const { return scope_; }
  const RecurrentLayerOptions& options() const { return options_; }
  // The width of the output's last dimension: D*R, or R with a sum, mul or ave merge.
  int64_t output_size() const;

  // Training mode turns dropout on (default: off, as PyTorch's eval()).
  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  // Counts forward calls: backward always differentiates the latest one.
  uint64_t forward_count() const { return forward_count_; }

  // Restarts the dropout masks' random stream (seed, "{scope}/dropout"); the default seed
  // is the store's. The same seed gives the same masks for the same sequence of forwards.
  void set_dropout_seed(uint64_t seed);

  // Empty views (data() == nullptr) mean "not given". Throws Error on a wrong shape or length.
  RecurrentResult<T> forward(TensorView<const T> input, std::span<const int64_t> lengths = {},
                             TensorView<const T> h0 = {}, TensorView<const T> c0 = {});

  // Gradients of the loss with respect to the last forward's output, h_n and c_n (empty:
  // zero). Adds the parameter gradients to the store's gradient buffer.
  RecurrentGradients<T> backward(TensorView<const T> d_output, TensorView<const T> d_h_n = {},
                                 TensorView<const T> d_c_n = {});

  // The latest forward's gate activations of layer `layer`, direction `direction` (0
  // forward, 1 reverse), time-major [T, B, G*H]: LSTM (i, f, g, o), GRU (r, z, n), in the
  // fused order, after any gate clip and with the recurrent activation applied. The reverse direction's step t is each
  // sequence's step len-1-t; entries past a sequence's length are unspecified. Valid until the next forward. Throws
  // Error for an RNN cell (it has no gates: its activation is the output), before any forward, or for a layer or
  // direction out of range.
  TensorView<const T> gate_activations(int64_t layer, int direction = 0) const;

 private:
  struct Workspace;
  VariableStore* store_;
  std::string scope_;
  RecurrentSpec spec_;
  RecurrentLayerOptions options_;
  bool training_ = false;
  uint64_t forward_count_ = 0;
  std::unique_ptr<RandomStream> dropout_stream_;
  std::vector<std::unique_ptr<CellPolicy<T>>> cells_;  // per layer and direction: l * D + d
  std::unique_ptr<Workspace> work_;
};

extern template class RecurrentLayer<float>;
extern template class RecurrentLayer<double>;

}  // namespace rnnkit

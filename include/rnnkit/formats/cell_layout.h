// How each framework stores a recurrent cell's fused parameters, as data: one table row per
// (framework, cell, GRU reset form), and one pair of functions that convert any row's
// tensors to rnnkit's layout and back. The format readers (pytorch, keras, onnx, tf1) only
// find the tensors in their files; the gate orders and orientations are here, once.
//
// rnnkit's layout is PyTorch's: weight_ih [G*H, I], weight_hh [G*H, R], bias_ih [G*H],
// bias_hh [G*H], gate blocks along dimension 0 in the order i, f, g, o (LSTM), r, z, n (GRU).
//
// A row's `gates` spells the framework's block order in rnnkit's letters:
//   framework  cell            gates  kernels          bias
//   PyTorch    LSTM            ifgo   [G*H, in]        bias_ih, bias_hh (separate)
//   PyTorch    GRU (after)     rzn    [G*H, in]        separate
//   Keras      LSTM            ifgo   [in, G*H]        one [G*H]             (i, f, c, o)
//   Keras      GRU (after)     zrn    [in, G*H]        [2, G*H]: input; recurrent
//   Keras      GRU (before)    zrn    [in, G*H]        one [G*H]
//   ONNX       LSTM            iofg   [G*H, in]        [2*G*H]: Wb then Rb   (i, o, f, c)
//   ONNX       GRU (after)     zrn    [G*H, in]        [2*G*H]  (linear_before_reset = 1)
//   ONNX       GRU (before)    zrn    [G*H, in]        [2*G*H]  (linear_before_reset = 0)
//   TF1        LSTM            igfo   [in, G*H]        one [G*H]             (i, j, f, o)
//   TF1        GRU (before)    rzn    [in, G*H]        one [G*H]             (r, u | candidate)
//   and the simple RNN of each (one block, "h").
// With one bias, importing sets bias_ih to it and bias_hh to zero (the cell adds them, so
// the outputs are the same); exporting writes bias_ih + bias_hh (exact when bias_hh is 0).
// A layer without biases (PyTorch bias=False, Keras use_bias=False, an ONNX node without B)
// has no bias tensors on either side.
//
// Peephole LSTMs: ONNX's P [3H] per direction holds the gates i, o, f; TensorFlow 1's LSTMCell
// w_i_diag, w_f_diag, w_o_diag [H] each (read here as one [3, H] in that order); rnnkit's
// weight_peephole [3, H] rows i, f, o. The row's `peephole_gates` spells the framework's order
// (empty: it has no peephole LSTM).
#pragma once

#include <span>
#include <string_view>

#include "rnnkit/core/cell_kind.h"
#include "rnnkit/core/tensor.h"
#include "rnnkit/layers/recurrent_layer.h"
#include "rnnkit/layers/recurrent_model.h"

namespace rnnkit {

enum class Framework { pytorch, keras, onnx, tf1 };
const char* framework_name(Framework framework);

enum class BiasStyle {
  separate,      // bias_ih [G*H] and bias_hh [G*H]
  single,        // one bias [G*H] (their sum)
  stacked_rows,  // one bias [2, G*H]: row 0 input, row 1 recurrent
  concatenated,  // one bias [2*G*H]: input, then recurrent
};

struct CellLayout {
  Framework framework;
  CellKind cell;
  GruReset reset;          // GRU: which form this row describes
  std::string_view gates;  // the framework's gate blocks in order, in rnnkit's letters
  bool transposed;         // kernels stored [in, G*H] (y = x K) rather than [G*H, in]
  BiasStyle bias;
  std::string_view peephole_gates = "";  // LSTM: the peephole vectors' order, e.g. "iof"; "": none
};

// Every row of the table.
std::span<const CellLayout> cell_layouts();
// The row for a framework and cell (rnn_tanh and rnn_relu share one). Throws Error for what
// the framework cannot store, e.g. a PyTorch GRU with the reset before the product.
const CellLayout& cell_layout(Framework framework, CellKind cell, GruReset reset = GruReset::after);

// One direction of one layer in rnnkit's layout.
struct CellWeights {
  Tensor<double> weight_ih, weight_hh, bias_ih, bias_hh;  // biases: no elements without biases
  Tensor<double> weight_hr;                               // LSTM projection [P, H]; no elements without one
  Tensor<double> weight_peephole;                         // [3, H] rows i, f, o; no elements without peepholes
};

// The same in a framework's layout: `kernel` and `recurrent` as stored; `bias` as the bias
// style says (no elements: a layer without biases); `recurrent_bias` only for
// BiasStyle::separate; `peephole` [3, H] in the layout's peephole_gates order.
struct FrameworkCellWeights {
  Tensor<double> kernel, recurrent, bias, recurrent_bias, peephole;
};

// Throws Error naming the tensor whose shape does not fit the layout and hidden size H
// (`what` names the cell in messages, e.g. "keras layer 'lstm' forward").
CellWeights to_rnnkit(const CellLayout& layout, const FrameworkCellWeights& weights, int64_t hidden,
                      const std::string& what);
FrameworkCellWeights from_rnnkit(const CellLayout& layout, const CellWeights& weights, int64_t hidden);

// Where each of a cell's rnnkit tensors came from, e.g. "keras FILE:lstm/lstm/lstm_cell/kernel:0".
struct CellSources {
  std::string weight_ih, weight_hh, bias_ih, bias_hh, weight_hr, weight_peephole;
};
// The sources of a cell read from `origin` (e.g. "keras w.h5:lstm/") with the framework's
// tensor names, following the layout's bias style (bias "": the cell has no biases).
CellSources cell_sources(const CellLayout& layout, const std::string& origin, const std::string& kernel,
                         const std::string& recurrent, const std::string& bias, const std::string& recurrent_bias = "");

// A model whose variables (under `scope`, in a store of `dtype`) hold `weights`, one per
// layer and direction (index layer * D + direction), each variable's source set from
// `sources` (same indexing); the spec says which variables there are (biases, weight_hr,
// weight_peephole). Throws Error naming a tensor whose shape does not fit the spec.
RecurrentModel model_from_cell_weights(const RecurrentSpec& spec, const RecurrentLayerOptions& options, DType dtype,
                                       const std::string& scope, const std::vector<CellWeights>& weights,
                                       const std::vector<CellSources>& sources);
// The model's weights, one per layer and direction, as float64 (weight_hr too, if any).
std::vector<CellWeights> cell_weights_of(const RecurrentModel& model);

// The blocks of dimension `axis` (0 or 1) of a rank-2 tensor, of `block` rows or columns
// each, reordered from order `from` to order `to` (both spell the same letters).
Tensor<double> reorder_gate_blocks(TensorView<const double> t, int axis, int64_t block, std::string_view from,
                                   std::string_view to);

}  // namespace rnnkit

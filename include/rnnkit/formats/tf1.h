// TensorFlow 1 RNN cell variables (tf.compat.v1.nn.rnn_cell) to and from rnnkit, from a
// safetensors or .npz file of the variables under their TF1 names.
//
//   LSTMCell, BasicLSTMCell  {cell}/kernel [in + R, 4H] (gates i, j, f, o), {cell}/bias [4H],
//                            LSTMCell(num_proj=P): {cell}/projection/kernel [H, P], R = P
//                            LSTMCell(use_peepholes=True): {cell}/w_i_diag, w_f_diag, w_o_diag [H]
//   GRUCell                  gru_cell/gates/kernel [in + H, 2H] (r, u), gru_cell/gates/bias [2H],
//                            gru_cell/candidate/kernel [in + H, H], gru_cell/candidate/bias [H]
//   BasicRNNCell             basic_rnn_cell/kernel [in + H, H], basic_rnn_cell/bias [H]
//   LSTMBlockCell, LSTMBlockFusedCell  as LSTMCell under lstm_cell/, lstm_fused_cell/ or
//                            lstm_block_wrapper/ (same gates i, j, f, o; TF 1.2-era ones clipped
//                            the cell state at 3 by default: say --cell-clip 3)
//   CudnnCompatibleLSTMCell  cudnn_compatible_lstm_cell/kernel, bias: as LSTMCell, forget_bias 0
//   CudnnCompatibleGRUCell   cudnn_compatible_gru_cell/gates/kernel [in + H, 2H] (r, u), gates/bias,
//                            candidate/input_projection/kernel [in, H], .../bias [H],
//                            candidate/hidden_projection/kernel [H, H], .../bias [H]: the reset
//                            applies after the hidden projection (rnnkit's gru_reset after)
// Older names are read as these: weights/biases (TF 1.0, 1.1) as kernel/bias; TF 0.x's
// BasicLSTMCell/Linear/Matrix and Bias, LSTMCell/W_0, B, W_I_diag, W_F_diag, W_O_diag and
// W_P_0, GRUCell/Gates/Linear/... and Candidate/Linear/..., BasicRNNCell/Linear/..., with
// RNN/, MultiRNNCell/Cell{k}/ and BiRNN_FW, BiRNN_BW as rnn/, multi_rnn_cell/cell_{k}/ and
// bidirectional_rnn/fw, bw.
// with {cell} = lstm_cell or basic_lstm_cell, under
//   rnn/{cell}/                                     one layer (tf.nn.dynamic_rnn)
//   rnn/multi_rnn_cell/cell_{k}/{cell}/             stacked (MultiRNNCell)
//   bidirectional_rnn/{fw|bw}/{cell}/               bidirectional_dynamic_rnn
//   bidirectional_rnn/{fw|bw}/multi_rnn_cell/cell_{k}/{cell}/   bidirectional_dynamic_rnn over a MultiRNNCell
//                                                   per direction: each direction stacked on its own
//                                                   (rnnkit's per-direction stacking)
//   stack_bidirectional_rnn/cell_{k}/bidirectional_rnn/{fw|bw}/{cell}/   stack_bidirectional_dynamic_rnn
//                                                   (per-layer stacking, as PyTorch)
// or the user's own scopes in place of rnn/... (a ":0" suffix is ignored).
//
// Conversion (formats/cell_layout.h does the gates): the kernel's first `in` rows are the
// input weights, the rest the recurrent ones, both transposed; gates i, j, f, o become i, f,
// g, o; TF1 adds forget_bias (default 1.0) to the forget gate at run time, rnnkit folds it
// into bias_hh's f block (bias_ih holds TF's bias, bias_hh is otherwise zero: both exact, and
// export takes forget_bias out of bias_hh before summing, so the bias returns bit for bit);
// GRUCell computes the reset before the recurrent product (rnnkit's gru_reset before) with
// its update gate u = rnnkit's z; the candidate's weights are rnnkit's n block; the peephole
// diagonals are weight_peephole's rows i, f, o. What TF1 keeps in the cell's constructor and
// not in its variables (LSTMCell's cell_clip, proj_clip, activation) the import is told.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rnnkit/formats/npz.h"
#include "rnnkit/layers/recurrent_model.h"

namespace rnnkit {

// A TF1 variable name of any TensorFlow version as TensorFlow 1.2 and later spell it (above):
// rnn/BasicLSTMCell/Linear/Matrix -> rnn/basic_lstm_cell/kernel. Other names are unchanged.
std::string canonical_tf1_name(const std::string& name);

// The variables of a .npz (np.savez) or safetensors file, by name. Throws Error naming the file.
std::map<std::string, NpyArray> read_tf1_variables(const std::string& path);

struct Tf1ImportOptions {
  std::string prefix;  // only variables under it (e.g. "encoder/")
  std::string scope;   // rnnkit scope; default: the cell name
  // LSTM: TF1's run-time forget bias, folded into bias_ih; default the cell's own (1.0;
  // CudnnCompatibleLSTMCell 0.0).
  std::optional<double> forget_bias;
  std::optional<CellKind> rnn_nonlinearity;  // BasicRNNCell's activation: tanh (default) or relu
  std::optional<DType> dtype;                // default: float64 if every tensor is F64, else float32
  // LSTMCell(cell_clip=, proj_clip=, activation=) and GRUCell(activation=): not in the variables.
  double cell_clip = 0.0, proj_clip = 0.0;  // 0: none
  CellActivation activation = CellActivation::tanh;
};

struct Tf1Import {
  RecurrentModel model;
  // Each cell's TF1 path, per layer and direction (index layer * D + direction), e.g.
  // "rnn/multi_rnn_cell/cell_1/lstm_cell/": export writes the same names back.
  std::vector<std::string> cell_paths;
  double forget_bias = 0.0;  // what was folded into the LSTM forget gates (0 for other cells)
};

// Throws Error naming `origin` and what does not fit: no cell under the prefix (with the
// cells found elsewhere), cells of several models (pick one with a prefix), mixed cell
// kinds or stackings, missing layers or tensors, wrong shapes, some of the peephole diagonals,
// options that do not fit the cells (a cell clip on a GRU, a projection clip without one).
Tf1Import import_tf1(const std::map<std::string, NpyArray>& variables, const std::string& origin,
                     const Tf1ImportOptions& options = {});

// The TF1 paths rnnkit writes when none were recorded: rnn/{cell}/, rnn/multi_rnn_cell/cell_{k}/{cell}/,
// bidirectional_rnn/{fw|bw}/{cell}/ or stack_bidirectional_rnn/cell_{k}/bidirectional_rnn/{fw|bw}/{cell}/.
std::vector<std::string> default_tf1_cell_paths(const RecurrentSpec& spec);

// The layer's variables under TF1 names (cell_paths: one per layer and direction; empty: the
// defaults), float64 values, forget_bias taken back out of the LSTM forget block, zero biases
// for a layer without biases (TF1's cells always have one). Throws Error for a GRU with the
// reset after the product (TF1's GRUCell resets before), a merge other than concat,
// hard_sigmoid gates or a gate clip. The cell clip, projection clip and activation are not
// variables: the TF1 code that loads them says them to LSTMCell.
std::vector<std::pair<std::string, Tensor<double>>> export_tf1(const RecurrentModel& model, double forget_bias = 1.0,
                                                               std::vector<std::string> cell_paths = {});

}  // namespace rnnkit

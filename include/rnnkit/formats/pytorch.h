// PyTorch's nn.LSTM / nn.GRU / nn.RNN state_dict, saved as safetensors, to and from rnnkit.
//
// PyTorch names (after an optional module prefix such as "encoder.rnn."):
//   weight_ih_l{k}[_reverse]  [G*H, I_k]     bias_ih_l{k}[_reverse]  [G*H]
//   weight_hh_l{k}[_reverse]  [G*H, R]       bias_hh_l{k}[_reverse]  [G*H]
//   weight_hr_l{k}[_reverse]  [P, H]         (LSTM with proj_size only)
// rnnkit's layout is PyTorch's (same shapes, same gate order i,f,g,o and r,z,n), so the
// conversion is a renaming: `{prefix}weight_hh_l1_reverse` <-> `{scope}/l1/bw/weight_hh`;
// values are copied bit for bit (F32 and F64 keep their type; F16 and BF16 are widened to
// F32 exactly). The architecture is inferred from names and shapes:
//   L = number of l{k}; D = 2 if any _reverse; H = columns of weight_hr if present, else of
//   weight_hh; P = rows of weight_hr; G = rows(weight_hh) / H: 4 LSTM, 3 GRU, 1 RNN (tanh
//   unless told relu: the nonlinearity is not in a state_dict); I = columns of weight_ih_l0;
//   biases if layer 0 has them (a module built with bias=False has none, in any layer).
// PyTorch's GRU resets after the recurrent product, so an imported GRU has gru_reset after.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/layers/recurrent_model.h"

namespace rnnkit {

struct PytorchImportOptions {
  std::string prefix;                        // module prefix of the tensors, e.g. "encoder.rnn."
  std::optional<CellKind> rnn_nonlinearity;  // rnn_tanh (default) or rnn_relu; RNNs only
  std::string scope;                         // rnnkit scope; default: the cell name
};

// The PyTorch name of one of the layer's parameters, e.g. ("weight_hh", 1, true) ->
// "weight_hh_l1_reverse".
std::string pytorch_parameter_name(const std::string& kind, int64_t layer, bool reverse);

// The architecture of the recurrent module under `prefix` in `file`. Throws Error naming the
// file and what was expected and found: no tensors under the prefix (with a hint when they
// sit under another prefix), a name that is not a recurrent parameter, a missing or
// misshapen tensor, layers not numbered 0..L-1, a gate count that is not 4, 3 or 1, a
// nonlinearity given for an LSTM or GRU.
RecurrentSpec infer_pytorch_recurrent_spec(const SafetensorsFile& file, const PytorchImportOptions& options);

// The layer as an rnnkit model: variables under options.scope holding the file's values
// (float64 if the file's tensors are F64, else float32), each with its source recorded.
RecurrentModel import_pytorch(const SafetensorsFile& file, const PytorchImportOptions& options);

// The layer's parameters under PyTorch's names (with `prefix`), in the store's dtype.
// Throws Error for what PyTorch's modules cannot express: a GRU with the reset before the
// product, a merge other than concat, peepholes, per-direction stacking, other activations
// than sigmoid and tanh, clipping. The returned tensors view the model's store.
std::vector<SafetensorsTensor> export_pytorch(const RecurrentModel& model, const std::string& prefix);

}  // namespace rnnkit

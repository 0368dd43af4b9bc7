// How a cell computes beyond its kind and sizes: the options that change its equations but
// not its parameters. Each is recorded in a checkpoint's model description and read back.
//
//   gru_reset             GRU: the reset gate applied after the recurrent product (PyTorch, cuDNN,
//                         Keras reset_after=True; the default) or before it (TensorFlow 1's GRUCell,
//                         Keras reset_after=False); gru_cell.h has both forms' equations
//   recurrent_activation  sigma, the gates' activation (LSTM i, f, o; GRU r, z): sigmoid, or
//                         hard_sigmoid(alpha, beta) = max(0, min(1, alpha x + beta))
//   activation            the cell activation: LSTM's candidate g and its output tanh(c_t), GRU's
//                         candidate n: tanh or relu (an RNN's activation is its cell kind)
//   gate_clip             every gate pre-activation (and an RNN's) clipped to [-gate_clip, gate_clip]
//                         before its activation (ONNX's `clip` attribute)
//   cell_clip             LSTM: c_t clipped to [-cell_clip, cell_clip] (TensorFlow 1 LSTMCell cell_clip)
//   proj_clip             LSTM with a projection: h_t = W_hr m_t clipped to [-proj_clip, proj_clip]
//                         (TensorFlow 1 LSTMCell proj_clip)
// A clip of 0 means none. The gradient of each clip is that of the clipped function: 1 where
// |x| < C, 0 where the value was clipped (and, by choice, at |x| = C exactly).
//
// The frameworks' hard_sigmoid constants (alpha, beta):
//   Keras 2 (and Keras 1, tf.keras through TF 2.15)   0.2, 0.5  (hard_sigmoid: LSTM/GRU default before Keras 2.3)
//   Keras 3                                            1/6, 0.5  (relu6(x + 3) / 6)
//   ONNX HardSigmoid (and LSTM/GRU activations)        0.2, 0.5  by default; activation_alpha/_beta set them
//   PyTorch nn.Hardsigmoid                             1/6, 0.5  (not available in nn.LSTM / nn.GRU)
#pragma once

#include <string>
#include <string_view>

#include "rnnkit/core/cell_kind.h"

namespace rnnkit {

enum class GruReset { after, before };
// "after", "before"; parse_gru_reset throws Error listing them.
const char* gru_reset_name(GruReset reset);
GruReset parse_gru_reset(std::string_view name);

// sigma of the gates: sigmoid, or hard_sigmoid(alpha, beta) = max(0, min(1, alpha x + beta)).
struct GateActivation {
  enum class Kind { sigmoid, hard_sigmoid };
  Kind kind = Kind::sigmoid;
  double alpha = 0.2;  // hard_sigmoid only
  double beta = 0.5;

  static GateActivation sigmoid() { return {}; }
  static GateActivation hard_sigmoid(double alpha = 0.2, double beta = 0.5) {
    return {Kind::hard_sigmoid, alpha, beta};
  }
  bool is_sigmoid() const { return kind == Kind::sigmoid; }
  // "sigmoid" or "hard_sigmoid(alpha=0.2, beta=0.5)"; parse_gate_activation reads it back.
  std::string spec() const;
  bool operator==(const GateActivation&) const = default;
};

// Reads "sigmoid", "hard_sigmoid" (Keras 2's and ONNX's 0.2, 0.5) or "hard_sigmoid(alpha=A, beta=B)"
// (positional arguments too). Throws Error quoting the text: an unknown name or argument, or an
// alpha that is not a positive finite number, or a beta that is not finite.
GateActivation parse_gate_activation(std::string_view text);

enum class CellActivation { tanh, relu };
// "tanh", "relu"; parse_cell_activation throws Error listing them.
const char* cell_activation_name(CellActivation activation);
CellActivation parse_cell_activation(std::string_view name);

struct CellOptions {
  GruReset gru_reset = GruReset::after;
  GateActivation recurrent_activation;
  CellActivation activation = CellActivation::tanh;
  double gate_clip = 0.0;  // 0: none
  double cell_clip = 0.0;  // 0: none
  double proj_clip = 0.0;  // 0: none

  bool operator==(const CellOptions&) const = default;
};

}  // namespace rnnkit

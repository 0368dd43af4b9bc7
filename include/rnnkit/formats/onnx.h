// ONNX models to and from rnnkit: the LSTM, GRU and RNN operators (opset 7-14 semantics).
//
// Per node, for D directions ("forward", "reverse" or "bidirectional"):
//   W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H] (Wb then Rb; absent: a layer without biases),
//   P [D, 3*H] (LSTM peepholes i, o, f; absent: none)
//   gates: LSTM i, o, f, c; GRU z, r, h; RNN one block (see formats/cell_layout.h)
//   GRU linear_before_reset = 1: rnnkit's reset after (PyTorch's); 0 (ONNX's default): before
//   activations  f (the gates): Sigmoid or HardSigmoid (alpha, beta from activation_alpha and
//                _beta, consumed in order by the functions that take them; ONNX's defaults 0.2,
//                0.5); g and h (LSTM, g = h) or g (GRU): Tanh or Relu; an RNN's f: Tanh or Relu.
//                The same in both directions.
//   clip         rnnkit's gate_clip: every gate pre-activation clipped to [-clip, clip]
//   (ONNX keeps clip, alpha and beta as float; import reads each as the shortest decimal that
//   float is, e.g. 0.4, so a float32 model computes with the very same values)
// Import reads every LSTM/GRU/RNN node in graph order (or the ones named) and stacks them as
// layers: exporters write one node per layer, with a Transpose and Reshape between them.
// W, R and B may be graph initializers or Constant nodes. Initial states and sequence
// lengths are inputs, not weights, and are not imported. What rnnkit cannot compute is an
// error naming the node and the attribute: input_forget, other activation functions (Affine,
// LeakyRelu, ...) or different ones per direction, a "reverse"-only direction, layout 1.
//
// Export writes a graph with input "input" [T, B, I] and outputs "output" [T, B, D*H] (as
// PyTorch's), "h_n" [L*D, B, H] and, for an LSTM, "c_n": one node per layer joined by
// Transpose + Reshape, opset 14, float32, weights as initializers; onnx::checker accepts it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "rnnkit/layers/recurrent_model.h"

namespace rnnkit {

struct OnnxImportOptions {
  std::vector<std::string> nodes;  // node names to stack in this order; empty: every recurrent node
  std::string scope;               // default: the cell name
};

// Throws Error naming the file and the node: not an ONNX model, no recurrent node, an
// unsupported attribute, weights that are neither initializers nor constants, nodes that do
// not stack.
RecurrentModel import_onnx(const std::string& path, const OnnxImportOptions& options = {});
// The same from a model's bytes in memory; `origin` names them in messages.
RecurrentModel import_onnx_bytes(const std::vector<std::byte>& bytes, const std::string& origin,
                                 const OnnxImportOptions& options = {});

// Throws Error for what ONNX's operators cannot express (an LSTM projection, a cell clip, a
// merge other than concat) or rnnkit's export does not write (per-direction stacking of more
// than one layer). Peepholes, clip, activations and an absent B are written as ONNX has them.
// Written atomically.
void export_onnx(const RecurrentModel& model, const std::string& path);

// Runs onnx::checker on a file; throws Error with the checker's message.
void check_onnx_model(const std::string& path);

}  // namespace rnnkit

// ONNX models to and from rnnkit: the LSTM, GRU and RNN operators (opset 7-14 semantics).
//
// Per node, for D directions ("forward", "reverse" or "bidirectional"):
//   W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H] (Wb then Rb; absent: zeros)
//   gates: LSTM i, o, f, c; GRU z, r, h; RNN one block (see formats/cell_layout.h)
//   GRU linear_before_reset = 1: rnnkit's reset after (PyTorch's); 0 (ONNX's default): before
//   RNN activations Tanh (default) or Relu
// Import reads every LSTM/GRU/RNN node in graph order (or the ones named) and stacks them as
// layers: exporters write one node per layer, with a Transpose and Reshape between them.
// W, R and B may be graph initializers or Constant nodes. Initial states and sequence
// lengths are inputs, not weights, and are not imported. What rnnkit cannot compute is an
// error naming the node and the attribute: peepholes (P), clip, input_forget, activations
// other than the defaults (Relu for RNN), a "reverse"-only direction, layout 1.
//
// Export writes a graph with input "input" [T, B, I] and outputs "output" [T, B, D*H] (as
// PyTorch's), "h_n" [L*D, B, H] and, for an LSTM, "c_n": one node per layer joined by
// Transpose + Reshape, opset 14, float32, weights as initializers; onnx::checker accepts it.
#pragma once

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

// Throws Error for what ONNX's operators cannot express (an LSTM projection, a merge other
// than concat). Written atomically.
void export_onnx(const RecurrentModel& model, const std::string& path);

// Runs onnx::checker on a file; throws Error with the checker's message.
void check_onnx_model(const std::string& path);

}  // namespace rnnkit

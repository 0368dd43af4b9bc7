// The architecture of a recurrent layer: what decides its parameters, and their names and shapes.
//
// Names (a contract; relative to the layer's scope, which defaults to the cell name):
//   l{k}/{fw|bw}/{weight_ih|weight_hh|bias_ih|bias_hh|weight_hr|weight_peephole}
// Shapes as PyTorch's, with G = gate_count(cell) and R = P if projecting else H:
//   weight_ih       [G*H, I_k]   I_0 = I; for k > 0, I_k = D*R (per-layer stacking) or R (per-direction)
//   weight_hh       [G*H, R]
//   bias_ih         [G*H],  bias_hh [G*H]     unless built without biases (bias = false)
//   weight_hr       [P, H]       LSTM with projection only
//   weight_peephole [3, H]       peephole LSTM only: rows i, f, o (gate letters "ifo")
//
// Stacking (bidirectional layers with L > 1):
//   per-layer      layer k reads both directions of layer k-1, concatenated (PyTorch, Keras, cuDNN,
//                  TF1's stack_bidirectional_dynamic_rnn)
//   per-direction  each direction runs its own stack of L layers over the input alone, and only
//                  the last layers' outputs are concatenated (TF1's bidirectional_dynamic_rnn over a
//                  MultiRNNCell per direction)
// In both, h_n and c_n row l*D + d is layer l of direction d.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rnnkit/core/cell_kind.h"
#include "rnnkit/core/shape.h"

namespace rnnkit {

enum class Stacking { per_layer, per_direction };
// "per-layer", "per-direction"; parse_stacking throws Error listing them.
const char* stacking_name(Stacking stacking);
Stacking parse_stacking(std::string_view name);

struct RecurrentSpec {
  CellKind cell = CellKind::lstm;
  int64_t input_size = 0;   // I
  int64_t hidden_size = 0;  // H
  int64_t num_layers = 1;   // L
  bool bidirectional = false;
  int64_t proj_size = 0;   // P; 0: no projection (LSTM only)
  bool bias = true;        // bias_ih and bias_hh (PyTorch bias=False, Keras use_bias=False: none)
  bool peepholes = false;  // LSTM only: weight_peephole (see lstm_cell.h)
  Stacking stacking = Stacking::per_layer;

  int64_t directions() const { return bidirectional ? 2 : 1; }
  int64_t recurrent_width() const { return proj_size > 0 ? proj_size : hidden_size; }
  int64_t layer_input_size(int64_t layer) const {
    if (layer == 0) return input_size;
    return stacking == Stacking::per_direction ? recurrent_width() : directions() * recurrent_width();
  }

  // Throws Error naming the first field that is out of range or does not fit the cell
  // (peepholes on a GRU, per-direction stacking on one direction, ...).
  void validate() const;

  // {"cell":"lstm","input_size":..,"hidden_size":..,"num_layers":..,"bidirectional":..,"proj_size":..,
  //  "bias":true,"peepholes":false,"stacking":"per-layer"}
  std::string to_json() const;
  // Throws Error naming a missing or ill-typed field. bias, peepholes and stacking may be absent
  // (descriptions written before they existed): true, false, per-layer.
  static RecurrentSpec from_json(std::string_view json);

  bool operator==(const RecurrentSpec&) const = default;
};

// One variable of a recurrent layer.
struct RecurrentParameter {
  std::string name;  // relative to the layer's scope, e.g. "l1/bw/weight_hh"
  std::string kind;  // "weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr" or "weight_peephole"
  int64_t layer = 0;
  bool reverse = false;
  Shape shape;
  std::string gate_letters;  // gates along dim 0 ("ifo" for weight_peephole); empty for weight_hr
};

std::string recurrent_variable_name(int64_t layer, bool reverse, std::string_view kind);

// All variables of the layer, layer by layer, forward before backward.
std::vector<RecurrentParameter> recurrent_parameters(const RecurrentSpec& spec);

}  // namespace rnnkit

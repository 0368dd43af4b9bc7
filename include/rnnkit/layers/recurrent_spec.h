// The architecture of a recurrent layer and the names and shapes of its variables.
//
// Names (a contract; relative to the layer's scope, which defaults to the cell name):
//   l{k}/{fw|bw}/{weight_ih|weight_hh|bias_ih|bias_hh|weight_hr}
// Shapes as PyTorch's, with G = gate_count(cell) and R = P if projecting else H:
//   weight_ih [G*H, I_k]    I_0 = I, I_k = D*R for k > 0
//   weight_hh [G*H, R]
//   bias_ih   [G*H],  bias_hh [G*H]
//   weight_hr [P, H]        LSTM with projection only
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rnnkit/core/cell_kind.h"
#include "rnnkit/core/shape.h"

namespace rnnkit {

struct RecurrentSpec {
  CellKind cell = CellKind::lstm;
  int64_t input_size = 0;   // I
  int64_t hidden_size = 0;  // H
  int64_t num_layers = 1;   // L
  bool bidirectional = false;
  int64_t proj_size = 0;    // P; 0: no projection (LSTM only)

  int64_t directions() const { return bidirectional ? 2 : 1; }
  int64_t recurrent_width() const { return proj_size > 0 ? proj_size : hidden_size; }
  int64_t layer_input_size(int64_t layer) const { return layer == 0 ? input_size : directions() * recurrent_width(); }

  // Throws Error naming the first field that is out of range.
  void validate() const;

  // {"cell":"lstm","input_size":..,"hidden_size":..,"num_layers":..,"bidirectional":..,"proj_size":..}
  std::string to_json() const;
  // Throws Error naming a missing or ill-typed field.
  static RecurrentSpec from_json(std::string_view json);
};

// One variable of a recurrent layer.
struct RecurrentParameter {
  std::string name;          // relative to the layer's scope, e.g. "l1/bw/weight_hh"
  std::string kind;          // "weight_ih", "weight_hh", "bias_ih", "bias_hh" or "weight_hr"
  int64_t layer = 0;
  bool reverse = false;
  Shape shape;
  std::string gate_letters;  // gates along dim 0; empty for weight_hr
};

std::string recurrent_variable_name(int64_t layer, bool reverse, std::string_view kind);

// All variables of the layer, layer by layer, forward before backward.
std::vector<RecurrentParameter> recurrent_parameters(const RecurrentSpec& spec);

}  // namespace rnnkit

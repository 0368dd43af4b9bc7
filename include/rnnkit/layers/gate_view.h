// Per-gate views of fused gate tensors: read or write one gate's block in place.
//
// A fused tensor stacks its gates along dimension 0 in the cell's order (cell_kind.h):
// weight_ih [G*H, I], weight_hh [G*H, R], bias_ih / bias_hh [G*H]. The block of gate
// `gate` is rows [k*H, (k+1)*H) where k is the gate's position, e.g.
//   gate_view<float>(store, store.at("lstm/l0/fw/bias_ih"), 'f')   the forget bias [H]
//   gate_view<float>(store, store.at("gru/l0/fw/weight_hh"), 'n')  W_hn [H, H]
// The view aliases the store's buffer (invalidated, like any view, when variables are created).
#pragma once

#include <string>
#include <string_view>

#include "rnnkit/core/error.h"
#include "rnnkit/core/tensor.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

// The block of `gate` in `fused`, whose dimension 0 holds the gates `gate_letters` in order.
template <class T>
TensorView<T> gate_block(TensorView<T> fused, std::string_view gate_letters, char gate) {
  const std::size_t k = gate_letters.find(gate);
  if (gate_letters.empty() || k == std::string_view::npos) {
    throw Error("gate view: '" + std::string(1, gate) + "' is not one of the gates '" + std::string(gate_letters) +
                "' of a tensor of shape " + shape_to_string(fused.shape()));
  }
  const int64_t g = static_cast<int64_t>(gate_letters.size());
  if (fused.rank() < 1 || fused.dim(0) % g != 0) {
    throw Error("gate view: shape " + shape_to_string(fused.shape()) + " does not split into " + std::to_string(g) +
                " gates along dimension 0");
  }
  const int64_t h = fused.dim(0) / g;
  return fused.rows(static_cast<int64_t>(k) * h, h);
}

// The block of `gate` of a store variable with gate structure (Variable::gate_letters).
template <class T>
TensorView<T> gate_view(VariableStore& store, const Variable& variable, char gate) {
  if (variable.gate_letters.empty()) {
    throw Error("gate view: variable '" + variable.name + "' has no gate structure");
  }
  return gate_block(store.value<T>(variable), variable.gate_letters, gate);
}

}  // namespace rnnkit

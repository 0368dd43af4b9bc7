// Creating a recurrent layer's variables; see recurrent_variables.h.
#include "rnnkit/layers/recurrent_variables.h"

#include "rnnkit/core/error.h"

namespace rnnkit {

RecurrentInitializers resolve_recurrent_initializers(const RecurrentSpec& spec, int64_t layer,
                                                     const RecurrentInitChoice& choice) {
  RecurrentInitializers inits =
      preset_initializers(choice.preset, spec.cell, spec.layer_input_size(layer), spec.hidden_size, spec.proj_size);
  if (choice.kernel) {
    inits.weight_ih = choice.kernel;
    if (spec.proj_size > 0) inits.weight_hr = choice.kernel;
  }
  if (choice.recurrent) inits.weight_hh = choice.recurrent;
  if (choice.bias) inits.bias_ih = choice.bias;
  if (choice.bias_hh) inits.bias_hh = choice.bias_hh;
  if (choice.forget_bias) {
    if (spec.cell != CellKind::lstm) {
      throw Error(std::string("forget bias: a ") + cell_name(spec.cell) +
                  " cell has no forget gate (it applies to lstm only)");
    }
    inits.bias_ih = with_forget_bias(inits.bias_ih, *choice.forget_bias);
  }
  return inits;
}

std::vector<const Variable*> create_recurrent_variables(VariableStore& store, const RecurrentSpec& spec,
                                                        const RecurrentInitChoice& choice) {
  std::vector<const Variable*> out;
  std::vector<RecurrentInitializers> per_layer;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    per_layer.push_back(resolve_recurrent_initializers(spec, layer, choice));
  }
  for (const RecurrentParameter& p : recurrent_parameters(spec)) {
    const RecurrentInitializers& inits = per_layer[static_cast<std::size_t>(p.layer)];
    VariableOptions options;
    options.initializer = p.kind == "weight_ih"   ? inits.weight_ih
                          : p.kind == "weight_hh" ? inits.weight_hh
                          : p.kind == "bias_ih"   ? inits.bias_ih
                          : p.kind == "bias_hh"   ? inits.bias_hh
                                                  : inits.weight_hr;
    options.gate_letters = p.gate_letters;
    options.hidden_size = spec.hidden_size;
    out.push_back(&store.get_variable(p.name, p.shape, options));
  }
  return out;
}

}  // namespace rnnkit

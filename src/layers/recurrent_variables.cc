// Creating a recurrent layer's variables; see recurrent_variables.h.
#include "rnnkit/layers/recurrent_variables.h"

#include <algorithm>

#include "rnnkit/core/error.h"
#include "rnnkit/core/shape.h"

namespace rnnkit {

RecurrentInitChoice parse_init_choice(std::string_view text) {
  RecurrentInitChoice choice;
  const std::string all(text);
  if (all == "pytorch" || all == "keras" || all == "tf1") {
    choice.preset = parse_preset(all);
    return choice;
  }
  std::size_t begin = 0;
  while (begin < all.size()) {
    // Fields end at a ';' outside parentheses (specs such as orthogonal(gain=1.0) have '=' and ',').
    std::size_t end = begin;
    for (int depth = 0; end < all.size() && !(all[end] == ';' && depth == 0); ++end) {
      depth += all[end] == '(' ? 1 : all[end] == ')' ? -1 : 0;
    }
    const std::string field = all.substr(begin, end - begin);
    begin = end + 1;
    if (field.empty()) continue;
    const std::size_t eq = field.find('=');
    if (eq == std::string::npos) {
      throw Error("initializer set '" + all + "': field '" + field +
                  "' is not KEY=VALUE (keys: preset, kernel, recurrent, bias, bias_hh, peephole, forget_bias) or a "
                  "preset name");
    }
    const std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "preset") {
      choice.preset = parse_preset(value);
    } else if (key == "kernel") {
      choice.kernel = parse_initializer(value);
    } else if (key == "recurrent") {
      choice.recurrent = parse_initializer(value);
    } else if (key == "bias") {
      choice.bias = parse_initializer(value);
    } else if (key == "bias_hh") {
      choice.bias_hh = parse_initializer(value);
    } else if (key == "peephole") {
      choice.peephole = parse_initializer(value);
    } else if (key == "forget_bias") {
      std::size_t used = 0;
      try {
        choice.forget_bias = std::stod(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != value.size()) {
        throw Error("initializer set '" + all + "': forget_bias '" + value + "' is not a number");
      }
    } else {
      throw Error("initializer set '" + all + "': unknown key '" + key +
                  "' (expected preset, kernel, recurrent, bias, bias_hh, peephole or forget_bias)");
    }
  }
  return choice;
}

RecurrentInitializers resolve_recurrent_initializers(const RecurrentSpec& spec, int64_t layer,
                                                     const RecurrentInitChoice& choice) {
  RecurrentInitializers inits =
      preset_initializers(choice.preset, spec.cell, spec.layer_input_size(layer), spec.hidden_size, spec.proj_size);
  if (choice.kernel) {
    inits.weight_ih = choice.kernel;
    if (spec.proj_size > 0) inits.weight_hr = choice.kernel;
  }
  if (choice.recurrent) inits.weight_hh = choice.recurrent;
  if (!spec.bias && (choice.bias || choice.bias_hh || choice.forget_bias)) {
    throw Error(std::string(choice.forget_bias ? "forget bias" : "bias initializer") +
                ": the layer has no biases (it was built without them)");
  }
  if (choice.peephole && !spec.peepholes) {
    throw Error("peephole initializer: the layer has no peepholes (an LSTM with peepholes has weight_peephole)");
  }
  if (choice.bias) inits.bias_ih = choice.bias;
  if (choice.bias_hh) inits.bias_hh = choice.bias_hh;
  if (choice.peephole) inits.weight_peephole = choice.peephole;
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
  const std::vector<RecurrentParameter> parameters = recurrent_parameters(spec);
  const std::string scope = store.current_scope();
  constexpr int64_t kSaturated = int64_t{1} << 60;
  int64_t new_elements = 0;
  for (const RecurrentParameter& p : parameters) {
    if (store.find(scope.empty() ? p.name : scope + "/" + p.name) == nullptr) {
      new_elements = std::min(new_elements + shape_numel(p.shape), kSaturated);  // no overflow, still too large
    }
  }
  store.check_room_for(
      new_elements, "the recurrent layer under '" + scope + "' (" + std::to_string(parameters.size()) + " variables)");
  for (const RecurrentParameter& p : parameters) {
    const RecurrentInitializers& inits = per_layer[static_cast<std::size_t>(p.layer)];
    VariableOptions options;
    options.initializer = p.kind == "weight_ih"   ? inits.weight_ih
                          : p.kind == "weight_hh" ? inits.weight_hh
                          : p.kind == "bias_ih"   ? inits.bias_ih
                          : p.kind == "bias_hh"   ? inits.bias_hh
                          : p.kind == "weight_hr" ? inits.weight_hr
                                                  : inits.weight_peephole;
    options.gate_letters = p.gate_letters;
    options.hidden_size = spec.hidden_size;
    out.push_back(&store.get_variable(p.name, p.shape, options));
  }
  return out;
}

}  // namespace rnnkit

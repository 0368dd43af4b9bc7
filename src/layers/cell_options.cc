// Cell options: names and the hard_sigmoid spec; see cell_options.h.
#include "rnnkit/layers/cell_options.h"

#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/init/spec.h"

namespace rnnkit {

const char* gru_reset_name(GruReset reset) { return reset == GruReset::after ? "after" : "before"; }

GruReset parse_gru_reset(std::string_view name) {
  if (name == "after") return GruReset::after;
  if (name == "before") return GruReset::before;
  throw Error("unknown GRU reset form '" + std::string(name) + "'; expected after or before");
}

const char* cell_activation_name(CellActivation activation) {
  return activation == CellActivation::tanh ? "tanh" : "relu";
}

CellActivation parse_cell_activation(std::string_view name) {
  if (name == "tanh") return CellActivation::tanh;
  if (name == "relu") return CellActivation::relu;
  throw Error("unknown cell activation '" + std::string(name) + "'; expected tanh or relu");
}

std::string GateActivation::spec() const {
  if (kind == Kind::sigmoid) return "sigmoid";
  return "hard_sigmoid(alpha=" + format_spec_number(alpha) + ", beta=" + format_spec_number(beta) + ")";
}

GateActivation parse_gate_activation(std::string_view text) {
  const std::string quoted = "recurrent activation '" + std::string(text) + "'";
  SpecCall call;
  try {
    call = parse_spec(text);
  } catch (const Error& e) {
    throw Error(quoted + ": " + e.what());
  }
  if (call.name == "sigmoid") {
    if (!call.args.empty()) throw Error(quoted + ": sigmoid takes no arguments");
    return GateActivation::sigmoid();
  }
  if (call.name != "hard_sigmoid") {
    throw Error(quoted + ": unknown activation '" + call.name +
                "'; expected sigmoid or hard_sigmoid(alpha=A, beta=B) (Keras 2 and ONNX: 0.2, 0.5; Keras 3: "
                "0.16666666666666666, 0.5)");
  }
  GateActivation out = GateActivation::hard_sigmoid();
  const char* names[] = {"alpha", "beta"};
  bool seen[2] = {false, false};
  for (std::size_t k = 0; k < call.args.size(); ++k) {
    const SpecArg& arg = call.args[k];
    int which = -1;
    if (arg.key.empty()) {
      if (k >= 2) throw Error(quoted + ": hard_sigmoid takes two arguments, alpha and beta");
      which = static_cast<int>(k);
    } else {
      which = arg.key == "alpha" ? 0 : arg.key == "beta" ? 1 : -1;
      if (which < 0) throw Error(quoted + ": unknown argument '" + arg.key + "' (expected alpha and beta)");
    }
    if (seen[which]) throw Error(quoted + ": " + names[which] + " given twice");
    seen[which] = true;
    if (arg.value.kind != SpecValue::Kind::number || !std::isfinite(arg.value.number)) {
      throw Error(quoted + ": " + names[which] + " must be a finite number");
    }
    (which == 0 ? out.alpha : out.beta) = arg.value.number;
  }
  if (!(out.alpha > 0.0)) throw Error(quoted + ": alpha must be positive, got " + format_spec_number(out.alpha));
  return out;
}

}  // namespace rnnkit

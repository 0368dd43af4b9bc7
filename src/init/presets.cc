// Framework presets as initializer specs; see presets.h.
#include "rnnkit/init/presets.h"

#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/init/spec.h"

namespace rnnkit {
namespace {

std::string num(double x) { return format_spec_number(x); }

std::string glorot_with_fans(int64_t fan_in, int64_t fan_out) {
  return "glorot_uniform(fan_in=" + num(static_cast<double>(fan_in)) +
         ", fan_out=" + num(static_cast<double>(fan_out)) + ")";
}

}  // namespace

const char* preset_name(Preset preset) {
  switch (preset) {
    case Preset::pytorch: return "pytorch";
    case Preset::keras: return "keras";
    case Preset::tf1: return "tf1";
  }
  return "?";
}

Preset parse_preset(std::string_view name) {
  for (Preset p : {Preset::pytorch, Preset::keras, Preset::tf1}) {
    if (name == preset_name(p)) return p;
  }
  throw Error("unknown preset '" + std::string(name) + "'; expected one of pytorch, keras, tf1");
}

RecurrentInitializers preset_initializers(Preset preset, CellKind cell, int64_t layer_input, int64_t hidden,
                                          int64_t proj) {
  RecurrentInitializers out;
  const int64_t g = gate_count(cell);
  const int64_t recurrent_width = proj > 0 ? proj : hidden;
  switch (preset) {
    case Preset::pytorch: {
      const InitializerPtr u = parse_initializer("pytorch_default");
      out = {u, u, u, u, proj > 0 ? u : nullptr, cell == CellKind::lstm ? u : nullptr};
      break;
    }
    case Preset::keras: {
      out.weight_ih = parse_initializer("glorot_uniform");
      // The version named, so that a newer orthogonal algorithm changes this preset's values
      // only when the preset is changed on purpose.
      out.weight_hh = parse_initializer("orthogonal(gain=1.0, version=2)");
      out.bias_ih = parse_initializer(cell == CellKind::lstm ? "gates(f=ones)" : "zeros");
      out.bias_hh = parse_initializer("zeros");
      if (proj > 0) out.weight_hr = parse_initializer("glorot_uniform");
      if (cell == CellKind::lstm) out.weight_peephole = parse_initializer(glorot_with_fans(hidden, hidden));
      break;
    }
    case Preset::tf1: {
      const int64_t fan_in = layer_input + recurrent_width;
      if (cell == CellKind::gru) {
        const std::string gate = glorot_with_fans(fan_in, 2 * hidden);
        const InitializerPtr kernel =
            parse_initializer("gates(r=" + gate + ", z=" + gate + ", n=" + glorot_with_fans(fan_in, hidden) + ")");
        out.weight_ih = kernel;
        out.weight_hh = kernel;
        out.bias_ih = parse_initializer("gates(r=ones, z=ones)");
      } else {
        const InitializerPtr kernel = parse_initializer(glorot_with_fans(fan_in, g * hidden));
        out.weight_ih = kernel;
        out.weight_hh = kernel;
        out.bias_ih = parse_initializer(cell == CellKind::lstm ? "gates(f=ones)" : "zeros");
      }
      out.bias_hh = parse_initializer("zeros");
      if (proj > 0) out.weight_hr = parse_initializer("glorot_uniform");
      if (cell == CellKind::lstm) out.weight_peephole = parse_initializer(glorot_with_fans(hidden, hidden));
      break;
    }
  }
  return out;
}

InitializerPtr with_forget_bias(const InitializerPtr& bias, double value) {
  if (!std::isfinite(value)) throw Error("forget bias " + format_spec_number(value) + ": expected a finite number");
  const std::string forget = "f=constant(value=" + format_spec_number(value) + ")";
  const SpecCall call = parse_spec(bias->spec());
  if (call.name != "gates") return parse_initializer("gates(" + forget + ", default=" + bias->spec() + ")");
  std::string spec = "gates(" + forget;
  for (const SpecArg& arg : call.args) {
    if (arg.key != "f") spec += ", " + arg.key + "=" + format_spec_value(arg.value);
  }
  return parse_initializer(spec + ")");
}

}  // namespace rnnkit

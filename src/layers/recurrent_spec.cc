// Recurrent layer architecture: validation, JSON form, variable names and shapes.
#include "rnnkit/layers/recurrent_spec.h"

#include <nlohmann/json.hpp>

#include "rnnkit/core/error.h"

namespace rnnkit {

const char* stacking_name(Stacking stacking) { return stacking == Stacking::per_layer ? "per-layer" : "per-direction"; }

Stacking parse_stacking(std::string_view name) {
  if (name == "per-layer") return Stacking::per_layer;
  if (name == "per-direction") return Stacking::per_direction;
  throw Error("unknown stacking '" + std::string(name) + "'; expected per-layer or per-direction");
}

void RecurrentSpec::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw Error("recurrent layer: " + what);
  };
  require(input_size >= 1, "input_size must be at least 1, got " + std::to_string(input_size));
  require(hidden_size >= 1, "hidden_size must be at least 1, got " + std::to_string(hidden_size));
  require(num_layers >= 1, "num_layers must be at least 1, got " + std::to_string(num_layers));
  require(proj_size >= 0, "proj_size must be 0 (none) or positive, got " + std::to_string(proj_size));
  require(proj_size == 0 || cell == CellKind::lstm,
          std::string("proj_size is for LSTM only, the cell is ") + cell_name(cell));
  require(proj_size < hidden_size || proj_size == 0, "proj_size must be smaller than hidden_size (" +
                                                         std::to_string(hidden_size) + "), got " +
                                                         std::to_string(proj_size));
  require(!peepholes || cell == CellKind::lstm,
          std::string("peepholes are for LSTM only, the cell is ") + cell_name(cell));
  require(stacking == Stacking::per_layer || bidirectional,
          "per-direction stacking needs a bidirectional layer; this one has one direction");
  constexpr int64_t kMaxExtent = int64_t{1} << 24;
  require(input_size <= kMaxExtent && hidden_size <= kMaxExtent && num_layers <= 4096,
          "sizes out of range (input and hidden at most 2^24, layers at most 4096)");
}

std::string RecurrentSpec::to_json() const {
  nlohmann::ordered_json j;
  j["cell"] = cell_name(cell);
  j["input_size"] = input_size;
  j["hidden_size"] = hidden_size;
  j["num_layers"] = num_layers;
  j["bidirectional"] = bidirectional;
  j["proj_size"] = proj_size;
  j["bias"] = bias;
  j["peepholes"] = peepholes;
  j["stacking"] = stacking_name(stacking);
  return j.dump();
}

RecurrentSpec RecurrentSpec::from_json(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("recurrent layer description is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("recurrent layer description: expected a JSON object");
  auto integer = [&](const char* key, bool required, int64_t fallback) -> int64_t {
    if (!j.contains(key)) {
      if (required) throw Error(std::string("recurrent layer description: missing field '") + key + "'");
      return fallback;
    }
    if (!j[key].is_number_integer()) {
      throw Error(std::string("recurrent layer description: field '") + key + "' must be an integer, got " +
                  j[key].dump());
    }
    return j[key].get<int64_t>();
  };
  RecurrentSpec spec;
  if (!j.contains("cell") || !j["cell"].is_string()) {
    throw Error("recurrent layer description: missing string field 'cell'");
  }
  spec.cell = parse_cell_kind(j["cell"].get<std::string>());
  spec.input_size = integer("input_size", true, 0);
  spec.hidden_size = integer("hidden_size", true, 0);
  spec.num_layers = integer("num_layers", false, 1);
  spec.proj_size = integer("proj_size", false, 0);
  auto boolean = [&](const char* key, bool fallback) {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_boolean()) {
      throw Error(std::string("recurrent layer description: field '") + key + "' must be true or false, got " +
                  j[key].dump());
    }
    return j[key].get<bool>();
  };
  spec.bidirectional = boolean("bidirectional", false);
  spec.bias = boolean("bias", true);
  spec.peepholes = boolean("peepholes", false);
  if (j.contains("stacking")) {
    if (!j["stacking"].is_string()) {
      throw Error("recurrent layer description: field 'stacking' must be a string, got " + j["stacking"].dump());
    }
    spec.stacking = parse_stacking(j["stacking"].get<std::string>());
  }
  spec.validate();
  return spec;
}

std::string recurrent_variable_name(int64_t layer, bool reverse, std::string_view kind) {
  return "l" + std::to_string(layer) + (reverse ? "/bw/" : "/fw/") + std::string(kind);
}

std::vector<RecurrentParameter> recurrent_parameters(const RecurrentSpec& spec) {
  spec.validate();
  const int64_t gh = gate_count(spec.cell) * spec.hidden_size;
  const std::string letters(gate_letters(spec.cell));
  std::vector<RecurrentParameter> out;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    for (int64_t d = 0; d < spec.directions(); ++d) {
      const bool reverse = d == 1;
      auto add = [&](const char* kind, Shape shape, std::string gates) {
        out.push_back(
            {recurrent_variable_name(layer, reverse, kind), kind, layer, reverse, std::move(shape), std::move(gates)});
      };
      add("weight_ih", {gh, spec.layer_input_size(layer)}, letters);
      add("weight_hh", {gh, spec.recurrent_width()}, letters);
      if (spec.bias) {
        add("bias_ih", {gh}, letters);
        add("bias_hh", {gh}, letters);
      }
      if (spec.proj_size > 0) add("weight_hr", {spec.proj_size, spec.hidden_size}, "");
      if (spec.peepholes) add("weight_peephole", {3, spec.hidden_size}, std::string(kPeepholeGates));
    }
  }
  return out;
}

}  // namespace rnnkit

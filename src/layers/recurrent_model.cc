// Recurrent layers as checkpoints: the model description and loading; see recurrent_model.h.
#include "rnnkit/layers/recurrent_model.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_variables.h"

namespace rnnkit {
namespace {

bool gated(CellKind cell) { return cell == CellKind::lstm || cell == CellKind::gru; }

// A JSON value for an error message, cut short: a hostile file's metadata may be large.
std::string shown(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

// The keys a layer of each format version may have.
constexpr std::array kVersion1Keys = {"type", "scope", "spec", "gru_reset", "merge", "dropout", "preset"};
constexpr std::array kVersion2Keys = {"recurrent_activation", "activation", "cell_clip", "proj_clip", "gate_clip"};

}  // namespace

std::string recurrent_model_json(const std::string& scope, const RecurrentSpec& spec,
                                 const RecurrentLayerOptions& options, const std::string& preset) {
  const CellOptions& cell = options.cell;
  nlohmann::ordered_json layer;
  layer["type"] = "recurrent";
  layer["scope"] = scope;
  layer["spec"] = nlohmann::ordered_json::parse(spec.to_json());
  if (spec.cell == CellKind::gru) layer["gru_reset"] = gru_reset_name(cell.gru_reset);
  if (gated(spec.cell)) {
    layer["recurrent_activation"] = cell.recurrent_activation.spec();
    layer["activation"] = cell_activation_name(cell.activation);
  }
  if (cell.cell_clip > 0.0) layer["cell_clip"] = cell.cell_clip;
  if (cell.proj_clip > 0.0) layer["proj_clip"] = cell.proj_clip;
  if (cell.gate_clip > 0.0) layer["gate_clip"] = cell.gate_clip;
  if (options.merge != BidirectionalMerge::concat) layer["merge"] = merge_name(options.merge);
  if (options.dropout != 0.0) layer["dropout"] = options.dropout;
  if (!preset.empty()) layer["preset"] = preset;
  nlohmann::ordered_json model;
  model["format_version"] = kModelFormatVersion;
  model["layers"] = nlohmann::ordered_json::array({layer});
  return model.dump();
}

namespace {

RecurrentDescription parse_description(const std::string& text, const std::string& where) {
  nlohmann::json model;
  try {
    model = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": rnnkit.model is not valid JSON: " + e.what());
  }
  if (!model.is_object()) throw Error(where + ": rnnkit.model must be a JSON object, found " + shown(model));
  int version = 1;
  if (model.contains("format_version")) {
    const nlohmann::json& v = model["format_version"];
    if (!v.is_number_integer() || v.get<int64_t>() < 1) {
      throw Error(where + ": rnnkit.model format_version must be a positive integer, found " + v.dump());
    }
    if (v.get<int64_t>() > kModelFormatVersion) {
      throw Error(where + ": the model description has format version " + v.dump() +
                  ", newer than this rnnkit reads (up to " + std::to_string(kModelFormatVersion) +
                  "): it may record options this version would ignore and compute other numbers; use a newer rnnkit");
    }
    version = static_cast<int>(v.get<int64_t>());
  }
  for (const auto& [key, value] : model.items()) {
    if (key != "format_version" && key != "layers") {
      throw Error(where + ": rnnkit.model has an unknown key '" + key + "' (expected format_version and layers)");
    }
  }
  if (!model.contains("layers") || !model["layers"].is_array() || model["layers"].size() != 1 ||
      !model["layers"][0].is_object()) {
    throw Error(where + ": rnnkit.model must describe exactly one layer, found " + shown(model));
  }
  const nlohmann::json& layer = model["layers"][0];
  for (const auto& [key, value] : layer.items()) {
    const bool v1 = std::find(kVersion1Keys.begin(), kVersion1Keys.end(), key) != kVersion1Keys.end();
    const bool v2 = std::find(kVersion2Keys.begin(), kVersion2Keys.end(), key) != kVersion2Keys.end();
    if (!v1 && !(v2 && version >= 2)) {
      throw Error(where + ": the layer has an unknown key '" + key + "' for model format version " +
                  std::to_string(version));
    }
  }
  if (!layer.contains("type") || layer["type"] != "recurrent" || !layer.contains("scope") ||
      !layer["scope"].is_string() || !layer.contains("spec")) {
    throw Error(where + ": the layer must have type \"recurrent\", a scope and a spec, found " + shown(layer));
  }
  RecurrentDescription out;
  out.scope = layer["scope"].get<std::string>();
  try {
    out.spec = RecurrentSpec::from_json(layer["spec"].dump());
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  auto string_of = [&](const char* key, const char* fallback) {
    if (!layer.contains(key)) return std::string(fallback);
    if (!layer[key].is_string()) throw Error(where + ": " + key + " must be a string, found " + shown(layer[key]));
    return layer[key].get<std::string>();
  };
  auto number_of = [&](const char* key) {
    if (!layer.contains(key)) return 0.0;
    if (!layer[key].is_number()) throw Error(where + ": " + key + " must be a number, found " + shown(layer[key]));
    return layer[key].get<double>();
  };
  try {
    CellOptions& cell = out.options.cell;
    cell.gru_reset = parse_gru_reset(string_of("gru_reset", "after"));
    cell.recurrent_activation = parse_gate_activation(string_of("recurrent_activation", "sigmoid"));
    cell.activation = parse_cell_activation(string_of("activation", "tanh"));
    cell.cell_clip = number_of("cell_clip");
    cell.proj_clip = number_of("proj_clip");
    cell.gate_clip = number_of("gate_clip");
    out.options.merge = parse_merge(string_of("merge", "concat"));
    out.options.dropout = number_of("dropout");
    out.preset = string_of("preset", "");
    check_recurrent_options(out.spec, out.options);
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(where, 0) == 0 ? what : where + ": " + what);
  }
  return out;
}

}  // namespace

RecurrentDescription parse_recurrent_model_json(const std::string& text, const std::string& where) {
  try {
    return parse_description(text, where);
  } catch (const nlohmann::json::exception& e) {  // a value of a type the checks above did not foresee
    throw Error(where + ": rnnkit.model does not have the expected form: " + e.what());
  }
}

RecurrentModel load_recurrent_model(const std::string& path, std::optional<DType> dtype) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const std::string where = "model '" + path + "'";
  const auto it = file.metadata().find("rnnkit.model");
  if (it == file.metadata().end()) {
    throw Error(where + ": no rnnkit.model metadata; expected a checkpoint written by rnnkit init (or rnnkit import)");
  }
  RecurrentDescription d = parse_recurrent_model_json(it->second, where);
  // The description is a claim (hidden_size 12000, 4096 layers...): every parameter it implies
  // must be in the file with its shape before a byte is allocated for it.
  const std::string declared = std::string(cell_name(d.spec.cell)) + ", hidden_size " +
                               std::to_string(d.spec.hidden_size) + ", num_layers " + std::to_string(d.spec.num_layers);
  for (const RecurrentParameter& p : recurrent_parameters(d.spec)) {
    const std::string name = d.scope + "/" + p.name;
    const SafetensorsEntry* e = file.find(name);
    if (e == nullptr) {
      throw Error(where + ": its model description (" + declared + ") has a parameter '" + name +
                  "' that the file does not hold");
    }
    if (e->shape != p.shape) {
      throw Error(where + ": its model description (" + declared + ") gives '" + name + "' the shape " +
                  shape_to_string(p.shape) + ", the file holds " + shape_to_string(e->shape));
    }
  }
  if (!dtype) {
    const SafetensorsEntry* e = file.find(d.scope + "/" + recurrent_parameters(d.spec)[0].name);
    dtype = e != nullptr && e->dtype == "F64" ? DType::f64 : DType::f32;
  }
  RecurrentModel out{VariableStore(0, *dtype), d.scope, d.spec, d.options};
  {
    auto guard = out.store.scope(out.scope);
    create_recurrent_variables(out.store, out.spec, {.preset = Preset::pytorch});  // overwritten by the restore
  }
  restore_checkpoint(out.store, file, {.include = {out.scope + "/**"}});  // strict: every variable, right shapes
  return out;
}

}  // namespace rnnkit

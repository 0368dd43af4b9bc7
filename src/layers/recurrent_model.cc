// Recurrent layers as checkpoints; see recurrent_model.h.
#include "rnnkit/layers/recurrent_model.h"

#include <nlohmann/json.hpp>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_variables.h"

namespace rnnkit {

std::string recurrent_model_json(const std::string& scope, const RecurrentSpec& spec,
                                 const RecurrentLayerOptions& options, const std::string& preset) {
  nlohmann::ordered_json layer;
  layer["type"] = "recurrent";
  layer["scope"] = scope;
  layer["spec"] = nlohmann::ordered_json::parse(spec.to_json());
  if (spec.cell == CellKind::gru) layer["gru_reset"] = options.gru_reset == GruReset::after ? "after" : "before";
  if (options.merge != BidirectionalMerge::concat) layer["merge"] = merge_name(options.merge);
  if (options.dropout != 0.0) layer["dropout"] = options.dropout;
  if (!preset.empty()) layer["preset"] = preset;
  return nlohmann::ordered_json{{"layers", nlohmann::ordered_json::array({layer})}}.dump();
}

RecurrentModel load_recurrent_model(const std::string& path, std::optional<DType> dtype) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const std::string where = "model '" + path + "'";
  const auto it = file.metadata().find("rnnkit.model");
  if (it == file.metadata().end()) {
    throw Error(where + ": no rnnkit.model metadata; expected a checkpoint written by rnnkit init (or rnnkit import)");
  }
  nlohmann::json model;
  try {
    model = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": rnnkit.model is not valid JSON: " + e.what());
  }
  if (!model.is_object() || !model.contains("layers") || !model["layers"].is_array() || model["layers"].size() != 1 ||
      !model["layers"][0].is_object()) {
    throw Error(where + ": rnnkit.model must describe exactly one layer, found " + model.dump());
  }
  const nlohmann::json& layer = model["layers"][0];
  if (layer.value("type", "") != "recurrent" || !layer.contains("scope") || !layer["scope"].is_string() ||
      !layer.contains("spec")) {
    throw Error(where + ": the layer must have type \"recurrent\", a scope and a spec, found " + layer.dump());
  }
  const std::string scope = layer["scope"].get<std::string>();
  const RecurrentSpec spec = RecurrentSpec::from_json(layer["spec"].dump());
  if (!dtype) {
    const SafetensorsEntry* e = file.find(scope + "/" + recurrent_parameters(spec)[0].name);
    dtype = e != nullptr && e->dtype == "F64" ? DType::f64 : DType::f32;
  }
  RecurrentModel out{VariableStore(0, *dtype), scope, spec, {}};
  const std::string reset = layer.value("gru_reset", "after");
  if (reset != "after" && reset != "before") {
    throw Error(where + ": gru_reset must be \"after\" or \"before\", found \"" + reset + "\"");
  }
  out.options.gru_reset = reset == "after" ? GruReset::after : GruReset::before;
  try {
    out.options.merge = parse_merge(layer.value("merge", "concat"));
    out.options.dropout = layer.value("dropout", 0.0);
    check_recurrent_options(out.spec, out.options);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": merge must be a string and dropout a number: " + e.what());
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  {
    auto guard = out.store.scope(out.scope);
    create_recurrent_variables(out.store, out.spec, {.preset = Preset::pytorch});  // overwritten by the restore
  }
  restore_checkpoint(out.store, file, {.include = {out.scope + "/**"}});  // strict: every variable, right shapes
  return out;
}

}  // namespace rnnkit

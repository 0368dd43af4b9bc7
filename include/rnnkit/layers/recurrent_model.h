// A recurrent layer saved as a checkpoint, and loaded back as a store plus its description.
//
// The checkpoint's metadata key rnnkit.model holds
//   {"layers":[{"type":"recurrent","scope":S,"spec":{...RecurrentSpec...},"gru_reset":"after"|"before",
//               "merge":"sum"|"mul"|"ave", "dropout":p, ...}]}
// (gru_reset for GRUs only; merge when not concat; dropout when not 0)
// (see docs/checkpoint-format.md); its tensors hold the variables under S.
#pragma once

#include <optional>
#include <string>

#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

struct RecurrentModel {
  VariableStore store;
  std::string scope;
  RecurrentSpec spec;
  RecurrentLayerOptions options;
};

// The rnnkit.model JSON for one recurrent layer (`preset` recorded when not empty).
std::string recurrent_model_json(const std::string& scope, const RecurrentSpec& spec,
                                 const RecurrentLayerOptions& options = {}, const std::string& preset = "");

// Loads a checkpoint describing one recurrent layer: every variable must be present with
// its shape (strict restore). Throws Error naming the file and what is missing or wrong.
// The store is float32 by default; with dtype nullopt it takes the file's type (float64 if
// the layer's tensors are F64, else float32), so that values pass through unchanged.
RecurrentModel load_recurrent_model(const std::string& path, std::optional<DType> dtype = DType::f32);

}  // namespace rnnkit

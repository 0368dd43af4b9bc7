// A recurrent layer saved as a checkpoint, and loaded back as a store plus its description.
//
// The checkpoint's metadata key rnnkit.model holds
//   {"layers":[{"type":"recurrent","scope":S,"spec":{...RecurrentSpec...},"gru_reset":"after"|"before",
//               "merge":"sum"|"mul"|"ave", "dropout":p, ...}]}
// (gru_reset for GRUs only; merge when not concat; dropout when not 0)
// (see docs/checkpoint-format.md); its tensors hold the variables under S.
#pragma once

#include <string>

#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

struct RecurrentModel {
  VariableStore store;  // float32
  std::string scope;
  RecurrentSpec spec;
  RecurrentLayerOptions options;
};

// The rnnkit.model JSON for one recurrent layer (`preset` recorded when not empty).
std::string recurrent_model_json(const std::string& scope, const RecurrentSpec& spec,
                                 const RecurrentLayerOptions& options = {}, const std::string& preset = "");

// Loads a checkpoint describing one recurrent layer: every variable must be present with
// its shape (strict restore). Throws Error naming the file and what is missing or wrong.
RecurrentModel load_recurrent_model(const std::string& path);

}  // namespace rnnkit

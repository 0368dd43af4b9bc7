// A recurrent layer saved as a checkpoint, and loaded back as a store plus its description.
//
// The checkpoint's metadata key rnnkit.model holds the model description (format version 2):
//   {"format_version":2,
//    "layers":[{"type":"recurrent","scope":S,"spec":{...RecurrentSpec::to_json...},
//               "gru_reset":"after"|"before",                         GRU
//               "recurrent_activation":"sigmoid"|"hard_sigmoid(alpha=A, beta=B)",  LSTM, GRU
//               "activation":"tanh"|"relu",                           LSTM, GRU
//               "cell_clip":C, "proj_clip":C, "gate_clip":C,          when set
//               "merge":"sum"|"mul"|"ave",                            when not concat
//               "dropout":p,                                          when not 0
//               "preset":P}]}                                         when recorded
// (docs/checkpoint-format.md); its tensors hold the variables under S. Descriptions without a
// format_version are version 1 (rnnkit before the cell options): they read as the defaults.
// A reader refuses a description newer than it understands, and any key it does not know:
// an option it ignored would compute other numbers than the file's writer did.
#pragma once

#include <optional>
#include <string>

#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

// The newest model description format this rnnkit reads and the one it writes.
inline constexpr int kModelFormatVersion = 2;

struct RecurrentModel {
  VariableStore store;
  std::string scope;
  RecurrentSpec spec;
  RecurrentLayerOptions options;
};

// One recurrent layer's description, as rnnkit.model holds it.
struct RecurrentDescription {
  std::string scope;
  RecurrentSpec spec;
  RecurrentLayerOptions options;  // batch_first is not recorded (it is how a caller lays out inputs)
  std::string preset;             // empty when not recorded
};

// The rnnkit.model JSON for one recurrent layer (`preset` recorded when not empty).
std::string recurrent_model_json(const std::string& scope, const RecurrentSpec& spec,
                                 const RecurrentLayerOptions& options = {}, const std::string& preset = "");

// Parses rnnkit.model. Throws Error, prefixed with `where`, naming what is wrong: not JSON, a
// format version newer than kModelFormatVersion, not exactly one recurrent layer, an unknown
// key, a value of the wrong type or out of range, options that do not fit the spec.
RecurrentDescription parse_recurrent_model_json(const std::string& json, const std::string& where);

// Loads a checkpoint describing one recurrent layer: every variable must be present with
// its shape (strict restore). Throws Error naming the file and what is missing or wrong.
// The store is float32 by default; with dtype nullopt it takes the file's type (float64 if
// the layer's tensors are F64, else float32), so that values pass through unchanged.
RecurrentModel load_recurrent_model(const std::string& path, std::optional<DType> dtype = DType::f32);

}  // namespace rnnkit

// Recurrent layers from a TensorFlow checkpoint; see formats/tf_import.h.
#include "rnnkit/formats/tf_import.h"

#include <algorithm>
#include <map>
#include <set>

#include "rnnkit/core/error.h"
#include "rnnkit/formats/keras.h"

namespace rnnkit {
namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin < path.size()) {
    std::size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    out.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) out += (out.empty() ? "" : "/") + parts[i];
  return out;
}

// N of a key under layer_with_weights-N/ or layer-N/ (an object-based checkpoint's order), or -1.
int64_t layer_position(const std::string& key) {
  for (const std::string head : {"layer_with_weights-", "layer-"}) {
    if (!key.starts_with(head)) continue;
    const std::size_t end = key.find('/', head.size());
    const std::string digits = key.substr(head.size(), end - head.size());
    if (!digits.empty() && digits.size() < 10 && digits.find_first_not_of("0123456789") == std::string::npos) {
      return std::stoll(digits);
    }
  }
  return -1;
}

// Keras' default layer names, lstm < lstm_1 < lstm_2 < lstm_10, in the order it made them.
std::pair<std::string, int64_t> natural_key(const std::string& name) {
  const std::size_t underscore = name.rfind('_');
  if (underscore != std::string::npos && underscore + 1 < name.size() && name.size() - underscore < 10 &&
      name.find_first_not_of("0123456789", underscore + 1) == std::string::npos) {
    return {name.substr(0, underscore), std::stoll(name.substr(underscore + 1)) + 1};
  }
  return {name, 0};
}

struct KerasCellFound {
  std::string path;  // "lstm_2/lstm_cell/", or "bidirectional/forward_lstm/lstm_cell/"
  int direction = 0;
};

struct KerasLayerFound {
  std::string name;
  int64_t position = -1;
  std::map<int, KerasCellFound> cells;  // by direction
};

}  // namespace

TfImport import_tf_checkpoint(const TfCheckpoint& checkpoint, const TfImportOptions& options) {
  const std::string origin =
      checkpoint.format() == TfCheckpointFormat::bundle ? checkpoint.prefix() + ".index" : checkpoint.prefix();
  const std::string where = "TensorFlow checkpoint '" + origin + "'";
  const std::string& prefix = options.tf1.prefix;
  // The weights to choose from: under the prefix by name, or else by raw key.
  std::vector<const TfVariable*> candidates;
  auto floating = [](const TfVariable& v) {
    return v.dtype == "F32" || v.dtype == "F64" || v.dtype == "F16" || v.dtype == "BF16";
  };
  for (const bool by_key : {false, true}) {
    for (const TfVariable& v : checkpoint.variables()) {
      if (v.role == TfVariableRole::weight && floating(v) && (by_key ? v.key : v.name).starts_with(prefix)) {
        candidates.push_back(&v);
      }
    }
    if (!candidates.empty() || prefix.empty()) break;
  }
  if (candidates.empty()) {
    std::set<std::string> tops;
    for (const TfVariable& v : checkpoint.variables()) {
      if (v.role == TfVariableRole::weight) tops.insert(v.name.substr(0, v.name.find('/') + 1));
    }
    std::string list;
    for (const std::string& t : tops) list += (list.empty() ? "" : ", ") + t;
    throw Error(where + ": no floating-point weights" + (prefix.empty() ? "" : " under '" + prefix + "'") +
                (list.empty() ? "" : "; its weights are under " + list));
  }
  TfImport out;
  std::set<std::string> used;
  // tf.keras cells: a recurrent_kernel beside a kernel.
  std::map<std::string, KerasLayerFound> keras;
  for (const TfVariable* v : candidates) {
    if (!v->name.ends_with("/recurrent_kernel") && v->name != "recurrent_kernel") continue;
    const std::string path = v->name.substr(0, v->name.size() - std::string("recurrent_kernel").size());
    const std::vector<std::string> parts = components(path);
    std::size_t layer_end = parts.size();
    int direction = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].starts_with("forward_") || parts[i].starts_with("backward_")) {
        layer_end = i;
        direction = parts[i].starts_with("backward_") ? 1 : 0;
        break;
      }
    }
    // The cell's own segment (lstm_cell; an object path's "cell") is not the layer's name.
    if (layer_end == parts.size() && !parts.empty() && (parts.back().ends_with("_cell") || parts.back() == "cell")) {
      layer_end = parts.size() - 1;
    }
    std::string layer = joined(parts, 0, layer_end);
    if (layer.empty()) layer = path.empty() ? "(top)" : path;
    KerasLayerFound& found = keras[layer];
    found.name = layer;
    if (const int64_t position = layer_position(v->key); position >= 0) found.position = position;
    if (found.cells.count(direction) != 0) {
      throw Error(where + ": layer '" + layer + "' has two " + (direction ? "backward" : "forward") + " cells, '" +
                  found.cells[direction].path + "' and '" + path + "'");
    }
    found.cells[direction] = {path, direction};
  }
  if (!keras.empty()) {
    std::vector<KerasLayerFound> layers;
    layers.reserve(keras.size());
    for (auto& [name, layer] : keras) layers.push_back(std::move(layer));
    std::sort(layers.begin(), layers.end(), [](const KerasLayerFound& a, const KerasLayerFound& b) {
      if (a.position >= 0 && b.position >= 0 && a.position != b.position) return a.position < b.position;
      return natural_key(a.name) < natural_key(b.name);
    });
    KerasImportOptions keras_options;
    keras_options.scope = options.tf1.scope;
    keras_options.rnn_nonlinearity = options.tf1.rnn_nonlinearity;
    keras_options.recurrent_activation = options.recurrent_activation;
    keras_options.activation = options.tf1.activation;
    keras_options.gru_reset = options.gru_reset;
    if (options.tf1.forget_bias || options.tf1.cell_clip > 0 || options.tf1.proj_clip > 0) {
      throw Error(where +
                  ": its cells are tf.keras cells, which add no forget bias at run time and clip nothing "
                  "(--forget-bias, --cell-clip and --proj-clip are for TF1 cells)");
    }
    bool f64 = true;
    std::vector<KerasLayerTensors> tensors;
    tensors.reserve(layers.size());
    for (const KerasLayerFound& layer : layers) {
      KerasLayerTensors t{layer.name, {}};
      for (int d = 0; d < static_cast<int>(layer.cells.size()); ++d) {
        const auto it = layer.cells.find(d);
        if (it == layer.cells.end()) {
          throw Error(where + ": layer '" + layer.name + "' has a backward cell but no forward one");
        }
        const std::string& path = it->second.path;
        auto get = [&](const std::string& what, bool required) -> const TfVariable* {
          const TfVariable* v = checkpoint.find(path + what);
          if (v == nullptr && required)
            throw Error(where + ": layer '" + layer.name + "' has no '" + path + what + "'");
          if (v != nullptr) {
            used.insert(v->name);
            f64 = f64 && v->dtype == "F64";
          }
          return v;
        };
        const TfVariable* kernel = get("kernel", true);
        const TfVariable* recurrent = get("recurrent_kernel", true);
        const TfVariable* bias = get("bias", false);
        t.cells.push_back({checkpoint.values(*kernel), checkpoint.values(*recurrent),
                           bias != nullptr ? checkpoint.values(*bias) : Tensor<double>(), bias != nullptr, kernel->name,
                           recurrent->name, bias != nullptr ? bias->name : ""});
      }
      tensors.push_back(std::move(t));
    }
    if (options.tf1.dtype) f64 = *options.tf1.dtype == DType::f64;
    out.model = keras_layers_to_model(std::move(tensors), where, "tf " + origin + ":", f64, keras_options);
    out.keras_cells = true;
    out.any_f32 = !f64;
  } else {
    std::map<std::string, NpyArray> variables;
    for (const TfVariable* v : candidates) {
      variables[v->name] = NpyArray{v->dtype == "F64" ? "F64" : "F32", checkpoint.values(*v)};
    }
    Tf1ImportOptions tf1 = options.tf1;
    // A prefix that matched raw keys has chosen the variables already.
    if (!candidates.empty() && !candidates.front()->name.starts_with(prefix)) tf1.prefix.clear();
    Tf1Import imported = [&] {
      try {
        return import_tf1(variables, origin, tf1);
      } catch (const Error& e) {  // named as the checkpoint it is, not as a file of TF1 variables
        const std::string said = e.what(), as_variables = "tf1 variables '" + origin + "'";
        throw Error(said.rfind(as_variables, 0) == 0 ? where + said.substr(as_variables.size()) : said);
      }
    }();
    out.model = std::move(imported.model);
    out.cell_paths = imported.cell_paths;
    out.forget_bias = imported.forget_bias;
    for (const auto& [name, array] : variables) {
      const std::string canonical = canonical_tf1_name(name);
      for (const std::string& cell : imported.cell_paths) {
        if (canonical.starts_with(cell)) {
          used.insert(name);
          out.any_f32 = out.any_f32 || array.dtype != "F64";
        }
      }
    }
  }
  for (const TfVariable& v : checkpoint.variables()) {
    if (used.count(v.name) != 0) {
      out.used.push_back(v.name);
    } else {
      out.unused.push_back({v.name, v.role});
    }
  }
  return out;
}

}  // namespace rnnkit

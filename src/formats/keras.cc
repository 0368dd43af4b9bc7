// Keras 2 HDF5 weight files; see formats/keras.h. Read through detail::Hdf5File (hdf5_file.h:
// checked against links, external storage, filters and sizes the file cannot back), with
// libhdf5 in a separate process (keras_contents.h: this file says what to read and builds from
// what comes back); written through HDF5's C API with its error printing off (library code
// never prints).
#include "rnnkit/formats/keras.h"

#include <hdf5.h>

#include <algorithm>
#include <map>

#include "hdf5_file.h"
#include "keras_contents.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/cell_layout.h"

namespace rnnkit {
namespace {

using detail::Hdf5Dataset;
using Handle = detail::Hdf5Handle;

// One Keras layer's recurrent cells, by direction (0 forward, 1 backward).
struct KerasLayer {
  std::string name;
  std::vector<std::map<std::string, std::string>> cells;  // kernel / recurrent_kernel / bias -> dataset path
};

std::string last_segment(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// The layer's recurrent weights, or no cells for a layer without a recurrent kernel.
KerasLayer classify(const std::string& layer, const std::vector<std::string>& weight_names, const std::string& where) {
  KerasLayer out{layer, {}};
  std::map<int, std::map<std::string, std::string>> by_direction;
  for (const std::string& name : weight_names) {
    std::string kind = last_segment(name);
    if (const std::size_t colon = kind.find(':'); colon != std::string::npos) kind.resize(colon);
    if (kind != "kernel" && kind != "recurrent_kernel" && kind != "bias") continue;
    const int direction = name.find("/backward_") != std::string::npos || name.rfind("backward_", 0) == 0 ? 1 : 0;
    auto& cell = by_direction[direction];
    if (cell.count(kind) != 0) throw Error(where + ": layer '" + layer + "' has two " + kind + " weights");
    cell[kind] = name;
  }
  const bool recurrent = std::any_of(by_direction.begin(), by_direction.end(),
                                     [](const auto& d) { return d.second.count("recurrent_kernel") != 0; });
  if (!recurrent) return out;
  for (int d = 0; d < static_cast<int>(by_direction.size()); ++d) {
    if (by_direction.count(d) == 0)
      throw Error(where + ": layer '" + layer + "' has a backward cell but no forward one");
    for (const char* kind : {"kernel", "recurrent_kernel"}) {  // bias: absent with use_bias=False
      if (by_direction[d].count(kind) == 0) {
        throw Error(where + ": layer '" + layer + "' (" + (d ? "backward" : "forward") + ") has no " + kind +
                    " weight");
      }
    }
    out.cells.push_back(by_direction[d]);
  }
  return out;
}

std::string layer_list(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

std::string direction_at(const std::string& at, std::size_t direction, std::size_t directions) {
  return at + (directions > 1 ? (direction ? " backward" : " forward") : "");
}

// The recurrent layers import_keras stacks, in order: those options.layers names, or every one.
std::vector<KerasLayer> chosen_layers(const std::vector<detail::KerasLayerNames>& layers,
                                      const KerasImportOptions& options, const std::string& where) {
  std::vector<std::string> names;
  std::vector<KerasLayer> recurrent;
  std::vector<std::string> recurrent_names;
  for (const detail::KerasLayerNames& listed : layers) {
    // From the separate process, already the child's words, quoted (keras_contents.h).
    if (!listed.error.empty()) throw Error(listed.error);
    names.push_back(listed.name);
    KerasLayer layer = classify(listed.name, listed.weight_names, where);
    if (!layer.cells.empty()) {
      recurrent_names.push_back(listed.name);
      recurrent.push_back(std::move(layer));
    }
  }
  if (options.layers.empty()) {
    if (recurrent.empty()) throw Error(where + ": no recurrent layer among its layers " + layer_list(names));
    return recurrent;
  }
  std::vector<KerasLayer> chosen;
  for (const std::string& want : options.layers) {
    const auto it =
        std::find_if(recurrent.begin(), recurrent.end(), [&](const KerasLayer& l) { return l.name == want; });
    if (it == recurrent.end()) {
      throw Error(where + ": no recurrent layer '" + want + "'; its recurrent layers are " +
                  layer_list(recurrent_names));
    }
    chosen.push_back(*it);
  }
  return chosen;
}

// What import_keras reads, in the order it takes it: per chosen cell kernel, recurrent kernel, bias.
std::vector<detail::KerasDatasetRequest> import_requests(const std::vector<KerasLayer>& chosen,
                                                         const std::string& where) {
  std::vector<detail::KerasDatasetRequest> out;
  for (const KerasLayer& layer : chosen) {
    for (std::size_t d = 0; d < layer.cells.size(); ++d) {
      const std::string at = direction_at(detail::keras_layer_where(where, layer.name), d, layer.cells.size());
      for (const char* kind : {"kernel", "recurrent_kernel", "bias"}) {
        if (const auto it = layer.cells[d].find(kind); it != layer.cells[d].end()) {
          out.push_back({layer.name, it->second, at});
        }
      }
    }
  }
  return out;
}

}  // namespace

namespace detail {

std::map<std::string, Tensor<double>> read_keras_weights(const Hdf5Source& source, const std::string& name,
                                                         Hdf5Process process) {
  const std::string where = "keras file '" + name + "'";
  // Every weight of every layer, up to the first layer that cannot be opened.
  const KerasPlan plan = [&](const std::vector<KerasLayerNames>& layers) {
    std::vector<KerasDatasetRequest> out;
    for (const KerasLayerNames& layer : layers) {
      if (!layer.error.empty()) break;
      for (const std::string& weight : layer.weight_names)
        out.push_back({layer.name, weight, detail::keras_layer_where(where, layer.name)});
    }
    return out;
  };
  KerasContents contents = read_keras_contents(source, where, plan, process);
  std::map<std::string, Tensor<double>> out;
  for (const KerasLayerNames& layer : contents.layers) {
    if (!layer.error.empty()) throw Error(layer.error);  // as above: quoted if the child's
    for (const std::string& weight : layer.weight_names) {
      if (!out.emplace(layer.name + "/" + weight, contents.take(layer.name, weight).values).second) {
        throw Error(detail::keras_layer_where(where, layer.name) + ": weight '" + weight + "' is listed twice");
      }
    }
  }
  return out;
}

RecurrentModel import_keras(const Hdf5Source& source, const std::string& path, const KerasImportOptions& options,
                            Hdf5Process process) {
  const std::string where = "keras file '" + path + "'";
  KerasContents keras = read_keras_contents(
      source, where,
      [&](const std::vector<KerasLayerNames>& layers) {
        return import_requests(chosen_layers(layers, options, where), where);
      },
      process);
  const std::vector<KerasLayer> chosen = chosen_layers(keras.layers, options, where);
  std::vector<KerasLayerTensors> layers;
  bool f64 = true;
  for (const KerasLayer& layer : chosen) {
    KerasLayerTensors tensors{layer.name, {}};
    for (const auto& names_of : layer.cells) {
      Hdf5Dataset kernel = keras.take(layer.name, names_of.at("kernel"));
      Hdf5Dataset recurrent_kernel = keras.take(layer.name, names_of.at("recurrent_kernel"));
      const bool has_bias = names_of.count("bias") != 0;
      Hdf5Dataset bias = has_bias ? keras.take(layer.name, names_of.at("bias")) : Hdf5Dataset{{}, true};
      f64 = f64 && kernel.f64 && recurrent_kernel.f64 && bias.f64;
      tensors.cells.push_back({std::move(kernel.values), std::move(recurrent_kernel.values), std::move(bias.values),
                               has_bias, names_of.at("kernel"), names_of.at("recurrent_kernel"),
                               has_bias ? names_of.at("bias") : ""});
    }
    layers.push_back(std::move(tensors));
  }
  return keras_layers_to_model(std::move(layers), where, "keras " + path + ":", f64, options);
}

}  // namespace detail

RecurrentModel keras_layers_to_model(std::vector<KerasLayerTensors> layers, const std::string& where,
                                     const std::string& origin, bool f64, const KerasImportOptions& options) {
  // Check that the layers stack, cell by cell.
  if (layers.empty()) throw Error(where + ": no recurrent layer");
  RecurrentSpec spec;
  GruReset reset = options.gru_reset.value_or(GruReset::after);
  std::vector<CellWeights> weights;
  std::vector<CellSources> sources;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    KerasLayerTensors& layer = layers[k];
    const std::string at = detail::keras_layer_where(where, layer.name);
    if (layer.cells.empty() || layer.cells.size() > 2) {
      throw Error(at + ": " + std::to_string(layer.cells.size()) + " cells (expected 1, or 2 in Bidirectional)");
    }
    for (std::size_t d = 0; d < layer.cells.size(); ++d) {
      const std::string cell_at = direction_at(at, d, layer.cells.size());
      KerasCellTensors& c = layer.cells[d];
      const bool has_bias = c.has_bias;
      const Shape& rs = c.recurrent_kernel.shape();
      if (rs.size() != 2 || rs[0] < 1 || rs[1] % rs[0] != 0 ||
          (rs[1] / rs[0] != 4 && rs[1] / rs[0] != 3 && rs[1] != rs[0])) {
        throw Error(cell_at + ": recurrent_kernel has shape " + shape_to_string(rs) +
                    ", expected [H, G*H] with G = 4 (LSTM), 3 (GRU) or 1 (SimpleRNN)");
      }
      const int64_t hidden = rs[0], gates = rs[1] / rs[0];
      const CellKind cell = gates == 4   ? CellKind::lstm
                            : gates == 3 ? CellKind::gru
                                         : options.rnn_nonlinearity.value_or(CellKind::rnn_tanh);
      // A GRU's reset form shows in its bias: [2, 3H] reset_after, [3H] before; without one it must be told.
      GruReset this_reset = GruReset::after;
      if (cell == CellKind::gru) {
        if (has_bias) {
          this_reset = c.bias.rank() == 1 ? GruReset::before : GruReset::after;
          if (options.gru_reset && *options.gru_reset != this_reset) {
            throw Error(cell_at + ": the GRU's bias has shape " + shape_to_string(c.bias.shape()) + " (reset " +
                        gru_reset_name(this_reset) + "), but reset " + gru_reset_name(*options.gru_reset) +
                        " was given");
          }
        } else if (!options.gru_reset) {
          throw Error(cell_at +
                      ": a GRU without biases (use_bias=False) does not show its reset form in its weights; "
                      "say it: reset after (reset_after=True, Keras' default since 2.3) or before");
        } else {
          this_reset = *options.gru_reset;
        }
      }
      const int64_t inputs = c.kernel.rank() == 2 ? c.kernel.dim(0) : -1;
      if (k == 0 && d == 0) {
        if (options.rnn_nonlinearity && cell != CellKind::rnn_tanh && cell != CellKind::rnn_relu) {
          throw Error(at + ": a nonlinearity was given, but the layer is an " + std::string(cell_name(cell)) +
                      " (only SimpleRNN has tanh or relu)");
        }
        spec = RecurrentSpec{cell, inputs, hidden, static_cast<int64_t>(layers.size()), layer.cells.size() == 2, 0};
        spec.bias = has_bias;
        reset = this_reset;
      } else {
        const int64_t expected_inputs = k == 0 ? spec.input_size : spec.directions() * spec.hidden_size;
        if (cell != spec.cell || hidden != spec.hidden_size || this_reset != reset ||
            (layer.cells.size() == 2) != spec.bidirectional || inputs != expected_inputs || has_bias != spec.bias) {
          throw Error(cell_at + ": does not stack on layer '" + layers[0].name + "': it is a " + cell_name(cell) +
                      " with H=" + std::to_string(hidden) + ", " + std::to_string(layer.cells.size()) +
                      " direction(s), " + std::to_string(inputs) + " inputs and " + (has_bias ? "a bias" : "no bias") +
                      "; expected a " + cell_name(spec.cell) + " with H=" + std::to_string(spec.hidden_size) + ", " +
                      std::to_string(spec.directions()) + " direction(s), " + std::to_string(expected_inputs) +
                      " inputs and " + (spec.bias ? "a bias" : "no bias") + " (choose layers with --layer)");
        }
      }
      const CellLayout& layout = cell_layout(Framework::keras, cell, this_reset);
      weights.push_back(to_rnnkit(layout, {std::move(c.kernel), std::move(c.recurrent_kernel), std::move(c.bias), {}},
                                  hidden, cell_at));
      sources.push_back(cell_sources(layout, origin + layer.name + "/", c.kernel_name, c.recurrent_kernel_name,
                                     has_bias ? c.bias_name : ""));
    }
  }
  spec.validate();
  const std::string scope = options.scope.empty() ? cell_name(spec.cell) : options.scope;
  RecurrentLayerOptions layer_options;
  if (spec.cell == CellKind::gru) layer_options.cell.gru_reset = reset;
  if (spec.cell == CellKind::lstm || spec.cell == CellKind::gru) {
    layer_options.cell.recurrent_activation = options.recurrent_activation;
    layer_options.cell.activation = options.activation;
  } else if (!options.recurrent_activation.is_sigmoid() || options.activation != CellActivation::tanh) {
    throw Error(where + ": a SimpleRNN has no gates, and its activation is the nonlinearity (tanh or relu)");
  }
  return model_from_cell_weights(spec, layer_options, f64 ? DType::f64 : DType::f32, scope, weights, sources);
}

std::map<std::string, Tensor<double>> read_keras_weights(const std::string& path) {
  return detail::read_keras_weights(path, path, detail::Hdf5Process::separate);
}

RecurrentModel import_keras(const std::string& path, const KerasImportOptions& options) {
  return detail::import_keras(path, path, options, detail::Hdf5Process::separate);
}

void export_keras(const RecurrentModel& model, const std::string& path) {
  const detail::QuietHdf5 quiet;
  const std::string what = "export to Keras '" + path + "'";
  if (model.options.merge != BidirectionalMerge::concat) {
    throw Error(what + ": the layer merges its directions by " + std::string(merge_name(model.options.merge)) +
                "; rnnkit writes Keras' Bidirectional with merge_mode concat only");
  }
  if (model.spec.proj_size > 0) {
    throw Error(what + ": the LSTM '" + model.scope + "' has a projection (proj_size " +
                std::to_string(model.spec.proj_size) + "), which Keras' LSTM cannot store");
  }
  const CellOptions& cell = model.options.cell;
  const std::string cannot = model.spec.peepholes ? "peepholes"
                             : model.spec.stacking == Stacking::per_direction && model.spec.num_layers > 1
                                 ? "per-direction stacking"
                             : cell.gate_clip > 0.0 ? "a gate clip"
                             : cell.cell_clip > 0.0 ? "a cell clip"
                                                    : "";
  if (!cannot.empty()) {
    throw Error(what + ": the layer '" + model.scope + "' has " + cannot +
                ", which Keras' recurrent layers cannot compute");
  }
  const std::vector<CellWeights> weights = cell_weights_of(model);
  const RecurrentSpec& spec = model.spec;
  const CellLayout& layout = cell_layout(Framework::keras, spec.cell, model.options.cell.gru_reset);
  const std::string base = spec.cell == CellKind::lstm ? "lstm" : spec.cell == CellKind::gru ? "gru" : "simple_rnn";
  const std::string cell_group = base == "simple_rnn" ? "simple_rnn_cell" : base + "_cell";
  const bool f64 = model.store.dtype() == DType::f64;

  // An in-memory file (HDF5's core driver without a backing store), then one atomic write.
  const Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_core(fapl.get(), 1 << 16, 0);
  const std::string memory_name = "rnnkit-keras-export-" + std::to_string(reinterpret_cast<uintptr_t>(&model));
  std::vector<std::byte> image;
  {
    const Handle file(H5Fcreate(memory_name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file.valid()) throw Error(what + ": HDF5 could not create the file in memory");
    const Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    // A string array attribute, or a scalar one (`scalar`, one value), as h5py writes them.
    auto write_strings = [&](hid_t object, const char* name, const std::vector<std::string>& values,
                             bool scalar = false) {
      std::size_t size = 1;
      for (const std::string& v : values) size = std::max(size, v.size());
      std::vector<char> buffer(size * values.size(), '\0');
      for (std::size_t i = 0; i < values.size(); ++i)
        std::copy(values[i].begin(), values[i].end(), buffer.begin() + i * size);
      const Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(type.get(), size);
      H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
      const hsize_t n = values.size();
      const Handle space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose);
      const Handle attr(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
      if (!attr.valid() || H5Awrite(attr.get(), type.get(), buffer.data()) < 0) {
        throw Error(what + ": cannot write attribute '" + std::string(name) + "'");
      }
    };
    auto write_dataset = [&](hid_t group, const std::string& name, const Tensor<double>& t) {
      std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
      const Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
      const Handle set(H5Dcreate2(group, name.c_str(), f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, space.get(), lcpl.get(),
                                  H5P_DEFAULT, H5P_DEFAULT),
                       H5Dclose);
      if (!set.valid() ||
          H5Dwrite(set.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.storage().data()) < 0) {
        throw Error(what + ": cannot write dataset '" + name + "'");
      }
    };
    std::vector<std::string> layer_names;
    for (int64_t l = 0; l < spec.num_layers; ++l) {
      const std::string suffix = l == 0 ? "" : "_" + std::to_string(l);
      const std::string layer = spec.bidirectional ? "bidirectional" + suffix : base + suffix;
      layer_names.push_back(layer);
      const Handle group(H5Gcreate2(file.get(), layer.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      std::vector<std::string> weight_names;
      for (int64_t d = 0; d < spec.directions(); ++d) {
        const std::string cell_path =
            spec.bidirectional ? layer + "/" + (d ? "backward_" : "forward_") + base + suffix + "/" + cell_group
                               : layer + "/" + cell_group;
        const FrameworkCellWeights w =
            from_rnnkit(layout, weights[static_cast<std::size_t>(l * spec.directions() + d)], spec.hidden_size);
        for (const auto& [kind, tensor] : {std::pair<const char*, const Tensor<double>*>{"kernel", &w.kernel},
                                           {"recurrent_kernel", &w.recurrent},
                                           {"bias", &w.bias}}) {
          if (tensor->numel() == 0) continue;  // use_bias=False: no bias
          const std::string name = cell_path + "/" + kind + ":0";
          weight_names.push_back(name);
          write_dataset(group.get(), name, *tensor);
        }
      }
      write_strings(group.get(), "weight_names", weight_names);
    }
    write_strings(file.get(), "layer_names", layer_names);
    write_strings(file.get(), "backend", {"tensorflow"}, true);
    write_strings(file.get(), "keras_version", {"2.11.0"}, true);
    H5Fflush(file.get(), H5F_SCOPE_GLOBAL);
    const ssize_t size = H5Fget_file_image(file.get(), nullptr, 0);
    if (size <= 0) throw Error(what + ": HDF5 gave no file image");
    image.resize(static_cast<std::size_t>(size));
    if (H5Fget_file_image(file.get(), image.data(), image.size()) != size)
      throw Error(what + ": HDF5 file image incomplete");
  }
  write_file_atomically(path, {std::span<const std::byte>(image)});
}

}  // namespace rnnkit

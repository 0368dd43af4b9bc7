// PyTorch recurrent state_dicts; see pytorch.h.
#include "rnnkit/formats/pytorch.h"

#include <algorithm>
#include <map>
#include <regex>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_variables.h"

namespace rnnkit {
namespace {

struct ParsedName {
  std::string kind;
  int64_t layer = 0;
  bool reverse = false;
};

// "weight_hh_l1_reverse" -> {weight_hh, 1, true}; nullopt if not a recurrent parameter name.
std::optional<ParsedName> parse_pytorch_name(const std::string& name) {
  static const std::regex kPattern(
      R"((weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(0|[1-9][0-9]{0,5})(_reverse)?)");
  std::smatch m;
  if (!std::regex_match(name, m, kPattern)) return std::nullopt;
  return ParsedName{m[1].str(), std::stoll(m[2].str()), m[3].matched};
}

std::string where(const SafetensorsFile& file, const std::string& prefix) {
  return "PyTorch state_dict '" + file.origin() + "'" + (prefix.empty() ? "" : " (prefix '" + prefix + "')");
}

// For a file whose tensors sit under another prefix: "encoder.rnn." from "encoder.rnn.weight_ih_l0".
std::string suggest_prefix(const SafetensorsFile& file) {
  for (const SafetensorsEntry& e : file.entries()) {
    const std::size_t at = e.name.rfind("weight_ih_l0");
    if (at != std::string::npos && at > 0 && at + 12 == e.name.size()) return e.name.substr(0, at);
  }
  return "";
}

// What of the spec and cell options PyTorch's modules have no counterpart for ("" if nothing).
std::string pytorch_unsupported(const RecurrentSpec& spec, const CellOptions& cell) {
  if (spec.peepholes) return "peepholes";
  if (spec.stacking == Stacking::per_direction) return "per-direction stacking";
  if (!cell.recurrent_activation.is_sigmoid()) return "recurrent_activation " + cell.recurrent_activation.spec();
  if (cell.activation != CellActivation::tanh)
    return std::string("activation ") + cell_activation_name(cell.activation);
  if (cell.gate_clip > 0.0) return "a gate clip";
  if (cell.cell_clip > 0.0) return "a cell clip";
  if (cell.proj_clip > 0.0) return "a projection clip";
  return "";
}

}  // namespace

std::string pytorch_parameter_name(const std::string& kind, int64_t layer, bool reverse) {
  return kind + "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
}

RecurrentSpec infer_pytorch_recurrent_spec(const SafetensorsFile& file, const PytorchImportOptions& options) {
  const std::string ctx = where(file, options.prefix);
  std::map<std::string, const SafetensorsEntry*> params;  // name without the prefix
  std::vector<std::string> strangers;
  for (const SafetensorsEntry& e : file.entries()) {
    if (e.name.compare(0, options.prefix.size(), options.prefix) != 0) continue;
    const std::string rel = e.name.substr(options.prefix.size());
    if (parse_pytorch_name(rel)) {
      params[rel] = &e;
    } else {
      strangers.push_back(e.name);
    }
  }
  if (params.empty()) {
    const std::string hint = suggest_prefix(file);
    const bool hinted = !hint.empty() && hint != options.prefix;
    throw Error(ctx + ": no recurrent parameters (weight_ih_l0, weight_hh_l0, ...) found" +
                (hinted ? "; the tensors are under prefix '" + hint + "': pass --prefix " + hint : std::string()));
  }
  if (!strangers.empty()) {
    throw Error(ctx + ": '" + strangers.front() + "' is not a parameter of nn.LSTM, nn.GRU or nn.RNN (expected " +
                "weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k}, optionally _reverse)" +
                (strangers.size() > 1 ? "; " + std::to_string(strangers.size() - 1) + " more such tensors" : ""));
  }
  auto tensor = [&](const std::string& name) -> const SafetensorsEntry& {
    const auto it = params.find(name);
    if (it == params.end()) throw Error(ctx + ": missing tensor '" + options.prefix + name + "'");
    return *it->second;
  };
  auto matrix = [&](const std::string& name) -> const SafetensorsEntry& {
    const SafetensorsEntry& e = tensor(name);
    if (e.shape.size() != 2) {
      throw Error(ctx + ": '" + options.prefix + name + "' has shape " + shape_to_string(e.shape) +
                  ", expected a matrix");
    }
    return e;
  };
  int64_t layers = 0;
  bool reverse = false, projected = false;
  for (const auto& [name, entry] : params) {
    const ParsedName p = *parse_pytorch_name(name);
    layers = std::max(layers, p.layer + 1);
    reverse = reverse || p.reverse;
    projected = projected || p.kind == "weight_hr";
  }
  const SafetensorsEntry& w_hh = matrix("weight_hh_l0");
  RecurrentSpec spec;
  spec.bias = params.count("bias_ih_l0") != 0 || params.count("bias_hh_l0") != 0;  // bias=False: none
  spec.num_layers = layers;
  spec.bidirectional = reverse;
  spec.input_size = matrix("weight_ih_l0").shape[1];
  if (projected) {
    const SafetensorsEntry& w_hr = matrix("weight_hr_l0");
    spec.proj_size = w_hr.shape[0];
    spec.hidden_size = w_hr.shape[1];
  } else {
    spec.hidden_size = w_hh.shape[1];
  }
  const int64_t rows = w_hh.shape[0];
  if (spec.hidden_size < 1 || rows % spec.hidden_size != 0) {
    throw Error(ctx + ": weight_hh_l0 has shape " + shape_to_string(w_hh.shape) + ", expected [G*H, " +
                std::to_string(projected ? spec.proj_size : spec.hidden_size) +
                "] with G = 4 (LSTM), 3 (GRU) or 1 (RNN)");
  }
  const int64_t gates = rows / spec.hidden_size;
  if (gates == 4) {
    spec.cell = CellKind::lstm;
  } else if (gates == 3) {
    spec.cell = CellKind::gru;
  } else if (gates == 1) {
    spec.cell = options.rnn_nonlinearity.value_or(CellKind::rnn_tanh);
  } else {
    throw Error(ctx + ": weight_hh_l0 has shape " + shape_to_string(w_hh.shape) + ": " + std::to_string(gates) +
                " gate blocks of H=" + std::to_string(spec.hidden_size) + ", expected 4 (LSTM), 3 (GRU) or 1 (RNN)");
  }
  if (projected && spec.cell != CellKind::lstm) {
    throw Error(ctx + ": weight_hr_l0 (a projection) belongs to an LSTM, but weight_hh_l0 has " +
                std::to_string(gates) + " gate blocks");
  }
  if (options.rnn_nonlinearity && gates != 1) {
    throw Error(ctx + ": a nonlinearity was given, but the module is an " + cell_name(spec.cell) +
                " (only nn.RNN has tanh or relu)");
  }
  spec.validate();
  // Every parameter the architecture has, with its shape, and nothing else: L, D and the
  // projection were taken from the names themselves, but biases from layer 0's alone.
  const std::vector<RecurrentParameter> expected = recurrent_parameters(spec);
  for (const auto& [name, entry] : params) {
    const ParsedName p = *parse_pytorch_name(name);
    if (!spec.bias && (p.kind == "bias_ih" || p.kind == "bias_hh")) {
      throw Error(ctx + ": '" + options.prefix + name +
                  "' is a bias, but layer 0 has none (bias=False): " + "a module has biases in every layer or in none");
    }
  }
  for (const RecurrentParameter& p : expected) {
    const std::string name = pytorch_parameter_name(p.kind, p.layer, p.reverse);
    const SafetensorsEntry& e = tensor(name);
    if (e.shape != p.shape) {
      throw Error(ctx + ": '" + options.prefix + name + "' has shape " + shape_to_string(e.shape) + ", expected " +
                  shape_to_string(p.shape) + " for a " + cell_name(spec.cell) +
                  " with I=" + std::to_string(spec.input_size) + ", H=" + std::to_string(spec.hidden_size) +
                  (spec.proj_size > 0 ? ", P=" + std::to_string(spec.proj_size) : "") + ", " +
                  std::to_string(spec.num_layers) + " layer(s), " + std::to_string(spec.directions()) +
                  " direction(s)");
    }
    if (e.dtype != "F32" && e.dtype != "F64" && e.dtype != "F16" && e.dtype != "BF16") {
      throw Error(ctx + ": '" + options.prefix + name + "' has dtype " + e.dtype + ", expected a floating-point type");
    }
  }
  return spec;
}

RecurrentModel import_pytorch(const SafetensorsFile& file, const PytorchImportOptions& options) {
  const RecurrentSpec spec = infer_pytorch_recurrent_spec(file, options);
  const bool f64 = file.at(options.prefix + "weight_ih_l0").dtype == "F64";
  const std::string scope = options.scope.empty() ? cell_name(spec.cell) : options.scope;
  RecurrentModel model{VariableStore(0, f64 ? DType::f64 : DType::f32), scope, spec, {}};
  {
    auto guard = model.store.scope(scope);
    create_recurrent_variables(model.store, spec, {.preset = Preset::pytorch});  // PyTorch's own init, then overwritten
  }
  RestoreOptions restore;
  restore.include = {scope + "/**"};
  for (const RecurrentParameter& p : recurrent_parameters(spec)) {
    restore.renames.emplace_back(options.prefix + pytorch_parameter_name(p.kind, p.layer, p.reverse),
                                 scope + "/" + p.name);
  }
  restore_checkpoint(model.store, file, restore);  // strict: all or nothing
  for (const auto& [from, to] : restore.renames) model.store.set_source(to, "pytorch " + file.origin() + ":" + from);
  return model;
}

std::vector<SafetensorsTensor> export_pytorch(const RecurrentModel& model, const std::string& prefix) {
  if (model.spec.cell == CellKind::gru && model.options.cell.gru_reset == GruReset::before) {
    throw Error("export to PyTorch: the GRU '" + model.scope +
                "' applies its reset before the recurrent product (TF1 GRUCell, Keras reset_after=False); "
                "PyTorch's nn.GRU applies it after, so its weights would compute something else");
  }
  if (model.options.merge != BidirectionalMerge::concat) {
    throw Error(std::string("export to PyTorch: the layer merges its directions by ") +
                merge_name(model.options.merge) + "; PyTorch's modules only concatenate them");
  }
  const std::string unsupported = pytorch_unsupported(model.spec, model.options.cell);
  if (!unsupported.empty()) {
    throw Error("export to PyTorch: the layer '" + model.scope + "' has " + unsupported +
                ", which nn.LSTM / nn.GRU / nn.RNN cannot compute");
  }
  std::vector<SafetensorsTensor> out;
  for (const RecurrentParameter& p : recurrent_parameters(model.spec)) {
    const Variable& v = model.store.at(model.scope + "/" + p.name);
    const std::string name = prefix + pytorch_parameter_name(p.kind, p.layer, p.reverse);
    if (model.store.dtype() == DType::f64) {
      out.push_back(safetensors_tensor(name, model.store.value<double>(v)));
    } else {
      out.push_back(safetensors_tensor(name, model.store.value<float>(v)));
    }
  }
  return out;
}

}  // namespace rnnkit

// Saving a store as a self-describing safetensors file and restoring it; see checkpoint.h.
#include "rnnkit/checkpoint/checkpoint.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "rnnkit/core/error.h"
#include "rnnkit/core/version.h"
#include "rnnkit/variables/glob.h"

namespace rnnkit {
namespace {

bool selected(const std::string& name, const RestoreOptions& options) {
  const auto matches = [&](const std::vector<std::string>& globs) {
    return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return glob_match(g, name); });
  };
  return (options.include.empty() || matches(options.include)) && !matches(options.exclude);
}

bool is_prefix_rename(const std::string& from) { return !from.empty() && from.back() == '/'; }

// Applies the rename map to a checkpoint name; marks the entry used.
std::string map_name(const std::string& name, const RestoreOptions& options, std::vector<bool>& used) {
  for (std::size_t i = 0; i < options.renames.size(); ++i) {
    const auto& [from, to] = options.renames[i];
    if (!is_prefix_rename(from) && from == name) {
      used[i] = true;
      return to;
    }
  }
  std::size_t best = options.renames.size();
  for (std::size_t i = 0; i < options.renames.size(); ++i) {
    const std::string& from = options.renames[i].first;
    if (is_prefix_rename(from) && name.compare(0, from.size(), from) == 0 &&
        (best == options.renames.size() || from.size() > options.renames[best].first.size())) {
      best = i;
    }
  }
  if (best == options.renames.size()) return name;
  used[best] = true;
  return options.renames[best].second + name.substr(options.renames[best].first.size());
}

}  // namespace

void save_checkpoint(const VariableStore& store, const std::string& path, const SaveOptions& options) {
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  std::vector<SafetensorsTensor> tensors;
  for (const Variable& v : store.variables()) {
    if (!options.include.empty() && std::none_of(options.include.begin(), options.include.end(),
                                                 [&](const std::string& g) { return glob_match(g, v.name); })) {
      continue;
    }
    nlohmann::ordered_json info;
    info["init"] = v.init_spec;
    info["trainable"] = v.trainable;
    if (!v.gate_letters.empty()) info["gates"] = v.gate_letters;
    if (v.hidden_size > 0) info["hidden_size"] = v.hidden_size;
    info["source"] = v.source;
    variables[v.name] = info;
    tensors.push_back(store.dtype() == DType::f32 ? safetensors_tensor(v.name, store.value<float>(v))
                                                  : safetensors_tensor(v.name, store.value<double>(v)));
  }
  for (const SafetensorsTensor& t : options.state_tensors) {
    if (!is_state_tensor_name(t.name)) {
      throw Error("save '" + path + "': state tensor '" + t.name + "' must have a name beginning with '@'");
    }
    tensors.push_back(t);
  }
  std::map<std::string, std::string> metadata = options.extra_metadata;
  metadata["format"] = "rnnkit";
  metadata["rnnkit.version"] = kVersion;
  metadata["rnnkit.seed"] = std::to_string(store.seed());
  metadata["rnnkit.variables"] = variables.dump();
  if (!options.model_json.empty()) metadata["rnnkit.model"] = options.model_json;
  write_safetensors(path, tensors, metadata);
}

std::pair<std::string, std::string> parse_rename(const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() || text.find('=', eq + 1) != std::string::npos) {
    throw Error("rename '" + text + "': expected OLD=NEW (a name, or a prefix ending in '/')");
  }
  std::string from = text.substr(0, eq), to = text.substr(eq + 1);
  if (is_prefix_rename(from) != is_prefix_rename(to)) {
    throw Error("rename '" + text + "': a prefix rename needs '/' at the end of both sides");
  }
  return {from, to};
}

RestoreReport restore_checkpoint(VariableStore& store, const SafetensorsFile& file, const RestoreOptions& options) {
  RestoreReport report;
  std::vector<bool> used(options.renames.size(), false);
  std::map<std::string, const SafetensorsEntry*> source_of;  // store name -> checkpoint entry
  std::map<std::string, std::string> claimed_by;
  for (const SafetensorsEntry& entry : file.entries()) {
    if (is_state_tensor_name(entry.name)) continue;
    const std::string target = map_name(entry.name, options, used);
    if (!selected(target, options)) {
      report.skipped.push_back(entry.name);
      continue;
    }
    if (const auto it = claimed_by.find(target); it != claimed_by.end()) {
      throw Error("restore from '" + file.origin() + "': checkpoint tensors '" + it->second + "' and '" + entry.name +
                  "' both map to '" + target + "'");
    }
    claimed_by[target] = entry.name;
    if (store.find(target) == nullptr) {
      report.unexpected.push_back(entry.name + (target != entry.name ? " (as " + target + ")" : ""));
    } else {
      source_of[target] = &entry;
    }
  }
  for (std::size_t i = 0; i < used.size(); ++i) {
    if (!used[i]) report.unused_renames.push_back(options.renames[i].first + "=" + options.renames[i].second);
  }
  std::vector<std::pair<const Variable*, const SafetensorsEntry*>> plan;
  for (const Variable& v : store.variables()) {
    if (!selected(v.name, options)) continue;
    const auto it = source_of.find(v.name);
    if (it == source_of.end()) {
      report.missing.push_back(v.name);
      continue;
    }
    const SafetensorsEntry& entry = *it->second;
    const bool is_float = entry.dtype == "F32" || entry.dtype == "F64" || entry.dtype == "F16" || entry.dtype == "BF16";
    if (entry.shape != v.shape || !is_float) {
      report.shape_mismatched.push_back(v.name + ": checkpoint '" + entry.name + "' is " +
                                        shape_to_string(entry.shape) + " " + entry.dtype + ", the variable is " +
                                        shape_to_string(v.shape) + " " + dtype_name(store.dtype()));
      continue;
    }
    plan.emplace_back(&v, &entry);
  }
  if (options.strict && !report.complete()) {
    throw Error("restore from '" + file.origin() + "' (strict) failed; nothing was loaded:\n" + report.summary());
  }
  for (const auto& [v, entry] : plan) {
    if (store.dtype() == DType::f32) {
      const Tensor<float> values = file.to_float(*entry);
      std::copy(values.data(), values.data() + values.numel(), store.value<float>(*v).data());
    } else {
      const Tensor<double> values = file.to_double(*entry);
      std::copy(values.data(), values.data() + values.numel(), store.value<double>(*v).data());
    }
    store.set_source(v->name, "checkpoint " + file.origin() + ":" + entry->name);
    report.loaded.emplace_back(v->name, entry->name);
  }
  return report;
}

RestoreReport restore_checkpoint(VariableStore& store, const std::string& path, const RestoreOptions& options) {
  return restore_checkpoint(store, SafetensorsFile::read(path), options);
}

std::string RestoreReport::summary() const {
  std::string out;
  for (const std::string& n : missing) out += "  missing in checkpoint: " + n + "\n";
  for (const std::string& n : unexpected) out += "  not in the store: " + n + "\n";
  for (const std::string& n : shape_mismatched) out += "  shape mismatch: " + n + "\n";
  for (const std::string& n : unused_renames) out += "  rename matched nothing: " + n + "\n";
  out += "  loaded " + std::to_string(loaded.size()) + ", missing " + std::to_string(missing.size()) + ", unexpected " +
         std::to_string(unexpected.size()) + ", shape mismatches " + std::to_string(shape_mismatched.size()) +
         ", skipped " + std::to_string(skipped.size()) + ", unused renames " + std::to_string(unused_renames.size());
  return out;
}

std::map<std::string, StoredVariableInfo> stored_variable_info(const SafetensorsFile& file) {
  std::map<std::string, StoredVariableInfo> out;
  const auto it = file.metadata().find("rnnkit.variables");
  if (it == file.metadata().end()) return out;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw Error("safetensors file '" + file.origin() + "': metadata rnnkit.variables is not valid JSON: " + e.what());
  }
  if (!j.is_object())
    throw Error("safetensors file '" + file.origin() + "': metadata rnnkit.variables is not an object");
  for (const auto& [name, info] : j.items()) {
    if (!info.is_object()) continue;
    StoredVariableInfo v;
    if (info.contains("init") && info["init"].is_string()) v.init_spec = info["init"].get<std::string>();
    if (info.contains("gates") && info["gates"].is_string()) v.gate_letters = info["gates"].get<std::string>();
    if (info.contains("hidden_size") && info["hidden_size"].is_number_integer()) {
      v.hidden_size = info["hidden_size"].get<int64_t>();
    }
    if (info.contains("trainable") && info["trainable"].is_boolean()) v.trainable = info["trainable"].get<bool>();
    if (info.contains("source") && info["source"].is_string()) v.source = info["source"].get<std::string>();
    out[name] = v;
  }
  return out;
}

}  // namespace rnnkit

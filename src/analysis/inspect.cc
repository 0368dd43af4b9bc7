// Inspecting checkpoints; see inspect.h.
#include "rnnkit/analysis/inspect.h"

#include <algorithm>
#include <regex>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/cell_kind.h"

namespace rnnkit {
namespace {

// Gate letters for a tensor of a file without rnnkit metadata, from its weight_hh sibling.
std::string infer_gate_letters(const SafetensorsFile& file, const SafetensorsEntry& entry) {
  static const std::regex kFused(R"((weight_ih|weight_hh|bias_ih|bias_hh))");
  std::smatch match;
  if (!std::regex_search(entry.name, match, kFused)) return "";
  std::string sibling = entry.name;
  sibling.replace(static_cast<std::size_t>(match.position(0)), static_cast<std::size_t>(match.length(0)), "weight_hh");
  const SafetensorsEntry* hh = file.find(sibling);
  if (hh == nullptr || hh->shape.size() != 2 || hh->shape[1] == 0 || hh->shape[0] % hh->shape[1] != 0) return "";
  const int64_t g = hh->shape[0] / hh->shape[1];
  if (entry.shape.empty() || entry.shape[0] != hh->shape[0]) return "";
  if (g == 4) return std::string(kLstmGates);
  if (g == 3) return std::string(kGruGates);
  return "";
}

bool is_numeric(const std::string& dtype) { return dtype != "F8_E4M3" && dtype != "F8_E5M2"; }

}  // namespace

InspectReport inspect_checkpoint(const SafetensorsFile& file) {
  InspectReport report;
  report.origin = file.origin();
  report.metadata = file.metadata();
  report.metadata.erase("rnnkit.variables");
  report.metadata.erase(kChecksumMetadataKey);
  report.checksums = verify_tensor_checksums(file);
  const std::map<std::string, StoredVariableInfo> info = stored_variable_info(file);
  // Rows in the file's data order: the order the writer chose (for rnnkit, creation order).
  std::vector<const SafetensorsEntry*> ordered;
  for (const SafetensorsEntry& entry : file.entries()) {
    if (is_state_tensor_name(entry.name)) {
      ++report.state_tensors;
    } else {
      ordered.push_back(&entry);
    }
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (const SafetensorsEntry* entry_ptr : ordered) {
    const SafetensorsEntry& entry = *entry_ptr;
    InspectRow row;
    row.name = entry.name;
    row.shape = entry.shape;
    row.dtype = entry.dtype;
    std::string letters;
    if (const auto it = info.find(entry.name); it != info.end()) {
      row.init_spec = it->second.init_spec;
      row.source = it->second.source;
      row.trainable = it->second.trainable;
      letters = it->second.gate_letters;
    } else {
      letters = infer_gate_letters(file, entry);
    }
    if (is_numeric(entry.dtype)) {
      const Tensor<double> values = file.to_double(entry);
      row.stats = compute_weight_stats(values.view());
      row.gates = compute_gate_stats(values.view(), letters);
    }
    report.rows.push_back(std::move(row));
  }
  return report;
}

}  // namespace rnnkit

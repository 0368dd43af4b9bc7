// The transfer report; see train/transfer_report.h.
#include "rnnkit/train/transfer_report.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace rnnkit {

TransferReport make_transfer_report(const VariableStore& store, const std::string& checkpoint,
                                    const RestoreReport* restore) {
  TransferReport report;
  report.checkpoint = checkpoint;
  for (const Variable& v : store.variables()) {
    const bool loaded = !v.source.empty() && v.source != "init";
    report.variables.push_back({v.name, v.shape,
                                loaded ? v.source : "init " + v.init_spec + ", seed " + std::to_string(store.seed()),
                                v.trainable});
  }
  if (restore != nullptr) {
    for (const std::string& name : restore->unexpected)
      report.unused.push_back(name + ": no such variable in the model");
    for (const std::string& name : restore->skipped) report.unused.push_back(name + ": left out by include/exclude");
    for (const std::string& name : restore->shape_mismatched) report.unused.push_back(name);
  }
  return report;
}

std::string TransferReport::to_text() const {
  std::size_t name_width = 8, shape_width = 5;
  for (const Entry& e : variables) {
    name_width = std::max(name_width, e.name.size());
    shape_width = std::max(shape_width, shape_to_string(e.shape).size());
  }
  auto pad = [](std::string s, std::size_t width) {
    s.resize(std::max(width, s.size()) + 2, ' ');
    return s;
  };
  std::string out = "transfer from " + (checkpoint.empty() ? std::string("(none)") : checkpoint) + "\n";
  out += pad("variable", name_width) + pad("shape", shape_width) + pad("frozen", 6) + "value from\n";
  for (const Entry& e : variables) {
    out += pad(e.name, name_width) + pad(shape_to_string(e.shape), shape_width) + pad(e.trainable ? "no" : "yes", 6) +
           e.source + "\n";
  }
  if (!checkpoint.empty()) {
    out += unused.empty() ? "every checkpoint tensor was used\n"
                          : "checkpoint tensors not used (" + std::to_string(unused.size()) + "):\n";
    for (const std::string& u : unused) out += "  " + u + "\n";
  }
  return out;
}

std::string TransferReport::to_json() const {
  nlohmann::ordered_json j;
  j["checkpoint"] = checkpoint;
  j["variables"] = nlohmann::ordered_json::array();
  for (const Entry& e : variables) {
    j["variables"].push_back({{"name", e.name}, {"shape", e.shape}, {"source", e.source}, {"frozen", !e.trainable}});
  }
  j["unused"] = unused;
  return j.dump(2) + "\n";
}

}  // namespace rnnkit

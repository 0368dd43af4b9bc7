// Inspecting a TensorFlow checkpoint: every variable with its statistics, and for the
// tensors of recognized cells the per-gate blocks in rnnkit's gate order; see inspect.h.
#include <algorithm>

#include "rnnkit/analysis/inspect.h"
#include "rnnkit/core/cell_kind.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/tf1.h"

namespace rnnkit {
namespace {

// The column blocks of a cell tensor in the framework's order, spelled in rnnkit's letters
// (TF1 LSTM kernel "igfo": i, j = g, f, o), or "" for a tensor without gate blocks. Names are
// read as TF1 names of every era (formats/tf1.h); a tf.keras cell shows by its recurrent_kernel.
std::string framework_gates(const TfCheckpoint& checkpoint, const TfVariable& v) {
  const std::string name = canonical_tf1_name(v.name);
  const std::size_t slash = name.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
  const std::string last = name.substr(slash + 1);
  if (last == "kernel" || last == "recurrent_kernel" || last == "bias") {
    // tf.keras: G from the recurrent kernel [H, G*H] beside it.
    std::string keras_dir = v.name.substr(0, v.name.rfind('/') + 1);
    if (const TfVariable* r = checkpoint.find(keras_dir + "recurrent_kernel");
        r != nullptr && r->shape.size() == 2 && r->shape[0] > 0 && r->shape[1] % r->shape[0] == 0) {
      const int64_t g = r->shape[1] / r->shape[0];
      return g == 4 ? "ifgo" : g == 3 ? "zrn" : g == 1 ? "h" : "";
    }
  }
  auto under = [&](const char* cls) {
    return dir.ends_with(std::string("/") + cls + "/") || dir == std::string(cls) + "/";
  };
  const bool lstm = under("lstm_cell") || under("basic_lstm_cell") || under("lstm_fused_cell") ||
                    under("lstm_block_wrapper") || under("cudnn_compatible_lstm_cell");
  if (lstm && (last == "kernel" || last == "bias")) return "igfo";
  if ((under("basic_rnn_cell")) && (last == "kernel" || last == "bias")) return "h";
  if (dir.ends_with("/gates/") && (last == "kernel" || last == "bias")) return "rz";
  if (dir.ends_with("/candidate/") || dir.ends_with("/input_projection/") || dir.ends_with("/hidden_projection/")) {
    return last == "kernel" || last == "bias" ? "n" : "";
  }
  return "";
}

// Statistics of the G column blocks of a [..., G*H] tensor, in rnnkit's gate order.
std::vector<GateStats> column_gate_stats(const Tensor<double>& t, const std::string& letters) {
  if (letters.size() < 2 || t.rank() < 1) return {};
  const int64_t cols = t.dim(t.rank() - 1), rows = t.numel() / std::max<int64_t>(cols, 1);
  const auto g = static_cast<int64_t>(letters.size());
  if (cols == 0 || cols % g != 0) return {};
  const int64_t h = cols / g;
  std::vector<GateStats> out;
  for (int64_t k = 0; k < g; ++k) {
    Tensor<double> block(t.rank() == 1 ? Shape{h} : Shape{rows, h});  // a bias block stays a vector
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < h; ++j) block[r * h + j] = t[r * cols + k * h + j];
    }
    out.push_back({letters[static_cast<std::size_t>(k)], compute_weight_stats(block.view())});
  }
  // rnnkit's order: LSTM i, f, g, o; GRU r, z, n.
  const std::string order = letters.find('i') != std::string::npos ? std::string(kLstmGates) : std::string(kGruGates);
  std::stable_sort(out.begin(), out.end(),
                   [&](const GateStats& a, const GateStats& b) { return order.find(a.gate) < order.find(b.gate); });
  return out;
}

}  // namespace

InspectReport inspect_tf_checkpoint(const TfCheckpoint& checkpoint) {
  InspectReport report;
  report.origin = checkpoint.prefix();
  report.metadata["format"] = checkpoint.format() == TfCheckpointFormat::v1 ? "TensorFlow V1 checkpoint"
                              : checkpoint.object_based()                   ? "TensorFlow 2 object-based checkpoint"
                                                                            : "TensorFlow checkpoint (tensor bundle)";
  if (!checkpoint.resolution().empty()) report.metadata["found as"] = checkpoint.resolution();
  report.metadata["note"] =
      "a checkpoint holds no initializers: the statistics are the answer; gate rows are in rnnkit's order "
      "(i, f, g, o; r, z, n), TF1's j is g and its u is z; TF1 LSTMs add forget_bias (1.0) at run time";
  for (const TfVariable& v : checkpoint.variables()) {
    InspectRow row;
    row.name = v.name;
    row.shape = v.shape;
    row.dtype = v.dtype;
    if (v.key != v.name) row.source = "tf key " + v.key;
    if (v.role != TfVariableRole::weight) row.init_spec = std::string("(") + tf_variable_role_name(v.role) + ")";
    if (v.slices > 0) {
      row.init_spec +=
          (row.init_spec.empty() ? "" : " ") + std::string("partitioned in ") + std::to_string(v.slices) + " slices";
    }
    if (v.dtype != "STRING" && v.dtype.rfind("COMPLEX", 0) != 0 && v.dtype.rfind("DT_", 0) != 0 &&
        v.dtype != "RESOURCE" && v.dtype != "VARIANT" && v.dtype.rfind('Q', 0) != 0) {
      const Tensor<double> values = checkpoint.values(v);
      row.stats = compute_weight_stats(values.view());
      if (v.role == TfVariableRole::weight) row.gates = column_gate_stats(values, framework_gates(checkpoint, v));
    } else {
      row.stats.count = shape_numel(v.shape);
    }
    report.rows.push_back(std::move(row));
  }
  // A bundle's tensors each carry a crc32c, verified as each was read above (or at open, for
  // the object graph); V1 files have block checksums only.
  report.checksums.recorded = checkpoint.format() == TfCheckpointFormat::bundle;
  if (report.checksums.recorded) {
    for (const TfVariable& v : checkpoint.variables()) {
      report.checksums.tensors.push_back({v.name, TensorChecksum::Status::ok, 0, 0});
    }
  }
  return report;
}

}  // namespace rnnkit

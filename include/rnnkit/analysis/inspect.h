// Inspecting a checkpoint: one row per tensor with its statistics and, where rnnkit
// wrote it, its initializer spec; per-gate rows for fused recurrent tensors.
//
// Gate structure comes from rnnkit's metadata, or, for other files (PyTorch state
// dicts), from the names: a tensor named like weight_ih / weight_hh / bias_ih /
// bias_hh (rnnkit's `.../weight_hh` or PyTorch's `weight_hh_l0`) whose sibling
// weight_hh is [G*H, H] with G = 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rnnkit/analysis/weight_stats.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/checkpoint/tensor_checksums.h"
#include "rnnkit/formats/tf_checkpoint.h"

namespace rnnkit {

struct InspectRow {
  std::string name;
  Shape shape;
  std::string dtype;
  std::string init_spec;  // empty when the file does not say
  std::string source;     // where rnnkit says the value came from, if it says
  bool trainable = true;
  WeightStats stats;
  std::vector<GateStats> gates;
};

struct InspectReport {
  std::string origin;
  std::map<std::string, std::string> metadata;  // rnnkit.variables and rnnkit.crc32c left out
  ChecksumReport checksums;                     // each tensor against rnnkit.crc32c, if recorded
  std::vector<InspectRow> rows;
  int64_t state_tensors = 0;  // training state ('@' names: optimizer slots...), not shown as rows
};

InspectReport inspect_checkpoint(const SafetensorsFile& file);

// A TensorFlow checkpoint: one row per variable (its name; the raw key as the source where
// they differ; optimizer slots, counters and the object graph marked as such), with gate rows
// for the kernels and biases of recognized cells (TF1 cells of every era, tf.keras cells)
// in rnnkit's gate order. Every value read is checked against its crc32c (Error on a mismatch).
InspectReport inspect_tf_checkpoint(const TfCheckpoint& checkpoint);

}  // namespace rnnkit

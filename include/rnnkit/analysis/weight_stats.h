// Statistics of weights: the numbers behind "how were my weights initialized?".
//
// mean, std (population, divisor n), min, max over all elements, and for matrices
// (rank 2) the largest singular value sigma_max, by Golub-Kahan-Lanczos bidiagonalization
// with full reorthogonalization from a fixed start vector (deterministic), stopped when the
// estimate changes by less than 1e-13 relative or after min(rows, cols, 256) steps.
// Computed in double whatever the storage type.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rnnkit/core/tensor.h"

namespace rnnkit {

struct WeightStats {
  int64_t count = 0;
  double mean = 0.0;
  double std = 0.0;
  double min = 0.0;
  double max = 0.0;
  std::optional<double> sigma_max;  // matrices only
};

WeightStats compute_weight_stats(TensorView<const double> values);

double largest_singular_value(TensorView<const double> matrix);

// Statistics of a fused gate tensor's blocks along dim 0, labelled by gate letter.
struct GateStats {
  char gate = '?';
  WeightStats stats;
};
std::vector<GateStats> compute_gate_stats(TensorView<const double> values, const std::string& gate_letters);

}  // namespace rnnkit

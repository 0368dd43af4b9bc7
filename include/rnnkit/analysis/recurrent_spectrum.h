// The spectrum of a recurrent layer's recurrent matrices, per gate block: the largest and
// smallest singular values of each [H, R] block of weight_hh (analysis/singular_values.h).
// sigma_max bounds how much one step can amplify a state change through that block;
// sigma_min how much it can shrink it. Orthogonal blocks have both at 1; a block with
// sigma_max < 1 (for a tanh RNN, whose derivative is at most 1) makes gradients vanish
// geometrically whatever the inputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnnkit/layers/recurrent_spec.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

struct BlockSpectrum {
  int64_t layer = 0;
  bool reverse = false;
  char gate = '?';  // LSTM i, f, g, o; GRU r, z, n; RNN h
  double sigma_max = 0.0;
  double sigma_min = 0.0;
};

// Every layer and direction of the layer under `scope` in `store` (float64). Throws Error
// naming a missing or misshapen variable, or for a float32 store.
std::vector<BlockSpectrum> recurrent_spectra(const VariableStore& store, const std::string& scope,
                                             const RecurrentSpec& spec);

}  // namespace rnnkit

// A naive, obviously-correct recurrent layer for tests: one sequence at a time, one step
// at a time, matrix-vector products as plain loops in double, straight from the equations
// in lstm_cell.h, gru_cell.h and rnn_cell.h. Same inputs, outputs and semantics as
// RecurrentLayer (recurrent_layer.h); slow on purpose.
#pragma once

#include <span>
#include <string>

#include "rnnkit/layers/recurrent_layer.h"

namespace rnnkit {

// Reads the variables under `scope` from `store` (float32 or float64) and computes the
// forward pass in double. Inputs are time-major unless options.batch_first. Applies
// options.merge; dropout is not modelled (the reference is the eval-mode layer).
RecurrentResult<double> reference_recurrent_forward(const VariableStore& store, const std::string& scope,
                                                    const RecurrentSpec& spec, const RecurrentLayerOptions& options,
                                                    TensorView<const double> input,
                                                    std::span<const int64_t> lengths = {},
                                                    TensorView<const double> h0 = {}, TensorView<const double> c0 = {});

}  // namespace rnnkit

// How a recurrent layer runs: its cells' equations (cell_options.h), the input layout, how a
// bidirectional layer's output combines its directions, and dropout between stacked layers.
// None of these change the layer's parameters (recurrent_spec.h has what does).
#pragma once

#include <string>

#include "rnnkit/layers/cell_options.h"
#include "rnnkit/layers/recurrent_spec.h"

namespace rnnkit {

// How a bidirectional layer's last output combines its two directions.
enum class BidirectionalMerge { concat, sum, mul, ave };

const char* merge_name(BidirectionalMerge merge);
// The inverse of merge_name ("concat", "sum", "mul", "ave"); throws Error listing them.
BidirectionalMerge parse_merge(const std::string& name);

struct RecurrentLayerOptions {
  CellOptions cell;
  bool batch_first = false;
  BidirectionalMerge merge = BidirectionalMerge::concat;  // bidirectional only
  double dropout = 0.0;                                   // in [0, 1): between layers, while training

  bool operator==(const RecurrentLayerOptions&) const = default;
};

// Throws Error naming the option that does not fit the spec: a merge other than concat on one
// direction, dropout outside [0, 1), a GRU reset form on another cell, a recurrent activation
// or an activation on an RNN (it has no gates; its activation is its cell kind, rnn_tanh or
// rnn_relu), cell_clip on another cell than an LSTM, proj_clip without a projection, a clip that
// is negative or not finite.
void check_recurrent_options(const RecurrentSpec& spec, const RecurrentLayerOptions& options);

}  // namespace rnnkit

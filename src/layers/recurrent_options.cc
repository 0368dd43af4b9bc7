// Recurrent layer options: merge names and the check against a spec; see recurrent_options.h.
#include "rnnkit/layers/recurrent_options.h"

#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/init/spec.h"

namespace rnnkit {

const char* merge_name(BidirectionalMerge merge) {
  switch (merge) {
    case BidirectionalMerge::concat: return "concat";
    case BidirectionalMerge::sum: return "sum";
    case BidirectionalMerge::mul: return "mul";
    case BidirectionalMerge::ave: return "ave";
  }
  return "?";
}

BidirectionalMerge parse_merge(const std::string& name) {
  for (BidirectionalMerge m :
       {BidirectionalMerge::concat, BidirectionalMerge::sum, BidirectionalMerge::mul, BidirectionalMerge::ave}) {
    if (name == merge_name(m)) return m;
  }
  throw Error("unknown bidirectional merge '" + name + "'; expected one of concat, sum, mul, ave");
}

void check_recurrent_options(const RecurrentSpec& spec, const RecurrentLayerOptions& options) {
  const std::string cell = cell_name(spec.cell);
  if (options.merge != BidirectionalMerge::concat && !spec.bidirectional) {
    throw Error(std::string("merge '") + merge_name(options.merge) +
                "' needs a bidirectional layer; this one has one direction");
  }
  if (!(options.dropout >= 0.0 && options.dropout < 1.0)) {
    throw Error("dropout is " + std::to_string(options.dropout) + ", expected a value in [0, 1)");
  }
  const CellOptions& c = options.cell;
  if (c.gru_reset != GruReset::after && spec.cell != CellKind::gru) {
    throw Error("gru_reset 'before' applies to a GRU only; the cell is " + cell);
  }
  const bool rnn = spec.cell == CellKind::rnn_tanh || spec.cell == CellKind::rnn_relu;
  if (!c.recurrent_activation.is_sigmoid() && rnn) {
    throw Error("recurrent_activation " + c.recurrent_activation.spec() + " applies to the gates of an LSTM or GRU; " +
                cell + " has no gates");
  }
  if (rnn && c.activation != CellActivation::tanh) {
    throw Error(std::string("activation ") + cell_activation_name(c.activation) +
                " applies to an LSTM or GRU; an RNN's activation is its cell kind (rnn_tanh or rnn_relu), here " +
                cell);
  }
  for (const auto& [name, value] : {std::pair{"cell_clip", c.cell_clip}, std::pair{"proj_clip", c.proj_clip},
                                    std::pair{"gate_clip", c.gate_clip}}) {
    if (!(value >= 0.0 && std::isfinite(value))) {
      throw Error(std::string(name) + " is " + format_spec_number(value) + ", expected 0 (none) or a positive number");
    }
  }
  if (c.cell_clip > 0.0 && spec.cell != CellKind::lstm) {
    throw Error("cell_clip clips an LSTM's cell state; the cell is " + cell);
  }
  if (c.proj_clip > 0.0 && spec.proj_size == 0) {
    throw Error("proj_clip clips an LSTM's projection; this layer has none (proj_size 0)");
  }
}

}  // namespace rnnkit

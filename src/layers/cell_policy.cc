// The cell policy of a spec and options; see cell_policy.h.
#include "rnnkit/layers/cell_policy.h"

#include "rnnkit/layers/gru_cell.h"
#include "rnnkit/layers/lstm_cell.h"
#include "rnnkit/layers/rnn_cell.h"

namespace rnnkit {

template <class T>
std::unique_ptr<CellPolicy<T>> make_cell_policy(const RecurrentSpec& spec, const CellOptions& options) {
  switch (spec.cell) {
    case CellKind::lstm: return std::make_unique<LstmCell<T>>(spec, options);
    case CellKind::gru:
      if (options.gru_reset == GruReset::after) return std::make_unique<GruResetAfterCell<T>>(spec, options);
      return std::make_unique<GruResetBeforeCell<T>>(spec, options);
    case CellKind::rnn_tanh:
    case CellKind::rnn_relu: return std::make_unique<RnnCell<T>>(spec, options);
  }
  throw Error("cell policy: unknown cell kind");
}

template std::unique_ptr<CellPolicy<float>> make_cell_policy<float>(const RecurrentSpec&, const CellOptions&);
template std::unique_ptr<CellPolicy<double>> make_cell_policy<double>(const RecurrentSpec&, const CellOptions&);

}  // namespace rnnkit

// Cell kinds, names and gate orders; see cell_kind.h.
#include "rnnkit/core/cell_kind.h"

#include "rnnkit/core/error.h"

namespace rnnkit {

std::string_view gate_letters(CellKind cell) {
  switch (cell) {
    case CellKind::lstm: return kLstmGates;
    case CellKind::gru: return kGruGates;
    default: return "";
  }
}

int gate_count(CellKind cell) {
  switch (cell) {
    case CellKind::lstm: return 4;
    case CellKind::gru: return 3;
    default: return 1;
  }
}

const char* cell_name(CellKind cell) {
  switch (cell) {
    case CellKind::lstm: return "lstm";
    case CellKind::gru: return "gru";
    case CellKind::rnn_tanh: return "rnn_tanh";
    case CellKind::rnn_relu: return "rnn_relu";
  }
  return "?";
}

CellKind parse_cell_kind(std::string_view name) {
  for (CellKind cell : {CellKind::lstm, CellKind::gru, CellKind::rnn_tanh, CellKind::rnn_relu}) {
    if (name == cell_name(cell)) return cell;
  }
  throw Error("unknown cell '" + std::string(name) + "'; expected one of lstm, gru, rnn_tanh, rnn_relu");
}

}  // namespace rnnkit

// Cell kinds and their gate order: a contract every checkpoint relies on.
//
// Fused gate matrices stack the gates' blocks along dimension 0 in PyTorch's order:
//   LSTM     G = 4, gates i, f, g, o   (input, forget, cell candidate, output)
//   GRU      G = 3, gates r, z, n      (reset, update, new)
//   RNN      G = 1                     (tanh or relu)
// A peephole LSTM's weight_peephole [3, H] holds rows i, f, o.
// Changing these breaks every checkpoint; tests pin them.
#pragma once

#include <string>
#include <string_view>

namespace rnnkit {

enum class CellKind { lstm, gru, rnn_tanh, rnn_relu };

inline constexpr std::string_view kLstmGates = "ifgo";
inline constexpr std::string_view kGruGates = "rzn";
// A peephole LSTM's weight_peephole [3, H]: the diagonal weights of the gates that see the cell state.
inline constexpr std::string_view kPeepholeGates = "ifo";

// "ifgo", "rzn" or "" (a vanilla RNN has one block and no gate letters).
std::string_view gate_letters(CellKind cell);
// G: 4, 3 or 1.
int gate_count(CellKind cell);
// "lstm", "gru", "rnn_tanh", "rnn_relu".
const char* cell_name(CellKind cell);
// The inverse of cell_name; throws Error listing the valid names.
CellKind parse_cell_kind(std::string_view name);

}  // namespace rnnkit

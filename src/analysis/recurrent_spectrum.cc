// Recurrent matrix spectra; see analysis/recurrent_spectrum.h.
#include "rnnkit/analysis/recurrent_spectrum.h"

#include "rnnkit/analysis/singular_values.h"
#include "rnnkit/core/error.h"

namespace rnnkit {

std::vector<BlockSpectrum> recurrent_spectra(const VariableStore& store, const std::string& scope,
                                             const RecurrentSpec& spec) {
  if (store.dtype() != DType::f64) {
    throw Error(std::string("recurrent spectrum: the store holds ") + dtype_name(store.dtype()) +
                " variables, expected float64");
  }
  const int64_t H = spec.hidden_size, R = spec.recurrent_width();
  std::vector<BlockSpectrum> out;
  for (const RecurrentParameter& p : recurrent_parameters(spec)) {
    if (p.kind != "weight_hh") continue;
    const std::string name = scope.empty() ? p.name : scope + "/" + p.name;
    const Variable* v = store.find(name);
    if (v == nullptr) throw Error("recurrent spectrum: variable '" + name + "' is not in the store");
    if (v->shape != p.shape) {
      throw Error("recurrent spectrum: variable '" + name + "' has shape " + shape_to_string(v->shape) + ", expected " +
                  shape_to_string(p.shape));
    }
    const TensorView<const double> values = store.value<double>(*v);
    const std::string letters =
        spec.cell == CellKind::rnn_tanh || spec.cell == CellKind::rnn_relu ? "h" : p.gate_letters;
    for (std::size_t k = 0; k < letters.size(); ++k) {
      const TensorView<const double> block(values.data() + static_cast<int64_t>(k) * H * R, {H, R});
      const std::vector<double> sigma = singular_values(block);
      out.push_back({p.layer, p.reverse, letters[k], sigma.front(), sigma.back()});
    }
  }
  return out;
}

}  // namespace rnnkit

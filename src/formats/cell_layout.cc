// The frameworks' cell layouts and the one conversion; see formats/cell_layout.h.
#include "rnnkit/formats/cell_layout.h"

#include <array>

#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_variables.h"

namespace rnnkit {
namespace {

constexpr CellKind kRnn = CellKind::rnn_tanh;  // rnn_relu uses the same rows

constexpr std::array kLayouts = {
    CellLayout{Framework::pytorch, CellKind::lstm, GruReset::after, "ifgo", false, BiasStyle::separate},
    CellLayout{Framework::pytorch, CellKind::gru, GruReset::after, "rzn", false, BiasStyle::separate},
    CellLayout{Framework::pytorch, kRnn, GruReset::after, "h", false, BiasStyle::separate},
    CellLayout{Framework::keras, CellKind::lstm, GruReset::after, "ifgo", true, BiasStyle::single},
    CellLayout{Framework::keras, CellKind::gru, GruReset::after, "zrn", true, BiasStyle::stacked_rows},
    CellLayout{Framework::keras, CellKind::gru, GruReset::before, "zrn", true, BiasStyle::single},
    CellLayout{Framework::keras, kRnn, GruReset::after, "h", true, BiasStyle::single},
    CellLayout{Framework::onnx, CellKind::lstm, GruReset::after, "iofg", false, BiasStyle::concatenated, "iof"},
    CellLayout{Framework::onnx, CellKind::gru, GruReset::after, "zrn", false, BiasStyle::concatenated},
    CellLayout{Framework::onnx, CellKind::gru, GruReset::before, "zrn", false, BiasStyle::concatenated},
    CellLayout{Framework::onnx, kRnn, GruReset::after, "h", false, BiasStyle::concatenated},
    CellLayout{Framework::tf1, CellKind::lstm, GruReset::after, "igfo", true, BiasStyle::single, "ifo"},
    CellLayout{Framework::tf1, CellKind::gru, GruReset::before, "rzn", true, BiasStyle::single},
    CellLayout{Framework::tf1, kRnn, GruReset::after, "h", true, BiasStyle::single},
};

std::string_view rnnkit_gates(CellKind cell) {
  return cell == CellKind::lstm ? kLstmGates : cell == CellKind::gru ? kGruGates : "h";
}

Tensor<double> rows(const Tensor<double>& t, int64_t begin, int64_t count) {
  Tensor<double> out({count});
  std::copy(t.storage().begin() + begin, t.storage().begin() + begin + count, out.storage().begin());
  return out;
}

// A bias vector [G*H] as a [G*H, 1] matrix, to reorder it like a kernel's rows.
Tensor<double> reorder_vector(const Tensor<double>& v, int64_t hidden, std::string_view from, std::string_view to) {
  Tensor<double> r =
      reorder_gate_blocks(TensorView<const double>(v.storage().data(), {v.numel(), 1}), 0, hidden, from, to);
  return Tensor<double>({v.numel()}, std::move(r.storage()));
}

void expect_shape(const Tensor<double>& t, const Shape& expected, const std::string& what, const char* name) {
  if (t.shape() != expected) {
    throw Error(what + ": " + name + " has shape " + shape_to_string(t.shape()) + ", expected " +
                shape_to_string(expected));
  }
}

}  // namespace

const char* framework_name(Framework framework) {
  switch (framework) {
    case Framework::pytorch: return "pytorch";
    case Framework::keras: return "keras";
    case Framework::onnx: return "onnx";
    case Framework::tf1: return "tf1";
  }
  return "?";
}

std::span<const CellLayout> cell_layouts() { return kLayouts; }

const CellLayout& cell_layout(Framework framework, CellKind cell, GruReset reset) {
  const CellKind key = cell == CellKind::rnn_relu ? kRnn : cell;
  for (const CellLayout& l : kLayouts) {
    if (l.framework == framework && l.cell == key && (cell != CellKind::gru || l.reset == reset)) return l;
  }
  throw Error(std::string(framework_name(framework)) + " has no " + cell_name(cell) + " layout" +
              (cell == CellKind::gru ? std::string(" with the reset ") +
                                           (reset == GruReset::after ? "after" : "before") + " the recurrent product"
                                     : ""));
}

Tensor<double> reorder_gate_blocks(TensorView<const double> t, int axis, int64_t block, std::string_view from,
                                   std::string_view to) {
  if (t.rank() != 2 || (axis != 0 && axis != 1) || from.size() != to.size() ||
      t.dim(axis) != block * static_cast<int64_t>(from.size())) {
    throw Error("reorder gate blocks: a " + shape_to_string(t.shape()) + " tensor does not have " +
                std::to_string(from.size()) + " blocks of " + std::to_string(block) + " along dimension " +
                std::to_string(axis));
  }
  Tensor<double> out(t.shape());
  const int64_t rows = t.dim(0), cols = t.dim(1);
  for (std::size_t k = 0; k < to.size(); ++k) {
    const std::size_t source = from.find(to[k]);
    if (source == std::string_view::npos) {
      throw Error("reorder gate blocks: gate '" + std::string(1, to[k]) + "' is not in '" + std::string(from) + "'");
    }
    const auto dst = static_cast<int64_t>(k) * block, src = static_cast<int64_t>(source) * block;
    if (axis == 0) {
      std::copy(t.data() + src * cols, t.data() + (src + block) * cols, out.storage().begin() + dst * cols);
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        std::copy(t.data() + r * cols + src, t.data() + r * cols + src + block, out.storage().begin() + r * cols + dst);
      }
    }
  }
  return out;
}

CellWeights to_rnnkit(const CellLayout& layout, const FrameworkCellWeights& w, int64_t hidden,
                      const std::string& what) {
  const std::string_view ours = rnnkit_gates(layout.cell);
  const int64_t gh = hidden * static_cast<int64_t>(ours.size());
  auto matrix = [&](const Tensor<double>& k, const char* name) {
    if (k.rank() != 2 || k.dim(layout.transposed ? 1 : 0) != gh) {
      throw Error(what + ": " + name + " has shape " + shape_to_string(k.shape()) + ", expected " +
                  (layout.transposed ? "[in, " + std::to_string(gh) + "]" : "[" + std::to_string(gh) + ", in]") + " (" +
                  std::to_string(ours.size()) + " gates of H=" + std::to_string(hidden) + ")");
    }
    const Tensor<double> rowwise =
        layout.transposed ? transposed<double>(k.view()) : Tensor<double>(k.shape(), k.storage());
    return reorder_gate_blocks(rowwise.view(), 0, hidden, layout.gates, ours);
  };
  CellWeights out;
  out.weight_ih = matrix(w.kernel, "kernel");
  out.weight_hh = matrix(w.recurrent, "recurrent kernel");
  if (w.peephole.numel() > 0) {
    if (layout.peephole_gates.empty()) {
      throw Error(what + ": " + framework_name(layout.framework) + " has no peephole " + cell_name(layout.cell));
    }
    expect_shape(w.peephole, {3, hidden}, what, "peephole");
    out.weight_peephole = reorder_gate_blocks(w.peephole.view(), 0, 1, layout.peephole_gates, kPeepholeGates);
  }
  if (w.bias.numel() == 0 && w.recurrent_bias.numel() == 0) return out;  // a layer without biases
  switch (layout.bias) {
    case BiasStyle::separate:
      expect_shape(w.bias, {gh}, what, "input bias");
      expect_shape(w.recurrent_bias, {gh}, what, "recurrent bias");
      out.bias_ih = reorder_vector(w.bias, hidden, layout.gates, ours);
      out.bias_hh = reorder_vector(w.recurrent_bias, hidden, layout.gates, ours);
      break;
    case BiasStyle::single:
      expect_shape(w.bias, {gh}, what, "bias");
      out.bias_ih = reorder_vector(w.bias, hidden, layout.gates, ours);
      out.bias_hh = Tensor<double>({gh});
      break;
    case BiasStyle::stacked_rows:
    case BiasStyle::concatenated:
      expect_shape(w.bias, layout.bias == BiasStyle::stacked_rows ? Shape{2, gh} : Shape{2 * gh}, what, "bias");
      out.bias_ih = reorder_vector(rows(w.bias, 0, gh), hidden, layout.gates, ours);
      out.bias_hh = reorder_vector(rows(w.bias, gh, gh), hidden, layout.gates, ours);
      break;
  }
  return out;
}

FrameworkCellWeights from_rnnkit(const CellLayout& layout, const CellWeights& w, int64_t hidden) {
  const std::string_view ours = rnnkit_gates(layout.cell);
  const int64_t gh = hidden * static_cast<int64_t>(ours.size());
  auto matrix = [&](const Tensor<double>& m) {
    Tensor<double> r = reorder_gate_blocks(m.view(), 0, hidden, ours, layout.gates);
    return layout.transposed ? transposed<double>(r.view()) : r;
  };
  FrameworkCellWeights out;
  out.kernel = matrix(w.weight_ih);
  out.recurrent = matrix(w.weight_hh);
  if (w.weight_peephole.numel() > 0) {
    if (layout.peephole_gates.empty()) {
      throw Error(std::string(framework_name(layout.framework)) + " has no peephole " + cell_name(layout.cell));
    }
    out.peephole = reorder_gate_blocks(w.weight_peephole.view(), 0, 1, kPeepholeGates, layout.peephole_gates);
  }
  if (w.bias_ih.numel() == 0) return out;  // a layer without biases
  const Tensor<double> b_ih = reorder_vector(w.bias_ih, hidden, ours, layout.gates);
  const Tensor<double> b_hh = reorder_vector(w.bias_hh, hidden, ours, layout.gates);
  switch (layout.bias) {
    case BiasStyle::separate:
      out.bias = b_ih;
      out.recurrent_bias = b_hh;
      break;
    case BiasStyle::single:
      out.bias = Tensor<double>({gh});
      for (int64_t i = 0; i < gh; ++i) out.bias[i] = b_ih[i] + b_hh[i];
      break;
    case BiasStyle::stacked_rows:
    case BiasStyle::concatenated:
      out.bias = Tensor<double>(layout.bias == BiasStyle::stacked_rows ? Shape{2, gh} : Shape{2 * gh});
      std::copy(b_ih.storage().begin(), b_ih.storage().end(), out.bias.storage().begin());
      std::copy(b_hh.storage().begin(), b_hh.storage().end(), out.bias.storage().begin() + gh);
      break;
  }
  return out;
}

CellSources cell_sources(const CellLayout& layout, const std::string& origin, const std::string& kernel,
                         const std::string& recurrent, const std::string& bias, const std::string& recurrent_bias) {
  CellSources s{origin + kernel, origin + recurrent, origin + bias, "", "", ""};
  if (bias.empty()) {  // a layer without biases
    s.bias_ih.clear();
    return s;
  }
  switch (layout.bias) {
    case BiasStyle::separate: s.bias_hh = origin + recurrent_bias; break;
    case BiasStyle::single:
      s.bias_hh = std::string("zeros: ") + framework_name(layout.framework) + " stores one bias (" + bias + ")";
      break;
    case BiasStyle::stacked_rows:
      s.bias_ih += " row 0";
      s.bias_hh = origin + bias + " row 1";
      break;
    case BiasStyle::concatenated:
      s.bias_ih += " first half";
      s.bias_hh = origin + bias + " second half";
      break;
  }
  return s;
}

namespace {

// The member for a variable kind ("weight_ih", ...) of one cell's weights or sources.
template <class Cell>
auto& part(Cell& cell, const std::string& kind) {
  if (kind == "weight_ih") return cell.weight_ih;
  if (kind == "weight_hh") return cell.weight_hh;
  if (kind == "bias_ih") return cell.bias_ih;
  if (kind == "bias_hh") return cell.bias_hh;
  if (kind == "weight_hr") return cell.weight_hr;
  return cell.weight_peephole;
}

}  // namespace

RecurrentModel model_from_cell_weights(const RecurrentSpec& spec, const RecurrentLayerOptions& options, DType dtype,
                                       const std::string& scope, const std::vector<CellWeights>& weights,
                                       const std::vector<CellSources>& sources) {
  check_recurrent_options(spec, options);
  RecurrentModel model{VariableStore(0, dtype), scope, spec, options};
  {
    auto guard = model.store.scope(scope);
    create_recurrent_variables(model.store, spec, {.preset = Preset::pytorch});  // then overwritten
  }
  for (const RecurrentParameter& p : recurrent_parameters(spec)) {
    const std::size_t index = static_cast<std::size_t>(p.layer * spec.directions() + (p.reverse ? 1 : 0));
    const Tensor<double>& source = part(weights.at(index), p.kind);
    const Variable& v = model.store.at(scope + "/" + p.name);
    if (source.shape() != v.shape) {
      throw Error("layer " + std::to_string(p.layer) + (p.reverse ? " backward" : " forward") + ": " + p.kind +
                  " has shape " + shape_to_string(source.shape()) + ", expected " + shape_to_string(v.shape));
    }
    if (dtype == DType::f64) {
      std::copy(source.storage().begin(), source.storage().end(), model.store.value<double>(v).data());
    } else {
      float* out = model.store.value<float>(v).data();
      for (int64_t i = 0; i < source.numel(); ++i) out[i] = static_cast<float>(source[i]);
    }
    model.store.set_source(v.name, part(sources.at(index), p.kind));
  }
  return model;
}

std::vector<CellWeights> cell_weights_of(const RecurrentModel& model) {
  std::vector<CellWeights> out(static_cast<std::size_t>(model.spec.num_layers * model.spec.directions()));
  for (const RecurrentParameter& p : recurrent_parameters(model.spec)) {
    const Variable& v = model.store.at(model.scope + "/" + p.name);
    Tensor<double> t(v.shape);
    if (model.store.dtype() == DType::f64) {
      const auto src = model.store.value<double>(v);
      std::copy(src.data(), src.data() + src.numel(), t.storage().begin());
    } else {
      const auto src = model.store.value<float>(v);
      for (int64_t i = 0; i < src.numel(); ++i) t[i] = static_cast<double>(src[i]);
    }
    CellWeights& w = out[static_cast<std::size_t>(p.layer * model.spec.directions() + (p.reverse ? 1 : 0))];
    part(w, p.kind) = std::move(t);
  }
  return out;
}

}  // namespace rnnkit

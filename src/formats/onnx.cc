// ONNX recurrent nodes; see formats/onnx.h. Models are read and written with the protobuf
// classes of Debian's libonnx-dev (onnx-ml.pb.h) and checked with onnx::checker.
#include "rnnkit/formats/onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/cell_layout.h"

namespace rnnkit {
namespace {

constexpr int kOpset = 14;

onnx::ModelProto parse_model(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !model.has_graph()) {
    throw Error("onnx file '" + path + "': not an ONNX model (protobuf ModelProto with a graph)");
  }
  return model;
}

Tensor<double> tensor_values(const onnx::TensorProto& t, const std::string& where) {
  Shape shape(t.dims().begin(), t.dims().end());
  for (const int64_t d : shape) {
    if (d < 0 || d > (int64_t{1} << 32)) throw Error(where + ": tensor '" + t.name() + "' has a bad dimension");
  }
  Tensor<double> out(shape);
  const auto n = static_cast<std::size_t>(out.numel());
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    if (t.has_raw_data()) {
      if (t.raw_data().size() != n * 4) throw Error(where + ": tensor '" + t.name() + "' has the wrong amount of data");
      for (std::size_t i = 0; i < n; ++i) {
        float f;
        std::memcpy(&f, t.raw_data().data() + 4 * i, 4);
        out[static_cast<int64_t>(i)] = f;
      }
    } else {
      if (static_cast<std::size_t>(t.float_data_size()) != n) throw Error(where + ": tensor '" + t.name() + "' has the wrong amount of data");
      for (std::size_t i = 0; i < n; ++i) out[static_cast<int64_t>(i)] = t.float_data(static_cast<int>(i));
    }
  } else if (t.data_type() == onnx::TensorProto::DOUBLE) {
    if (t.has_raw_data()) {
      if (t.raw_data().size() != n * 8) throw Error(where + ": tensor '" + t.name() + "' has the wrong amount of data");
      std::memcpy(out.storage().data(), t.raw_data().data(), n * 8);
    } else {
      if (static_cast<std::size_t>(t.double_data_size()) != n) throw Error(where + ": tensor '" + t.name() + "' has the wrong amount of data");
      for (std::size_t i = 0; i < n; ++i) out[static_cast<int64_t>(i)] = t.double_data(static_cast<int>(i));
    }
  } else {
    throw Error(where + ": tensor '" + t.name() + "' has ONNX data type " + std::to_string(t.data_type()) +
                ", expected FLOAT (1) or DOUBLE (11)");
  }
  return out;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

CellKind node_cell(const onnx::NodeProto& node, const std::string& where) {
  if (node.op_type() == "LSTM") return CellKind::lstm;
  if (node.op_type() == "GRU") return CellKind::gru;
  const onnx::AttributeProto* activations = attribute(node, "activations");
  if (activations == nullptr) return CellKind::rnn_tanh;
  std::string first;
  for (const std::string& a : activations->strings()) {
    if (first.empty()) first = a;
    if (a != first || (a != "Tanh" && a != "Relu")) {
      throw Error(where + ": attribute activations " + a + " is not supported (Tanh or Relu, the same in both directions)");
    }
  }
  return first == "Relu" ? CellKind::rnn_relu : CellKind::rnn_tanh;
}

// The attributes rnnkit cannot compute, as an error naming the node and the attribute.
void check_attributes(const onnx::NodeProto& node, const std::string& where) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    const std::string& n = a.name();
    if (n == "hidden_size" || n == "direction" || n == "linear_before_reset") continue;
    if (n == "activations" && node.op_type() == "RNN") continue;
    if (n == "activations" || n == "activation_alpha" || n == "activation_beta") {
      throw Error(where + ": attribute " + n + " is not supported (rnnkit computes the default activations)");
    }
    if (n == "input_forget" && a.i() == 0) continue;
    if (n == "layout" && a.i() == 0) continue;
    throw Error(where + ": attribute " + n + " is not supported" +
                (n == "layout" ? " (batch-first layout 1)" : n == "clip" ? " (cell clipping)" : ""));
  }
  if (node.op_type() == "LSTM" && node.input_size() > 7 && !node.input(7).empty()) {
    throw Error(where + ": input P (peepholes) is not supported");
  }
}

std::string node_name(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " node #" + std::to_string(index) : "'" + node.name() + "'";
}

void add_tensor(onnx::GraphProto& graph, const std::string& name, const Tensor<double>& values) {
  onnx::TensorProto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (const int64_t d : values.shape()) t->add_dims(d);
  std::string raw(static_cast<std::size_t>(values.numel()) * 4, '\0');
  for (int64_t i = 0; i < values.numel(); ++i) {
    const auto f = static_cast<float>(values[i]);
    std::memcpy(raw.data() + 4 * i, &f, 4);
  }
  t->set_raw_data(raw);
}

// An INT64 vector initializer (a Reshape's target shape).
void add_shape(onnx::GraphProto& graph, const std::string& name, const std::vector<int64_t>& dims) {
  onnx::TensorProto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(dims.size()));
  t->set_raw_data(std::string(reinterpret_cast<const char*>(dims.data()), dims.size() * sizeof(int64_t)));
}

void add_value_info(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
                    const std::vector<std::string>& dims) {
  onnx::ValueInfoProto* v = list->Add();
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (const std::string& d : dims) {
    auto* dim = t->mutable_shape()->add_dim();
    if (!d.empty() && d.find_first_not_of("0123456789") == std::string::npos) {
      dim->set_dim_value(std::stoll(d));
    } else {
      dim->set_dim_param(d);
    }
  }
}

}  // namespace

RecurrentModel import_onnx(const std::string& path, const OnnxImportOptions& options) {
  const std::string where = "onnx file '" + path + "'";
  const onnx::ModelProto model = parse_model(path);
  const onnx::GraphProto& graph = model.graph();
  std::map<std::string, const onnx::TensorProto*> constants;
  for (const onnx::TensorProto& t : graph.initializer()) constants[t.name()] = &t;
  for (const onnx::NodeProto& n : graph.node()) {
    if (n.op_type() == "Constant" && n.output_size() == 1) {
      if (const onnx::AttributeProto* v = attribute(n, "value"); v != nullptr && v->has_t()) constants[n.output(0)] = &v->t();
    }
  }
  std::vector<std::pair<const onnx::NodeProto*, int>> nodes;
  std::vector<std::string> all;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& n = graph.node(i);
    if (n.op_type() == "LSTM" || n.op_type() == "GRU" || n.op_type() == "RNN") {
      all.push_back(node_name(n, i));
      if (options.nodes.empty() || std::find(options.nodes.begin(), options.nodes.end(), n.name()) != options.nodes.end()) {
        nodes.emplace_back(&n, i);
      }
    }
  }
  if (!options.nodes.empty()) {
    std::vector<std::pair<const onnx::NodeProto*, int>> ordered;
    for (const std::string& want : options.nodes) {
      const auto it = std::find_if(nodes.begin(), nodes.end(), [&](const auto& p) { return p.first->name() == want; });
      if (it == nodes.end()) {
        std::string list;
        for (const std::string& a : all) list += (list.empty() ? "" : ", ") + a;
        throw Error(where + ": no LSTM, GRU or RNN node named '" + want + "'; its recurrent nodes are " +
                    (list.empty() ? "(none)" : list));
      }
      ordered.push_back(*it);
    }
    nodes = ordered;
  }
  if (nodes.empty()) throw Error(where + ": no LSTM, GRU or RNN node");

  RecurrentSpec spec;
  GruReset reset = GruReset::after;
  std::vector<CellWeights> weights;
  std::vector<CellSources> sources;
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    const onnx::NodeProto& node = *nodes[k].first;
    const std::string at = where + ", node " + node_name(node, nodes[k].second);
    check_attributes(node, at);
    const CellKind cell = node_cell(node, at);
    const onnx::AttributeProto* dir = attribute(node, "direction");
    const std::string direction = dir == nullptr ? "forward" : dir->s();
    if (direction != "forward" && direction != "bidirectional") {
      throw Error(at + ": direction '" + direction + "' is not supported (forward or bidirectional)");
    }
    const onnx::AttributeProto* lbr = attribute(node, "linear_before_reset");
    const GruReset this_reset = cell == CellKind::gru && (lbr == nullptr || lbr->i() == 0) ? GruReset::before : GruReset::after;
    auto input = [&](int index, const char* what) -> const onnx::TensorProto* {
      if (node.input_size() <= index || node.input(index).empty()) return nullptr;
      const auto it = constants.find(node.input(index));
      if (it == constants.end()) {
        throw Error(at + ": input " + what + " ('" + node.input(index) + "') is neither an initializer nor a Constant");
      }
      return it->second;
    };
    const onnx::TensorProto* w_proto = input(1, "W");
    const onnx::TensorProto* r_proto = input(2, "R");
    if (w_proto == nullptr || r_proto == nullptr) throw Error(at + ": inputs W and R are required");
    const Tensor<double> W = tensor_values(*w_proto, at), R = tensor_values(*r_proto, at);
    const int64_t D = direction == "bidirectional" ? 2 : 1, G = gate_count(cell);
    if (R.rank() != 3 || R.dim(0) != D || R.dim(1) % G != 0 || R.dim(1) / G != R.dim(2)) {
      throw Error(at + ": R has shape " + shape_to_string(R.shape()) + ", expected [" + std::to_string(D) + ", " +
                  std::to_string(G) + "*H, H]");
    }
    const int64_t hidden = R.dim(2);
    if (const onnx::AttributeProto* hs = attribute(node, "hidden_size"); hs != nullptr && hs->i() != hidden) {
      throw Error(at + ": hidden_size " + std::to_string(hs->i()) + " but R has H=" + std::to_string(hidden));
    }
    if (W.rank() != 3 || W.dim(0) != D || W.dim(1) != G * hidden) {
      throw Error(at + ": W has shape " + shape_to_string(W.shape()) + ", expected [" + std::to_string(D) + ", " +
                  std::to_string(G * hidden) + ", I]");
    }
    Tensor<double> Bias({D, 2 * G * hidden});
    if (const onnx::TensorProto* b_proto = input(3, "B")) {
      Bias = tensor_values(*b_proto, at);
      if (Bias.shape() != Shape{D, 2 * G * hidden}) {
        throw Error(at + ": B has shape " + shape_to_string(Bias.shape()) + ", expected [" + std::to_string(D) + ", " +
                    std::to_string(2 * G * hidden) + "]");
      }
    }
    const int64_t inputs = W.dim(2);
    if (k == 0) {
      spec = RecurrentSpec{cell, inputs, hidden, static_cast<int64_t>(nodes.size()), D == 2, 0};
      reset = this_reset;
    } else if (cell != spec.cell || hidden != spec.hidden_size || (D == 2) != spec.bidirectional || this_reset != reset ||
               inputs != D * hidden) {
      throw Error(at + ": does not stack on the first node: it is a " + std::string(cell_name(cell)) + " with H=" +
                  std::to_string(hidden) + ", " + std::to_string(D) + " direction(s) and " + std::to_string(inputs) +
                  " inputs; expected a " + cell_name(spec.cell) + " with H=" + std::to_string(spec.hidden_size) + ", " +
                  std::to_string(spec.directions()) + " direction(s) and " + std::to_string(spec.directions() * hidden) +
                  " inputs");
    }
    const CellLayout& layout = cell_layout(Framework::onnx, cell, this_reset);
    const int64_t gh = G * hidden;
    for (int64_t d = 0; d < D; ++d) {
      Tensor<double> w({gh, inputs}), r({gh, hidden}), b({2 * gh});
      std::copy(W.storage().begin() + d * gh * inputs, W.storage().begin() + (d + 1) * gh * inputs, w.storage().begin());
      std::copy(R.storage().begin() + d * gh * hidden, R.storage().begin() + (d + 1) * gh * hidden, r.storage().begin());
      std::copy(Bias.storage().begin() + d * 2 * gh, Bias.storage().begin() + (d + 1) * 2 * gh, b.storage().begin());
      const std::string cell_at = at + (D == 2 ? (d ? " backward" : " forward") : "");
      weights.push_back(to_rnnkit(layout, {std::move(w), std::move(r), std::move(b), {}}, hidden, cell_at));
      const std::string origin = "onnx " + path + ":";
      const std::string index = "[" + std::to_string(d) + "]";
      sources.push_back(cell_sources(layout, origin, w_proto->name() + index, r_proto->name() + index,
                                     (node.input_size() > 3 ? node.input(3) : std::string("B (absent: zeros)")) + index));
    }
  }
  spec.validate();
  const std::string scope = options.scope.empty() ? cell_name(spec.cell) : options.scope;
  return model_from_cell_weights(spec, reset, DType::f32, scope, weights, sources);
}

void export_onnx(const RecurrentModel& model, const std::string& path) {
  const std::string what = "export to ONNX '" + path + "'";
  const RecurrentSpec& spec = model.spec;
  if (spec.proj_size > 0) throw Error(what + ": the LSTM '" + model.scope + "' has a projection, which ONNX's LSTM cannot store");
  if (model.options.merge != BidirectionalMerge::concat) {
    throw Error(what + ": the layer merges its directions by " + std::string(merge_name(model.options.merge)) +
                "; rnnkit writes ONNX's concatenated outputs only");
  }
  const std::vector<CellWeights> weights = cell_weights_of(model);
  const CellLayout& layout = cell_layout(Framework::onnx, spec.cell, model.options.cell.gru_reset);
  const int64_t D = spec.directions(), H = spec.hidden_size, G = gate_count(spec.cell), gh = G * H;
  const char* op = spec.cell == CellKind::lstm ? "LSTM" : spec.cell == CellKind::gru ? "GRU" : "RNN";

  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("rnnkit");
  m.add_opset_import()->set_version(kOpset);
  onnx::GraphProto& g = *m.mutable_graph();
  g.set_name(model.scope);
  add_value_info(g.mutable_input(), "input", {"T", "B", std::to_string(spec.input_size)});
  add_shape(g, "reshape_to_TBF", {0, 0, -1});  // keep T and B, join the directions
  std::string x = "input";
  std::vector<std::string> h_parts, c_parts;
  for (int64_t l = 0; l < spec.num_layers; ++l) {
    const int64_t inputs = spec.layer_input_size(l);
    Tensor<double> W({D, gh, inputs}), R({D, gh, H}), B({D, 2 * gh});
    for (int64_t d = 0; d < D; ++d) {
      const FrameworkCellWeights f = from_rnnkit(layout, weights[static_cast<std::size_t>(l * D + d)], H);
      std::copy(f.kernel.storage().begin(), f.kernel.storage().end(), W.storage().begin() + d * gh * inputs);
      std::copy(f.recurrent.storage().begin(), f.recurrent.storage().end(), R.storage().begin() + d * gh * H);
      std::copy(f.bias.storage().begin(), f.bias.storage().end(), B.storage().begin() + d * 2 * gh);
    }
    const std::string suffix = "_l" + std::to_string(l);
    add_tensor(g, "W" + suffix, W);
    add_tensor(g, "R" + suffix, R);
    add_tensor(g, "B" + suffix, B);
    onnx::NodeProto& node = *g.add_node();
    node.set_op_type(op);
    node.set_name(std::string(op) + suffix);
    for (const std::string& in : {x, "W" + suffix, "R" + suffix, "B" + suffix}) node.add_input(in);
    node.add_output("Y" + suffix);
    node.add_output("Y_h" + suffix);
    h_parts.push_back("Y_h" + suffix);
    if (spec.cell == CellKind::lstm) {
      node.add_output("Y_c" + suffix);
      c_parts.push_back("Y_c" + suffix);
    }
    auto* hs = node.add_attribute();
    hs->set_name("hidden_size");
    hs->set_type(onnx::AttributeProto::INT);
    hs->set_i(H);
    auto* dir = node.add_attribute();
    dir->set_name("direction");
    dir->set_type(onnx::AttributeProto::STRING);
    dir->set_s(D == 2 ? "bidirectional" : "forward");
    if (spec.cell == CellKind::gru) {
      auto* lbr = node.add_attribute();
      lbr->set_name("linear_before_reset");
      lbr->set_type(onnx::AttributeProto::INT);
      lbr->set_i(model.options.cell.gru_reset == GruReset::after ? 1 : 0);
    }
    if (spec.cell == CellKind::rnn_relu) {
      auto* act = node.add_attribute();
      act->set_name("activations");
      act->set_type(onnx::AttributeProto::STRINGS);
      for (int64_t d = 0; d < D; ++d) act->add_strings("Relu");
    }
    // Y [T, D, B, H] -> [T, B, D, H] -> [T, B, D*H]
    onnx::NodeProto& transpose = *g.add_node();
    transpose.set_op_type("Transpose");
    transpose.set_name("Transpose" + suffix);
    transpose.add_input("Y" + suffix);
    transpose.add_output("Y_TBDH" + suffix);
    auto* perm = transpose.add_attribute();
    perm->set_name("perm");
    perm->set_type(onnx::AttributeProto::INTS);
    for (const int64_t p : {0, 2, 1, 3}) perm->add_ints(p);
    onnx::NodeProto& reshape = *g.add_node();
    reshape.set_op_type("Reshape");
    reshape.set_name("Reshape" + suffix);
    reshape.add_input("Y_TBDH" + suffix);
    reshape.add_input("reshape_to_TBF");
    x = l + 1 == spec.num_layers ? "output" : "X" + std::to_string(l + 1);
    reshape.add_output(x);
  }
  auto join = [&](const std::vector<std::string>& parts, const std::string& out) {
    onnx::NodeProto& n = *g.add_node();
    n.set_op_type(parts.size() == 1 ? "Identity" : "Concat");
    n.set_name(out);
    for (const std::string& p : parts) n.add_input(p);
    n.add_output(out);
    if (parts.size() > 1) {
      auto* axis = n.add_attribute();
      axis->set_name("axis");
      axis->set_type(onnx::AttributeProto::INT);
      axis->set_i(0);
    }
  };
  join(h_parts, "h_n");
  add_value_info(g.mutable_output(), "output", {"T", "B", std::to_string(D * H)});
  add_value_info(g.mutable_output(), "h_n", {std::to_string(spec.num_layers * D), "B", std::to_string(H)});
  if (!c_parts.empty()) {
    join(c_parts, "c_n");
    add_value_info(g.mutable_output(), "c_n", {std::to_string(spec.num_layers * D), "B", std::to_string(H)});
  }
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    throw Error(what + ": the ONNX checker rejects the model rnnkit built: " + e.what());
  }
  const std::string bytes = m.SerializeAsString();
  write_file_atomically(path, {std::as_bytes(std::span<const char>(bytes.data(), bytes.size()))});
}

void check_onnx_model(const std::string& path) {
  const onnx::ModelProto model = parse_model(path);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error("onnx file '" + path + "': the ONNX checker rejects it: " + e.what());
  }
}

}  // namespace rnnkit

// ONNX recurrent nodes; see formats/onnx.h. Models are read and written with the protobuf
// classes of Debian's libonnx-dev (onnx-ml.pb.h) and checked with onnx::checker.
#include "rnnkit/formats/onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/cell_layout.h"

namespace rnnkit {
namespace {

constexpr int kOpset = 14;

onnx::ModelProto parse_model(const std::vector<std::byte>& bytes, const std::string& path) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !model.has_graph()) {
    throw Error("onnx file '" + path + "': not an ONNX model (protobuf ModelProto with a graph)");
  }
  return model;
}

// The number of values a tensor holds, whichever field holds them; 0 for other types.
std::size_t stored_values(const onnx::TensorProto& t) {
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    return t.has_raw_data() ? t.raw_data().size() / 4 : static_cast<std::size_t>(t.float_data_size());
  }
  if (t.data_type() == onnx::TensorProto::DOUBLE) {
    return t.has_raw_data() ? t.raw_data().size() / 8 : static_cast<std::size_t>(t.double_data_size());
  }
  return 0;
}

Tensor<double> tensor_values(const onnx::TensorProto& t, const std::string& where) {
  const std::string what = where + ": tensor '" + t.name() + "'";
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0) {
    throw Error(what + " keeps its data in an external file; rnnkit reads only weights held in the model file");
  }
  if (t.data_type() != onnx::TensorProto::FLOAT && t.data_type() != onnx::TensorProto::DOUBLE) {
    throw Error(what + " has ONNX data type " + std::to_string(t.data_type()) + ", expected FLOAT (1) or DOUBLE (11)");
  }
  // The dims are a claim, checked against the values the file holds before allocating.
  Shape shape(t.dims().begin(), t.dims().end());
  int64_t elements = 0;
  try {
    elements = shape_numel(shape, "dims");
  } catch (const Error&) {
    throw Error(what + " has dims " + shape_to_string(shape) + ", expected non-negative extents of an int64 size");
  }
  const auto n = static_cast<std::size_t>(elements);
  if (n != stored_values(t)) {
    throw Error(what + " has dims " + shape_to_string(shape) + " (" + std::to_string(n) + " values) but holds " +
                std::to_string(stored_values(t)) + " values");
  }
  const std::size_t element_size = t.data_type() == onnx::TensorProto::FLOAT ? 4 : 8;
  if (t.has_raw_data() && t.raw_data().size() != n * element_size) {
    throw Error(what + " has " + std::to_string(t.raw_data().size()) + " bytes of raw data, expected " +
                std::to_string(n * element_size));
  }
  Tensor<double> out(shape);
  for (std::size_t i = 0; i < n; ++i) {
    double v = 0.0;
    if (t.has_raw_data() && element_size == 4) {
      float f;
      std::memcpy(&f, t.raw_data().data() + 4 * i, 4);
      v = f;
    } else if (t.has_raw_data()) {
      std::memcpy(&v, t.raw_data().data() + 8 * i, 8);
    } else {
      v = element_size == 4 ? t.float_data(static_cast<int>(i)) : t.double_data(static_cast<int>(i));
    }
    out[static_cast<int64_t>(i)] = v;
  }
  return out;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

// The cell kind and cell options a node's attributes say: activations (with activation_alpha
// and _beta, consumed in order by the functions that take them), clip, linear_before_reset.
// What rnnkit cannot compute is an error naming the node and the attribute.
struct NodeCell {
  CellKind cell;
  CellOptions options;
};

// ONNX keeps these attributes as float: a value is read as the shortest decimal that the
// float is (0.4f reads as 0.4, not 0.4000000059604645), which float32 computes with unchanged.
double float_as_written(float f) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, f).ptr;
  double d = 0.0;
  std::from_chars(text, end, d);
  return d;
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

NodeCell node_cell(const onnx::NodeProto& node, int64_t directions, const std::string& where) {
  NodeCell out{node.op_type() == "LSTM"  ? CellKind::lstm
               : node.op_type() == "GRU" ? CellKind::gru
                                         : CellKind::rnn_tanh,
               {}};
  for (const onnx::AttributeProto& a : node.attribute()) {
    const std::string& n = a.name();
    if (n == "hidden_size" || n == "direction" || n == "linear_before_reset" || n == "activations" ||
        n == "activation_alpha" || n == "activation_beta") {
      continue;
    }
    if (n == "clip") {
      if (!(a.f() > 0.0f) || !std::isfinite(a.f())) {
        throw Error(where + ": attribute clip is " + std::to_string(a.f()) + ", expected a positive number");
      }
      out.options.gate_clip = float_as_written(a.f());
      continue;
    }
    if (n == "input_forget" && a.i() == 0) continue;
    if (n == "layout" && a.i() == 0) continue;
    throw Error(where + ": attribute " + n + " is not supported" +
                (n == "layout"         ? " (batch-first layout 1)"
                 : n == "input_forget" ? " (input and forget gates coupled)"
                                       : ""));
  }
  if (out.cell == CellKind::gru) {
    const onnx::AttributeProto* lbr = attribute(node, "linear_before_reset");
    out.options.gru_reset = lbr != nullptr && lbr->i() != 0 ? GruReset::after : GruReset::before;
  }
  const onnx::AttributeProto* activations = attribute(node, "activations");
  if (activations == nullptr) return out;
  const int per_direction = out.cell == CellKind::lstm ? 3 : out.cell == CellKind::gru ? 2 : 1;
  if (activations->strings_size() != per_direction * directions) {
    throw Error(where + ": attribute activations has " + std::to_string(activations->strings_size()) +
                " functions, expected " + std::to_string(per_direction * directions) + " (" +
                (per_direction == 3   ? "f, g, h"
                 : per_direction == 2 ? "f, g"
                                      : "f") +
                " per direction)");
  }
  std::vector<float> alphas, betas;
  if (const onnx::AttributeProto* a = attribute(node, "activation_alpha"))
    alphas.assign(a->floats().begin(), a->floats().end());
  if (const onnx::AttributeProto* b = attribute(node, "activation_beta"))
    betas.assign(b->floats().begin(), b->floats().end());
  std::size_t next_alpha = 0, next_beta = 0;
  std::vector<std::string> seen;  // each function as rnnkit reads it, with its arguments
  for (int k = 0; k < activations->strings_size(); ++k) {
    const std::string name = lowercase(activations->strings(k));
    const int role = k % per_direction;  // 0: f (gates; an RNN's only function), 1: g, 2: h
    std::string as_read = name;
    if (name == "hardsigmoid") {
      const double alpha = next_alpha < alphas.size() ? float_as_written(alphas[next_alpha++]) : 0.2;
      const double beta = next_beta < betas.size() ? float_as_written(betas[next_beta++]) : 0.5;
      if (role != 0 || per_direction == 1) {
        throw Error(where + ": activation HardSigmoid as " + (role == 0 ? "an RNN's f" : "g or h") +
                    " is not supported (rnnkit: the gates' f may be Sigmoid or HardSigmoid)");
      }
      out.options.recurrent_activation = GateActivation::hard_sigmoid(alpha, beta);
      as_read = out.options.recurrent_activation.spec();
    } else if (name == "sigmoid" && role == 0 && per_direction > 1) {
      out.options.recurrent_activation = GateActivation::sigmoid();
    } else if ((name == "tanh" || name == "relu") && (role > 0 || per_direction == 1)) {
      if (per_direction == 1) {
        out.cell = name == "relu" ? CellKind::rnn_relu : CellKind::rnn_tanh;
      } else {
        out.options.activation = name == "relu" ? CellActivation::relu : CellActivation::tanh;
      }
    } else {
      throw Error(where + ": activation " + activations->strings(k) + " as " +
                  (per_direction == 1 ? "f"
                   : role == 0        ? "f (the gates)"
                   : role == 1        ? "g"
                                      : "h") +
                  " is not supported (rnnkit computes f = Sigmoid or HardSigmoid, g = h = Tanh or Relu)");
    }
    seen.push_back(as_read);
  }
  // One function per role, the same in both directions and, for an LSTM, g = h.
  for (int k = 0; k < activations->strings_size(); ++k) {
    const int role = k % per_direction;
    const std::string& first = seen[static_cast<std::size_t>(role == 2 ? 1 : role)];
    if (seen[static_cast<std::size_t>(k)] != first) {
      throw Error(where + ": activations " + activations->strings(k) + " and " +
                  activations->strings(role == 2 ? 1 : role) +
                  " differ; rnnkit computes one f for every gate and direction, and g = h");
    }
  }
  return out;
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
  return import_onnx_bytes(read_file(path), path, options);
}

RecurrentModel import_onnx_bytes(const std::vector<std::byte>& bytes, const std::string& path,
                                 const OnnxImportOptions& options) {
  const std::string where = "onnx file '" + path + "'";
  const onnx::ModelProto model = parse_model(bytes, path);
  const onnx::GraphProto& graph = model.graph();
  std::map<std::string, const onnx::TensorProto*> constants;
  for (const onnx::TensorProto& t : graph.initializer()) {
    if (!constants.emplace(t.name(), &t).second) throw Error(where + ": two initializers are named '" + t.name() + "'");
  }
  for (const onnx::NodeProto& n : graph.node()) {
    if (n.op_type() == "Constant" && n.output_size() == 1) {
      if (const onnx::AttributeProto* v = attribute(n, "value"); v != nullptr && v->has_t())
        constants[n.output(0)] = &v->t();
    }
  }
  std::vector<std::pair<const onnx::NodeProto*, int>> nodes;
  std::vector<std::string> all;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& n = graph.node(i);
    if (n.op_type() == "LSTM" || n.op_type() == "GRU" || n.op_type() == "RNN") {
      all.push_back(node_name(n, i));
      if (options.nodes.empty() ||
          std::find(options.nodes.begin(), options.nodes.end(), n.name()) != options.nodes.end()) {
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
  CellOptions cell_options;
  std::vector<CellWeights> weights;
  std::vector<CellSources> sources;
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    const onnx::NodeProto& node = *nodes[k].first;
    const std::string at = where + ", node " + node_name(node, nodes[k].second);
    const onnx::AttributeProto* dir = attribute(node, "direction");
    const std::string direction = dir == nullptr ? "forward" : dir->s();
    if (direction != "forward" && direction != "bidirectional") {
      throw Error(at + ": direction '" + direction + "' is not supported (forward or bidirectional)");
    }
    const int64_t D = direction == "bidirectional" ? 2 : 1;
    const NodeCell node_math = node_cell(node, D, at);
    const CellKind cell = node_math.cell;
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
    const int64_t G = gate_count(cell);
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
    const onnx::TensorProto* b_proto = input(3, "B");  // absent: a layer without biases
    Tensor<double> B;
    if (b_proto != nullptr) {
      B = tensor_values(*b_proto, at);
      if (B.shape() != Shape{D, 2 * G * hidden}) {
        throw Error(at + ": B has shape " + shape_to_string(B.shape()) + ", expected [" + std::to_string(D) + ", " +
                    std::to_string(2 * G * hidden) + "]");
      }
    }
    const onnx::TensorProto* p_proto = cell == CellKind::lstm ? input(7, "P") : nullptr;
    Tensor<double> P;
    if (p_proto != nullptr) {
      P = tensor_values(*p_proto, at);
      if (P.shape() != Shape{D, 3 * hidden}) {
        throw Error(at + ": P has shape " + shape_to_string(P.shape()) + ", expected [" + std::to_string(D) + ", " +
                    std::to_string(3 * hidden) + "] (peepholes i, o, f)");
      }
    }
    const int64_t inputs = W.dim(2);
    if (k == 0) {
      spec = RecurrentSpec{cell, inputs, hidden, static_cast<int64_t>(nodes.size()), D == 2, 0};
      spec.bias = b_proto != nullptr;
      spec.peepholes = p_proto != nullptr;
      cell_options = node_math.options;
    } else if (cell != spec.cell || hidden != spec.hidden_size || (D == 2) != spec.bidirectional ||
               inputs != D * hidden || !(node_math.options == cell_options) || (b_proto != nullptr) != spec.bias ||
               (p_proto != nullptr) != spec.peepholes) {
      auto says = [](CellKind c, int64_t h, int64_t d, int64_t in, bool bias, bool peep, const CellOptions& o) {
        return std::string("a ") + cell_name(c) + " with H=" + std::to_string(h) + ", " + std::to_string(d) +
               " direction(s), " + std::to_string(in) + " inputs, " + (bias ? "biases" : "no B") +
               (peep ? ", peepholes" : "") +
               (c == CellKind::gru ? std::string(", reset ") + gru_reset_name(o.gru_reset) : "") + ", gates " +
               o.recurrent_activation.spec() + ", activation " + cell_activation_name(o.activation) +
               (o.gate_clip > 0 ? ", clip " + std::to_string(o.gate_clip) : "");
      };
      throw Error(at + ": does not stack on the first node: it is " +
                  says(cell, hidden, D, inputs, b_proto != nullptr, p_proto != nullptr, node_math.options) +
                  "; expected " +
                  says(spec.cell, spec.hidden_size, spec.directions(), spec.directions() * spec.hidden_size, spec.bias,
                       spec.peepholes, cell_options));
    }
    const CellLayout& layout = cell_layout(Framework::onnx, cell, cell_options.gru_reset);
    const int64_t gh = G * hidden;
    auto slice = [](const Tensor<double>& t, int64_t d, Shape shape) {
      Tensor<double> out(std::move(shape));
      std::copy(t.storage().begin() + d * out.numel(), t.storage().begin() + (d + 1) * out.numel(),
                out.storage().begin());
      return out;
    };
    for (int64_t d = 0; d < D; ++d) {
      FrameworkCellWeights f{slice(W, d, {gh, inputs}), slice(R, d, {gh, hidden}), {}, {}, {}};
      if (b_proto != nullptr) f.bias = slice(B, d, {2 * gh});
      if (p_proto != nullptr) f.peephole = slice(P, d, {3, hidden});
      const std::string cell_at = at + (D == 2 ? (d ? " backward" : " forward") : "");
      weights.push_back(to_rnnkit(layout, f, hidden, cell_at));
      const std::string origin = "onnx " + path + ":";
      const std::string index = "[" + std::to_string(d) + "]";
      CellSources source = cell_sources(layout, origin, w_proto->name() + index, r_proto->name() + index,
                                        b_proto != nullptr ? node.input(3) + index : "");
      if (p_proto != nullptr) source.weight_peephole = origin + node.input(7) + index + " (i, o, f as i, f, o)";
      sources.push_back(std::move(source));
    }
  }
  spec.validate();
  const std::string scope = options.scope.empty() ? cell_name(spec.cell) : options.scope;
  return model_from_cell_weights(spec, {.cell = cell_options}, DType::f32, scope, weights, sources);
}

void export_onnx(const RecurrentModel& model, const std::string& path) {
  const std::string what = "export to ONNX '" + path + "'";
  const RecurrentSpec& spec = model.spec;
  if (spec.proj_size > 0)
    throw Error(what + ": the LSTM '" + model.scope + "' has a projection, which ONNX's LSTM cannot store");
  if (model.options.merge != BidirectionalMerge::concat) {
    throw Error(what + ": the layer merges its directions by " + std::string(merge_name(model.options.merge)) +
                "; rnnkit writes ONNX's concatenated outputs only");
  }
  const CellOptions& cell = model.options.cell;
  if (cell.cell_clip > 0.0) {
    throw Error(what + ": the LSTM '" + model.scope + "' clips its cell state (cell_clip), which ONNX's LSTM cannot; " +
                "its clip attribute clips the gate pre-activations (rnnkit's gate_clip)");
  }
  if (spec.stacking == Stacking::per_direction && spec.num_layers > 1) {
    throw Error(what + ": the layer stacks each direction on its own (per-direction stacking); rnnkit writes one " +
                "bidirectional node per layer, which reads both directions of the layer below");
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
    Tensor<double> W({D, gh, inputs}), R({D, gh, H}), B({D, 2 * gh}), P({D, 3 * H});
    for (int64_t d = 0; d < D; ++d) {
      const FrameworkCellWeights f = from_rnnkit(layout, weights[static_cast<std::size_t>(l * D + d)], H);
      std::copy(f.kernel.storage().begin(), f.kernel.storage().end(), W.storage().begin() + d * gh * inputs);
      std::copy(f.recurrent.storage().begin(), f.recurrent.storage().end(), R.storage().begin() + d * gh * H);
      std::copy(f.bias.storage().begin(), f.bias.storage().end(), B.storage().begin() + d * 2 * gh);
      std::copy(f.peephole.storage().begin(), f.peephole.storage().end(), P.storage().begin() + d * 3 * H);
    }
    const std::string suffix = "_l" + std::to_string(l);
    add_tensor(g, "W" + suffix, W);
    add_tensor(g, "R" + suffix, R);
    // Inputs X, W, R, B, sequence_lens, initial_h, initial_c, P: "" marks one left out.
    std::vector<std::string> node_inputs = {x, "W" + suffix, "R" + suffix, spec.bias ? "B" + suffix : ""};
    if (spec.bias) add_tensor(g, "B" + suffix, B);
    if (spec.peepholes) {
      add_tensor(g, "P" + suffix, P);
      node_inputs.insert(node_inputs.end(), {"", "", "", "P" + suffix});
    }
    while (node_inputs.back().empty()) node_inputs.pop_back();
    onnx::NodeProto& node = *g.add_node();
    node.set_op_type(op);
    node.set_name(std::string(op) + suffix);
    for (const std::string& in : node_inputs) node.add_input(in);
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
    // activations (f, g, h per direction), with HardSigmoid's alpha and beta, when not the defaults
    const bool rnn = spec.cell == CellKind::rnn_tanh || spec.cell == CellKind::rnn_relu;
    const bool hard = !cell.recurrent_activation.is_sigmoid();
    if (spec.cell == CellKind::rnn_relu || hard || cell.activation != CellActivation::tanh) {
      const char* g_h = cell.activation == CellActivation::relu ? "Relu" : "Tanh";
      auto* act = node.add_attribute();
      act->set_name("activations");
      act->set_type(onnx::AttributeProto::STRINGS);
      for (int64_t d = 0; d < D; ++d) {
        if (rnn) {
          act->add_strings(spec.cell == CellKind::rnn_relu ? "Relu" : "Tanh");
          continue;
        }
        act->add_strings(hard ? "HardSigmoid" : "Sigmoid");
        act->add_strings(g_h);
        if (spec.cell == CellKind::lstm) act->add_strings(g_h);
      }
      if (hard) {
        auto* alpha = node.add_attribute();
        alpha->set_name("activation_alpha");
        alpha->set_type(onnx::AttributeProto::FLOATS);
        auto* beta = node.add_attribute();
        beta->set_name("activation_beta");
        beta->set_type(onnx::AttributeProto::FLOATS);
        for (int64_t d = 0; d < D; ++d) {
          alpha->add_floats(static_cast<float>(cell.recurrent_activation.alpha));
          beta->add_floats(static_cast<float>(cell.recurrent_activation.beta));
        }
      }
    }
    if (cell.gate_clip > 0.0) {
      auto* clip = node.add_attribute();
      clip->set_name("clip");
      clip->set_type(onnx::AttributeProto::FLOAT);
      clip->set_f(static_cast<float>(cell.gate_clip));
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
  const onnx::ModelProto model = parse_model(read_file(path), path);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error("onnx file '" + path + "': the ONNX checker rejects it: " + e.what());
  }
}

}  // namespace rnnkit

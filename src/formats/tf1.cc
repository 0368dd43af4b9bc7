// TensorFlow 1 cell variables; see formats/tf1.h.
#include "rnnkit/formats/tf1.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/cell_layout.h"
#include "rnnkit/init/spec.h"

namespace rnnkit {
namespace {

const std::vector<std::string>& cell_classes() {
  static const std::vector<std::string> kClasses = {"lstm_cell",
                                                    "basic_lstm_cell",
                                                    "gru_cell",
                                                    "basic_rnn_cell",
                                                    "lstm_fused_cell",
                                                    "lstm_block_wrapper",
                                                    "cudnn_compatible_lstm_cell",
                                                    "cudnn_compatible_gru_cell"};
  return kClasses;
}

bool is_cudnn_gru(const std::string& cell_class) { return cell_class == "cudnn_compatible_gru_cell"; }

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t end = path.find('/', begin);
    out.push_back(path.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return out;
}

// One cell found in the file: its path ("…/lstm_cell/"), its class, and where it sits.
struct FoundCell {
  std::string path, cell_class, root;  // root: the path before any layer/direction segment
  int64_t layer = 0;
  int direction = 0;                               // 0 fw (or unidirectional), 1 bw
  bool direction_outside_stack = false;            // bidirectional_rnn/fw/multi_rnn_cell/cell_k: per-direction stacks
  std::map<std::string, const NpyArray*> tensors;  // "kernel", "bias", "gates/kernel", ...
};

FoundCell locate(const std::string& path, const std::string& cell_class) {
  FoundCell c{path, cell_class, "", 0, 0, false, {}};
  const std::vector<std::string> parts = segments(path.substr(0, path.size() - 1));  // drop the trailing '/'
  std::size_t root_end = parts.size() - 1;  // index of the first layer/direction segment, or of the cell
  int direction_at = -1, stack_at = -1;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& s = parts[i];
    if (s == "fw" || s == "bw") {
      c.direction = s == "bw" ? 1 : 0;
      direction_at = static_cast<int>(i);
      root_end = std::min(root_end, i > 0 && parts[i - 1] == "bidirectional_rnn" ? i - 1 : i);
    } else if (s.rfind("cell_", 0) == 0 && s.size() > 5 && s.find_first_not_of("0123456789", 5) == std::string::npos) {
      c.layer = std::stoll(s.substr(5));
      stack_at = static_cast<int>(i);
      root_end = std::min(root_end, i > 0 && parts[i - 1] == "multi_rnn_cell" ? i - 1 : i);
    }
  }
  c.direction_outside_stack = direction_at >= 0 && stack_at > direction_at && parts[stack_at - 1] == "multi_rnn_cell";
  for (std::size_t i = 0; i < root_end; ++i) c.root += parts[i] + "/";
  return c;
}

Tensor<double> rows_of(const Tensor<double>& t, int64_t begin, int64_t count) {
  const int64_t cols = t.dim(1);
  Tensor<double> out({count, cols});
  std::copy(t.storage().begin() + begin * cols, t.storage().begin() + (begin + count) * cols, out.storage().begin());
  return out;
}

Tensor<double> columns_of(const Tensor<double>& t, int64_t begin, int64_t count) {
  const int64_t rows = t.dim(0), cols = t.dim(t.rank() - 1);
  Tensor<double> out(t.rank() == 1 ? Shape{count} : Shape{rows, count});
  const int64_t n = t.rank() == 1 ? 1 : rows;
  for (int64_t r = 0; r < n; ++r) {
    std::copy(t.storage().begin() + r * cols + begin, t.storage().begin() + r * cols + begin + count,
              out.storage().begin() + r * count);
  }
  return out;
}

Tensor<double> stack_rows(const Tensor<double>& a, const Tensor<double>& b) {
  Tensor<double> out({a.dim(0) + b.dim(0), a.dim(1)});
  std::copy(a.storage().begin(), a.storage().end(), out.storage().begin());
  std::copy(b.storage().begin(), b.storage().end(), out.storage().begin() + a.numel());
  return out;
}

// [rows, ca] and [rows, cb] (or two vectors) side by side; the caller checks the rows agree.
Tensor<double> join_columns(const Tensor<double>& a, const Tensor<double>& b) {
  const int64_t rows = a.rank() == 1 ? 1 : a.dim(0), ca = a.dim(a.rank() - 1), cb = b.dim(b.rank() - 1);
  Tensor<double> out(a.rank() == 1 ? Shape{ca + cb} : Shape{rows, ca + cb});
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(a.storage().begin() + r * ca, a.storage().begin() + (r + 1) * ca, out.storage().begin() + r * (ca + cb));
    std::copy(b.storage().begin() + r * cb, b.storage().begin() + (r + 1) * cb,
              out.storage().begin() + r * (ca + cb) + ca);
  }
  return out;
}

CellKind kind_of(const std::string& cell_class, const Tf1ImportOptions& options) {
  if (cell_class == "gru_cell" || is_cudnn_gru(cell_class)) return CellKind::gru;
  if (cell_class == "basic_rnn_cell") return options.rnn_nonlinearity.value_or(CellKind::rnn_tanh);
  return CellKind::lstm;
}

}  // namespace

std::string canonical_tf1_name(const std::string& name) {
  static const std::map<std::string, std::string> kClasses = {{"BasicLSTMCell", "basic_lstm_cell"},
                                                              {"LSTMCell", "lstm_cell"},
                                                              {"GRUCell", "gru_cell"},
                                                              {"BasicRNNCell", "basic_rnn_cell"}};
  // What follows a cell's scope: TF 0.x's (capitalized classes) and TF 1.0/1.1's names.
  static const std::vector<std::pair<std::string, std::string>> kOld = {{"Gates/Linear/Matrix", "gates/kernel"},
                                                                        {"Gates/Linear/Bias", "gates/bias"},
                                                                        {"Candidate/Linear/Matrix", "candidate/kernel"},
                                                                        {"Candidate/Linear/Bias", "candidate/bias"},
                                                                        {"Linear/Matrix", "kernel"},
                                                                        {"Linear/Bias", "bias"},
                                                                        {"W_0", "kernel"},
                                                                        {"B", "bias"},
                                                                        {"W_I_diag", "w_i_diag"},
                                                                        {"W_F_diag", "w_f_diag"},
                                                                        {"W_O_diag", "w_o_diag"},
                                                                        {"W_P_0", "projection/kernel"}};
  static const std::vector<std::pair<std::string, std::string>> kOneOh = {{"gates/weights", "gates/kernel"},
                                                                          {"gates/biases", "gates/bias"},
                                                                          {"candidate/weights", "candidate/kernel"},
                                                                          {"candidate/biases", "candidate/bias"},
                                                                          {"projection/weights", "projection/kernel"},
                                                                          {"weights", "kernel"},
                                                                          {"biases", "bias"}};
  const std::vector<std::string> parts = segments(name);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const auto cls = kClasses.find(p);
    const bool lower_class = std::find(cell_classes().begin(), cell_classes().end(), p) != cell_classes().end();
    if (cls != kClasses.end() || lower_class) {
      out.push_back(cls != kClasses.end() ? cls->second : p);
      std::string tail;
      for (std::size_t j = i + 1; j < parts.size(); ++j) tail += (tail.empty() ? "" : "/") + parts[j];
      for (const auto& [from, to] : cls != kClasses.end() ? kOld : kOneOh) {
        if (tail == from || tail.rfind(from + "/", 0) == 0) {
          tail = to + tail.substr(from.size());
          break;
        }
      }
      if (!tail.empty()) out.push_back(tail);
      break;
    }
    if (p == "RNN") {
      out.push_back("rnn");
    } else if (p == "MultiRNNCell") {
      out.push_back("multi_rnn_cell");
      if (i + 1 < parts.size() && parts[i + 1].rfind("Cell", 0) == 0 && parts[i + 1].size() > 4 &&
          parts[i + 1].find_first_not_of("0123456789", 4) == std::string::npos) {
        out.push_back("cell_" + parts[++i].substr(4));
      }
    } else if (p == "BiRNN_FW" || p == "BiRNN_BW") {
      out.push_back("bidirectional_rnn");
      out.push_back(p == "BiRNN_FW" ? "fw" : "bw");
    } else if (p == "BiRNN" && i + 1 < parts.size() && (parts[i + 1] == "FW" || parts[i + 1] == "BW")) {
      out.push_back("bidirectional_rnn");
      out.push_back(parts[++i] == "FW" ? "fw" : "bw");
    } else {
      out.push_back(p);
    }
  }
  std::string joined;
  for (const std::string& p : out) joined += (joined.empty() ? "" : "/") + p;
  return joined;
}

std::map<std::string, NpyArray> read_tf1_variables(const std::string& path) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npz") == 0) return read_npz(path);
  const SafetensorsFile file = SafetensorsFile::read(path);
  std::map<std::string, NpyArray> out;
  for (const SafetensorsEntry& e : file.entries()) out[e.name] = NpyArray{e.dtype, file.to_double(e)};
  return out;
}

Tf1Import import_tf1(const std::map<std::string, NpyArray>& variables, const std::string& origin,
                     const Tf1ImportOptions& options) {
  const std::string where = "tf1 variables '" + origin + "'";
  if (options.forget_bias && !std::isfinite(*options.forget_bias)) {
    throw Error(where + ": forget_bias " + std::to_string(*options.forget_bias) + " is not a finite number");
  }
  std::map<std::string, FoundCell> cells;  // by path
  std::set<std::string> elsewhere;
  bool all_f64 = true;
  for (const auto& [raw_name, array] : variables) {
    std::string name = raw_name;
    if (name.size() > 2 && name.compare(name.size() - 2, 2, ":0") == 0) name.resize(name.size() - 2);
    name = canonical_tf1_name(name);
    for (const std::string& cls : cell_classes()) {
      const std::size_t at = name.find(cls + "/");
      if (at == std::string::npos || (at > 0 && name[at - 1] != '/')) continue;
      const std::string path = name.substr(0, at + cls.size() + 1);
      if (name.rfind(options.prefix, 0) != 0) {
        elsewhere.insert(path);
        break;
      }
      auto it = cells.find(path);
      if (it == cells.end()) it = cells.emplace(path, locate(path, cls)).first;
      it->second.tensors[name.substr(path.size())] = &array;
      all_f64 = all_f64 && array.dtype == "F64";
      break;
    }
  }
  if (cells.empty()) {
    std::string list;
    for (const std::string& p : elsewhere) list += (list.empty() ? "" : ", ") + p;
    throw Error(where + ": no TF1 RNN cell (lstm_cell, basic_lstm_cell, gru_cell, basic_rnn_cell)" +
                (options.prefix.empty() ? std::string() : " under prefix '" + options.prefix + "'") +
                (list.empty() ? "" : "; cells found elsewhere: " + list));
  }
  std::set<std::string> roots, classes;
  int64_t layers = 0;
  bool bidirectional = false;
  for (const auto& [path, c] : cells) {
    roots.insert(c.root);
    classes.insert(c.cell_class);
    layers = std::max(layers, c.layer + 1);
    bidirectional = bidirectional || c.direction == 1;
  }
  if (roots.size() > 1) {
    std::string list;
    for (const std::string& r : roots) list += (list.empty() ? "'" : ", '") + r + "'";
    throw Error(where + ": cells of several models, under " + list + ": choose one with --prefix");
  }
  if (classes.size() > 1)
    throw Error(where + ": cells of different kinds (" + *classes.begin() + ", " + *classes.rbegin() + ")");
  const std::string cell_class = *classes.begin();
  const CellKind cell = kind_of(cell_class, options);
  if (options.rnn_nonlinearity && cell_class != "basic_rnn_cell") {
    throw Error(where + ": a nonlinearity was given, but the cells are " + cell_class + " (only BasicRNNCell has one)");
  }
  if (options.activation != CellActivation::tanh && cell_class == "basic_rnn_cell") {
    throw Error(where +
                ": an activation was given for BasicRNNCells; their activation is the nonlinearity (relu or tanh)");
  }
  const int64_t directions = bidirectional ? 2 : 1;
  // bidirectional_rnn/{fw,bw}/multi_rnn_cell/cell_k: each direction stacked on its own.
  const bool per_direction = cells.begin()->second.direction_outside_stack;
  for (const auto& [path, c] : cells) {
    if (c.direction_outside_stack != per_direction) {
      throw Error(where + ": '" + cells.begin()->first + "' and '" + path +
                  "' stack their layers differently (one inside each direction, one around both)");
    }
  }
  std::vector<const FoundCell*> ordered(static_cast<std::size_t>(layers * directions), nullptr);
  for (const auto& [path, c] : cells) {
    const std::size_t index = static_cast<std::size_t>(c.layer * directions + c.direction);
    if (ordered[index] != nullptr)
      throw Error(where + ": '" + ordered[index]->path + "' and '" + path + "' are the same cell");
    ordered[index] = &c;
  }
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    if (ordered[i] == nullptr) {
      throw Error(where + ": no cell for layer " + std::to_string(static_cast<int64_t>(i) / directions) +
                  (bidirectional ? (i % 2 ? " backward" : " forward") : ""));
    }
  }

  // CudnnCompatibleGRUCell's weights convert as GRUCell's; its reset applies after.
  const CellLayout& layout = cell_layout(Framework::tf1, cell, GruReset::before);
  const GruReset reset = is_cudnn_gru(cell_class) ? GruReset::after : GruReset::before;
  // TF1 adds forget_bias at run time; CudnnCompatibleLSTMCell's is 0 (cuDNN has none).
  const double forget_bias = cell != CellKind::lstm
                                 ? 0.0
                                 : options.forget_bias.value_or(cell_class == "cudnn_compatible_lstm_cell" ? 0.0 : 1.0);
  RecurrentSpec spec{cell, 0, 0, layers, bidirectional, 0};
  if (per_direction && bidirectional) spec.stacking = Stacking::per_direction;
  std::vector<CellWeights> weights;
  std::vector<CellSources> sources;
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    const FoundCell& c = *ordered[i];
    const std::string at = where + ", cell '" + c.path + "'";
    if (c.tensors.count("recurrent_kernel") != 0) {
      throw Error(at +
                  ": a tf.keras cell (it has a recurrent_kernel), not a TF1 one: import it with its Keras "
                  "layout (rnnkit import --from tf reads it so from a TensorFlow checkpoint)");
    }
    auto tensor = [&](const std::string& key, int rank) -> const Tensor<double>& {
      const auto it = c.tensors.find(key);
      if (it == c.tensors.end()) throw Error(at + ": no '" + c.path + key + "'");
      if (it->second->values.rank() != rank) {
        throw Error(at + ": '" + c.path + key + "' has shape " + shape_to_string(it->second->values.shape()) +
                    ", expected rank " + std::to_string(rank));
      }
      return it->second->values;
    };
    Tensor<double> kernel, bias, projection, peephole;
    std::string kernel_name = "kernel", bias_name = "bias";
    Tensor<double> recurrent_candidate_bias;  // CudnnCompatibleGRUCell: the hidden projection's bias
    if (is_cudnn_gru(cell_class)) {
      // The candidate's input and hidden projections are the [in + H, H] kernel of a GRUCell
      // split by rows; the reset applies after the hidden one, whose bias stays inside.
      const Tensor<double>& input_projection = tensor("candidate/input_projection/kernel", 2);
      const Tensor<double>& hidden_projection = tensor("candidate/hidden_projection/kernel", 2);
      if (input_projection.dim(1) != hidden_projection.dim(1) || hidden_projection.dim(0) != hidden_projection.dim(1)) {
        throw Error(at + ": candidate/input_projection/kernel " + shape_to_string(input_projection.shape()) +
                    " and candidate/hidden_projection/kernel " + shape_to_string(hidden_projection.shape()) +
                    " are not [I, H] and [H, H]");
      }
      const Tensor<double> candidate = stack_rows(input_projection, hidden_projection);
      if (tensor("gates/kernel", 2).dim(0) != candidate.dim(0)) {
        throw Error(at + ": gates/kernel " + shape_to_string(tensor("gates/kernel", 2).shape()) +
                    " and the candidate's projections (" + std::to_string(candidate.dim(0)) +
                    " rows together) have different row counts (both are [I + H, ...])");
      }
      kernel = join_columns(tensor("gates/kernel", 2), candidate);
      bias = join_columns(tensor("gates/bias", 1), tensor("candidate/input_projection/bias", 1));
      recurrent_candidate_bias = tensor("candidate/hidden_projection/bias", 1);
      if (recurrent_candidate_bias.numel() != hidden_projection.dim(1)) {
        throw Error(at + ": candidate/hidden_projection/bias has " + std::to_string(recurrent_candidate_bias.numel()) +
                    " values, expected H = " + std::to_string(hidden_projection.dim(1)));
      }
      kernel_name = "gates/kernel + candidate/{input,hidden}_projection/kernel";
      bias_name = "gates/bias + candidate/input_projection/bias";
    } else if (cell == CellKind::gru) {
      const Shape& gates = tensor("gates/kernel", 2).shape();
      const Shape& candidate = tensor("candidate/kernel", 2).shape();
      if (gates[0] != candidate[0]) {
        throw Error(at + ": gates/kernel " + shape_to_string(gates) + " and candidate/kernel " +
                    shape_to_string(candidate) + " have different row counts (both are [I + H, ...])");
      }
      kernel = join_columns(tensor("gates/kernel", 2), tensor("candidate/kernel", 2));
      bias = join_columns(tensor("gates/bias", 1), tensor("candidate/bias", 1));
      kernel_name = "gates/kernel + candidate/kernel";
      bias_name = "gates/bias + candidate/bias";
    } else {
      kernel = tensor("kernel", 2);
      bias = tensor("bias", 1);
      if (c.tensors.count("projection/kernel") != 0) projection = tensor("projection/kernel", 2);
      const int diagonals =
          static_cast<int>(c.tensors.count("w_i_diag") + c.tensors.count("w_f_diag") + c.tensors.count("w_o_diag"));
      if (diagonals == 3) {  // LSTMCell(use_peepholes=True): w_i_diag, w_f_diag, w_o_diag [H], in rnnkit's order
        const Tensor<double>&wi = tensor("w_i_diag", 1), &wf = tensor("w_f_diag", 1), &wo = tensor("w_o_diag", 1);
        if (wf.numel() != wi.numel() || wo.numel() != wi.numel()) {
          throw Error(at + ": w_i_diag, w_f_diag and w_o_diag have " + std::to_string(wi.numel()) + ", " +
                      std::to_string(wf.numel()) + " and " + std::to_string(wo.numel()) + " values, expected H each");
        }
        peephole = Tensor<double>({3, wi.numel()});
        for (int64_t j = 0; j < wi.numel(); ++j) {
          peephole[j] = wi[j];
          peephole[wi.numel() + j] = wf[j];
          peephole[2 * wi.numel() + j] = wo[j];
        }
      } else if (diagonals != 0) {
        throw Error(at + ": peepholes need all of w_i_diag, w_f_diag and w_o_diag; found " + std::to_string(diagonals) +
                    " of them");
      }
    }
    const int64_t gates = gate_count(cell), hidden = bias.numel() / gates;
    if (hidden < 1 || bias.numel() != gates * hidden) {
      throw Error(at + ": bias has " + std::to_string(bias.numel()) + " values, expected " + std::to_string(gates) +
                  "*H");
    }
    const int64_t recurrent_width = projection.numel() > 0 ? projection.dim(1) : hidden;
    if (projection.numel() > 0 && projection.dim(0) != hidden) {
      throw Error(at + ": projection/kernel has shape " + shape_to_string(projection.shape()) + ", expected [" +
                  std::to_string(hidden) + ", P]");
    }
    if (kernel.dim(1) != gates * hidden || kernel.dim(0) <= recurrent_width) {
      throw Error(at + ": " + kernel_name + " has shape " + shape_to_string(kernel.shape()) + ", expected [in + " +
                  std::to_string(recurrent_width) + ", " + std::to_string(gates * hidden) + "]");
    }
    const int64_t inputs = kernel.dim(0) - recurrent_width;
    if (i == 0) {
      spec.input_size = inputs;
      spec.hidden_size = hidden;
      spec.proj_size = projection.numel() > 0 ? recurrent_width : 0;
      spec.peepholes = peephole.numel() > 0;
    } else {
      const int64_t layer = static_cast<int64_t>(i) / directions;
      const int64_t expected_inputs = spec.layer_input_size(layer);
      if (hidden != spec.hidden_size || recurrent_width != spec.recurrent_width() || inputs != expected_inputs) {
        throw Error(at + ": has H=" + std::to_string(hidden) + ", " + std::to_string(inputs) +
                    " inputs and recurrent width " + std::to_string(recurrent_width) +
                    "; expected H=" + std::to_string(spec.hidden_size) + ", " + std::to_string(expected_inputs) +
                    " inputs and recurrent width " + std::to_string(spec.recurrent_width()) +
                    (spec.stacking == Stacking::per_direction ? " (each direction stacked on its own)" : ""));
      }
      if ((peephole.numel() > 0) != spec.peepholes) {
        throw Error(at + ": " + (spec.peepholes ? "has no peepholes" : "has peepholes") + ", but '" + ordered[0]->path +
                    "' " + (spec.peepholes ? "has" : "has none"));
      }
    }
    CellWeights w = to_rnnkit(
        layout, {rows_of(kernel, 0, inputs), rows_of(kernel, inputs, recurrent_width), bias, {}, peephole}, hidden, at);
    if (cell == CellKind::lstm) {
      // Into bias_hh, which is zero for a single TF bias: exact in any float type, and export
      // takes it back out of bias_hh before adding the two, so the bias returns bit for bit.
      for (int64_t j = hidden; j < 2 * hidden; ++j) w.bias_hh[j] += forget_bias;  // rnnkit's f block
    }
    if (recurrent_candidate_bias.numel() > 0) {
      for (int64_t j = 0; j < hidden; ++j) w.bias_hh[2 * hidden + j] = recurrent_candidate_bias[j];  // rnnkit's n block
    }
    if (projection.numel() > 0) w.weight_hr = transposed<double>(projection.view());
    weights.push_back(std::move(w));
    const std::string origin_prefix = "tf1 " + origin + ":" + c.path;
    CellSources s = cell_sources(layout, origin_prefix, kernel_name + " (input rows)",
                                 kernel_name + " (recurrent rows)", bias_name);
    if (cell == CellKind::lstm && forget_bias != 0.0) {
      s.bias_hh = "forget_bias " + format_spec_number(forget_bias) + " in the f block (TF1 adds it at run time)";
    }
    if (recurrent_candidate_bias.numel() > 0) s.bias_hh = origin_prefix + "candidate/hidden_projection/bias (n block)";
    s.weight_hr = origin_prefix + "projection/kernel (transposed)";
    s.weight_peephole = origin_prefix + "w_i_diag, w_f_diag, w_o_diag";
    sources.push_back(std::move(s));
    paths.push_back(c.path);
  }
  spec.validate();
  const std::string scope = options.scope.empty() ? cell_name(spec.cell) : options.scope;
  const DType dtype = options.dtype.value_or(all_f64 ? DType::f64 : DType::f32);
  RecurrentLayerOptions layer_options;
  if (cell == CellKind::gru) layer_options.cell.gru_reset = reset;  // TF1's GRUCell: before
  if (cell == CellKind::lstm || cell == CellKind::gru) layer_options.cell.activation = options.activation;
  layer_options.cell.cell_clip = options.cell_clip;
  layer_options.cell.proj_clip = options.proj_clip;
  try {
    check_recurrent_options(spec, layer_options);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  return {model_from_cell_weights(spec, layer_options, dtype, scope, weights, sources), paths, forget_bias};
}

std::vector<std::string> default_tf1_cell_paths(const RecurrentSpec& spec) {
  const std::string cls = spec.cell == CellKind::lstm  ? "lstm_cell"
                          : spec.cell == CellKind::gru ? "gru_cell"
                                                       : "basic_rnn_cell";
  std::vector<std::string> out;
  for (int64_t l = 0; l < spec.num_layers; ++l) {
    for (int64_t d = 0; d < spec.directions(); ++d) {
      const std::string dir = d ? "bw/" : "fw/";
      if (!spec.bidirectional) {
        out.push_back(spec.num_layers == 1 ? "rnn/" + cls + "/"
                                           : "rnn/multi_rnn_cell/cell_" + std::to_string(l) + "/" + cls + "/");
      } else if (spec.stacking == Stacking::per_direction && spec.num_layers > 1) {
        out.push_back("bidirectional_rnn/" + dir + "multi_rnn_cell/cell_" + std::to_string(l) + "/" + cls + "/");
      } else {
        out.push_back(spec.num_layers == 1 ? "bidirectional_rnn/" + dir + cls + "/"
                                           : "stack_bidirectional_rnn/cell_" + std::to_string(l) +
                                                 "/bidirectional_rnn/" + dir + cls + "/");
      }
    }
  }
  return out;
}

std::vector<std::pair<std::string, Tensor<double>>> export_tf1(const RecurrentModel& model, double forget_bias,
                                                               std::vector<std::string> cell_paths) {
  const RecurrentSpec& spec = model.spec;
  if (!std::isfinite(forget_bias)) {
    throw Error("export to TF1: forget_bias " + std::to_string(forget_bias) + " is not a finite number");
  }
  if (spec.cell == CellKind::gru && model.options.cell.gru_reset == GruReset::after) {
    throw Error("export to TF1: the GRU '" + model.scope + "' applies its reset after the recurrent product; " +
                "TF1's GRUCell applies it before, so its weights would compute something else");
  }
  if (model.options.merge != BidirectionalMerge::concat) {
    throw Error(std::string("export to TF1: the layer merges its directions by ") + merge_name(model.options.merge) +
                "; TF1's bidirectional RNNs concatenate them");
  }
  const CellOptions& cell = model.options.cell;
  if (!cell.recurrent_activation.is_sigmoid()) {
    throw Error("export to TF1: the layer's gates are " + cell.recurrent_activation.spec() +
                "; TF1's LSTMCell and GRUCell gates are sigmoid");
  }
  if (cell.gate_clip > 0.0)
    throw Error("export to TF1: TF1's cells do not clip their gate pre-activations (gate_clip)");
  if (cell_paths.empty()) cell_paths = default_tf1_cell_paths(spec);
  std::vector<CellWeights> weights = cell_weights_of(model);
  if (cell_paths.size() != weights.size()) {
    throw Error("export to TF1: " + std::to_string(cell_paths.size()) + " cell paths for " +
                std::to_string(weights.size()) + " cells");
  }
  const CellLayout& layout = cell_layout(Framework::tf1, spec.cell, GruReset::before);
  const int64_t hidden = spec.hidden_size;
  std::vector<std::pair<std::string, Tensor<double>>> out;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    CellWeights& w = weights[i];
    if (!spec.bias) {  // TF1's cells always have a bias: a layer without one exports zeros
      w.bias_ih = Tensor<double>({gate_count(spec.cell) * hidden});
      w.bias_hh = Tensor<double>({gate_count(spec.cell) * hidden});
    }
    if (spec.cell == CellKind::lstm) {
      for (int64_t j = hidden; j < 2 * hidden; ++j) w.bias_hh[j] -= forget_bias;  // first: 0 again after an import
    }
    const FrameworkCellWeights f = from_rnnkit(layout, w, hidden);
    const Tensor<double> kernel = stack_rows(f.kernel, f.recurrent);
    const std::string& path = cell_paths[i];
    if (spec.cell == CellKind::gru) {
      out.emplace_back(path + "gates/kernel", columns_of(kernel, 0, 2 * hidden));
      out.emplace_back(path + "gates/bias", columns_of(f.bias, 0, 2 * hidden));
      out.emplace_back(path + "candidate/kernel", columns_of(kernel, 2 * hidden, hidden));
      out.emplace_back(path + "candidate/bias", columns_of(f.bias, 2 * hidden, hidden));
    } else {
      out.emplace_back(path + "kernel", kernel);
      out.emplace_back(path + "bias", f.bias);
      if (spec.proj_size > 0) out.emplace_back(path + "projection/kernel", transposed<double>(w.weight_hr.view()));
      if (spec.peepholes) {  // f.peephole rows i, f, o
        const int64_t h = spec.hidden_size;
        for (int64_t k = 0; k < 3; ++k) {
          Tensor<double> diagonal({h});
          std::copy(f.peephole.storage().begin() + k * h, f.peephole.storage().begin() + (k + 1) * h,
                    diagonal.storage().begin());
          out.emplace_back(path + (k == 0 ? "w_i_diag" : k == 1 ? "w_f_diag" : "w_o_diag"), std::move(diagonal));
        }
      }
    }
  }
  return out;
}

}  // namespace rnnkit

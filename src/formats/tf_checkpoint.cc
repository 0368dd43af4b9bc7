// An open TensorFlow checkpoint: its variables, what each is for, and their values; see
// formats/tf_checkpoint.h.
#include "rnnkit/formats/tf_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "protobuf_wire.h"
#include "rnnkit/core/dtype.h"
#include "rnnkit/core/error.h"
#include "tf_checkpoint_state.h"

namespace rnnkit {
namespace {

constexpr const char* kObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH";
constexpr std::string_view kVariableValue = "/.ATTRIBUTES/VARIABLE_VALUE";

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Little-endian elements of a TensorFlow dtype, widened.
double element_at(const std::byte* p, int dtype) {
  switch (dtype) {
    case kTfFloat: return load<float>(p);
    case kTfDouble: return load<double>(p);
    case kTfHalf: return half_to_float(load<uint16_t>(p));
    case kTfBfloat16: return bfloat16_to_float(load<uint16_t>(p));
    case kTfInt8: return load<int8_t>(p);
    case kTfInt16: return load<int16_t>(p);
    case kTfInt32: return load<int32_t>(p);
    case kTfInt64: return static_cast<double>(load<int64_t>(p));
    case kTfUint8:
    case kTfBool: return load<uint8_t>(p);
    case kTfUint16: return load<uint16_t>(p);
    case kTfUint32: return load<uint32_t>(p);
    case kTfUint64: return static_cast<double>(load<uint64_t>(p));
    default: return 0.0;
  }
}

// A V1 TensorProto's values, `count` of them, as float64.
std::vector<double> v1_values(std::span<const std::byte> tensor, int dtype, int64_t count, const std::string& what) {
  using detail::ProtoField;
  using detail::ProtoReader;
  ProtoReader r(tensor, what);
  std::vector<uint32_t> f32;
  std::vector<uint64_t> f64, ints;
  std::span<const std::byte> content;
  ProtoField f;
  while (r.next(f)) {
    switch (f.number) {
      case 4: content = r.as_bytes(f, "tensor_content"); break;
      case 5: r.append_fixed32s(f, "float_val", f32); break;
      case 6: r.append_fixed64s(f, "double_val", f64); break;
      case 7:
      case 10:
      case 11:
      case 13: r.append_varints(f, "int_val", ints); break;
      default: break;
    }
  }
  std::vector<double> out;
  const auto n = static_cast<uint64_t>(count);
  auto wrong = [&](uint64_t found) {
    throw Error(what + ": " + std::to_string(found) + " values, expected " + std::to_string(count) + " (its shape)");
  };
  if (!content.empty()) {
    const std::size_t element = tf_dtype_size(dtype);
    if (content.size() / element != n || content.size() % element != 0) wrong(content.size() / element);
    out.reserve(n);
    for (uint64_t i = 0; i < n; ++i) out.push_back(element_at(content.data() + i * element, dtype));
  } else if (dtype == kTfFloat) {
    if (f32.size() != n) wrong(f32.size());
    for (const uint32_t v : f32) out.push_back(std::bit_cast<float>(v));
  } else if (dtype == kTfDouble) {
    if (f64.size() != n) wrong(f64.size());
    for (const uint64_t v : f64) out.push_back(std::bit_cast<double>(v));
  } else if (dtype == kTfHalf) {
    if (ints.size() != n) wrong(ints.size());
    for (const uint64_t v : ints) out.push_back(half_to_float(static_cast<uint16_t>(v)));
  } else {
    if (ints.size() != n) wrong(ints.size());
    for (const uint64_t v : ints) {
      out.push_back(dtype == kTfUint64 ? static_cast<double>(v) : static_cast<double>(static_cast<int64_t>(v)));
    }
  }
  return out;
}

std::string last_component(const std::string& name) {
  const std::size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

TfVariableRole role_of(const TfVariable& v, const std::set<std::string>& names) {
  if (v.key == kObjectGraphKey) return TfVariableRole::object_graph;
  static const std::set<std::string> kCounters = {
      "global_step", "beta1_power",        "beta2_power", "save_counter",  "iter",
      "iteration",   "iterations",         "_iterations", "learning_rate", "_learning_rate",
      "decay",       "current_loss_scale", "good_steps"};
  const std::string last = last_component(v.name);
  if (kCounters.count(v.name) != 0 || kCounters.count(v.key.substr(0, v.key.find('/'))) != 0 ||
      (v.key.rfind("optimizer/", 0) == 0 && kCounters.count(last) != 0)) {
    return TfVariableRole::counter;
  }
  if (v.key.find("/.OPTIMIZER_SLOT/") != std::string::npos || v.key.rfind("optimizer/", 0) == 0) {
    return TfVariableRole::optimizer_slot;
  }
  // TF1's optimizers name a slot after its variable: v/Adam, v/Adam_1, v/Momentum, v/RMSProp.
  const std::size_t slash = v.name.rfind('/');
  if (slash != std::string::npos && names.count(v.name.substr(0, slash)) != 0) return TfVariableRole::optimizer_slot;
  if (v.shape.empty() && v.dtype != "F32" && v.dtype != "F64") return TfVariableRole::counter;
  return TfVariableRole::weight;
}

}  // namespace

const char* tf_variable_role_name(TfVariableRole role) {
  switch (role) {
    case TfVariableRole::weight: return "weight";
    case TfVariableRole::optimizer_slot: return "optimizer slot";
    case TfVariableRole::counter: return "counter";
    case TfVariableRole::object_graph: return "object graph";
  }
  return "?";
}

std::string tf_slice_key(std::string_view name, const TfSliceExtents& extents) {
  // OrderedCode: an unsigned number is a length byte and its big-endian bytes (0 is one 0 byte);
  // a string is its bytes with 0x00 as 00 ff and 0xff as ff 00, then 00 01; a signed number n
  // takes L bytes (L from the bits of n, or of ~n when negative), big-endian two's complement
  // with its first bits replaced by a header of L-1 ones (for n >= 0; zeros for n < 0) and a
  // bit of the other value.
  std::string out;
  auto unsigned_number = [&](uint64_t v) {
    std::string bytes;
    while (v > 0) {
      bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
      v >>= 8;
    }
    out += static_cast<char>(bytes.size());
    out += bytes;
  };
  auto signed_number = [&](int64_t n) {
    const uint64_t x = static_cast<uint64_t>(n < 0 ? ~n : n);
    int bits = 0;  // x's bit length: 1 + the position of its highest set bit (at least 1)
    for (uint64_t y = x; y > 0; y >>= 1) ++bits;
    if (x == 0) bits = 1;
    // n bytes hold 7n - 1 bits of magnitude: 1 byte [-64, 64), 2 bytes [-2^13, 2^13), ...
    int length = 1;
    while (length < 10 && 7 * length - 1 < bits) ++length;
    unsigned char buf[10];
    const uint64_t u = static_cast<uint64_t>(n);
    for (int i = 0; i < 10; ++i) {
      const int shift = 8 * (9 - i);
      buf[i] = shift >= 64 ? (n < 0 ? 0xff : 0x00) : static_cast<unsigned char>((u >> shift) & 0xff);
    }
    static const unsigned char kHeader[11][2] = {{0, 0},    {0x80, 0}, {0xc0, 0}, {0xe0, 0},    {0xf0, 0},   {0xf8, 0},
                                                 {0xfc, 0}, {0xfe, 0}, {0xff, 0}, {0xff, 0x80}, {0xff, 0xc0}};
    unsigned char* begin = buf + 10 - length;
    begin[0] ^= kHeader[length][0];
    if (length > 1) begin[1] ^= kHeader[length][1];
    out.append(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(length));
  };
  unsigned_number(0);
  for (const char c : name) {
    if (c == '\0') {
      out += '\0';
      out += '\xff';
    } else if (c == '\xff') {
      out += '\xff';
      out += '\0';
    } else {
      out += c;
    }
  }
  out += '\0';
  out += '\x01';
  unsigned_number(extents.size());
  for (const auto& [start, length] : extents) {
    signed_number(start);
    signed_number(length);
  }
  return out;
}

TfCheckpoint TfCheckpoint::open(const std::string& path) {
  auto state = std::make_shared<State>();
  resolve_tf_checkpoint_path(path, *state);
  if (state->format == TfCheckpointFormat::bundle) {
    read_tf_bundle_index(*state);
  } else {
    read_tf_v1_file(*state);
  }
  // TF2: names from the object graph.
  std::map<std::string, std::string> graph_names;
  for (std::size_t i = 0; i < state->variables.size(); ++i) {
    const TfVariable& v = state->variables[i];
    if (v.key != kObjectGraphKey) continue;
    const std::string what = state->where() + ", tensor '" + v.key + "'";
    if (v.dtype != "STRING" || !v.shape.empty() || state->pieces[i].size() != 1 ||
        state->format != TfCheckpointFormat::bundle) {
      throw Error(what + ": expected a scalar string, found " + v.dtype + " " + shape_to_string(v.shape));
    }
    const TfPiece& p = state->pieces[i][0];
    const std::vector<std::byte> stored = read_tf_piece_bytes(*state, p);
    graph_names = tf_object_graph_names(tf_scalar_string(stored, p.masked_crc32c, what), what);
    state->object_based = true;
  }
  // A name is the graph's full name, or an object path's key without its attribute suffix (a
  // TF2 checkpoint whose graph is missing), or the key. A name that another variable already
  // has, as its name or its key, is dropped for the key: every name finds one variable.
  std::set<std::string> keys, taken;
  for (const TfVariable& v : state->variables) keys.insert(v.key);
  for (TfVariable& v : state->variables) {
    if (const auto it = graph_names.find(v.key); it != graph_names.end()) {
      v.name = it->second;
    } else if (v.key.ends_with(kVariableValue)) {
      v.name = v.key.substr(0, v.key.size() - kVariableValue.size());
    }
    if (v.name != v.key && keys.count(v.name) != 0) v.name = v.key;
  }
  for (TfVariable& v : state->variables) {
    if (!taken.insert(v.name).second) v.name = v.key;
  }
  taken.clear();
  for (const TfVariable& v : state->variables) {
    if (!taken.insert(v.name).second) throw Error(state->where() + ": two variables are named '" + v.name + "'");
  }
  // Sort by name, keeping the parallel arrays together.
  std::vector<std::size_t> order(state->variables.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return state->variables[a].name < state->variables[b].name; });
  State sorted;
  for (const std::size_t i : order) {
    sorted.variables.push_back(std::move(state->variables[i]));
    sorted.dtypes.push_back(state->dtypes[i]);
    sorted.pieces.push_back(std::move(state->pieces[i]));
  }
  state->variables = std::move(sorted.variables);
  state->dtypes = std::move(sorted.dtypes);
  state->pieces = std::move(sorted.pieces);
  std::set<std::string> names;
  for (const TfVariable& v : state->variables) names.insert(v.name);
  for (TfVariable& v : state->variables) v.role = role_of(v, names);
  // A partitioned variable's slices must tile it: as many elements as it has, none twice. One
  // slice too (values() allocates the whole tensor, which only its slices' bytes may back), and
  // without overflow (the slices of a string tensor have no size that bounds them).
  for (std::size_t i = 0; i < state->variables.size(); ++i) {
    const std::vector<TfPiece>& pieces = state->pieces[i];
    const TfVariable& v = state->variables[i];
    const int64_t numel = shape_numel(v.shape);
    int64_t covered = 0;
    bool more = false;
    for (const TfPiece& p : pieces) {
      const int64_t n = shape_numel(tf_slice_shape(p.extents, v.shape, p.what));
      if (n > numel - covered) {
        more = true;
        break;
      }
      covered += n;
    }
    if (more || covered != numel) {
      throw Error(state->where() + ", tensor '" + v.key + "': its slices hold " +
                  (more ? "more than " + std::to_string(numel) : std::to_string(covered)) + " elements, the tensor " +
                  shape_to_string(v.shape) + " has " + std::to_string(numel));
    }
  }
  return TfCheckpoint(std::move(state));
}

const std::string& TfCheckpoint::prefix() const { return state_->prefix; }
const std::string& TfCheckpoint::resolution() const { return state_->resolution; }
TfCheckpointFormat TfCheckpoint::format() const { return state_->format; }
bool TfCheckpoint::object_based() const { return state_->object_based; }
const std::vector<TfVariable>& TfCheckpoint::variables() const { return state_->variables; }

const TfVariable* TfCheckpoint::find(std::string_view name_or_key) const {
  for (const TfVariable& v : state_->variables) {
    if (v.name == name_or_key || v.key == name_or_key) return &v;
  }
  return nullptr;
}

Tensor<double> TfCheckpoint::values(const TfVariable& variable) const {
  const State& s = *state_;
  const auto index = static_cast<std::size_t>(&variable - s.variables.data());
  if (index >= s.variables.size()) throw Error("TfCheckpoint::values: the variable is not this checkpoint's");
  const int dtype = s.dtypes[index];
  const std::string what = s.where() + ", tensor '" + variable.key + "'";
  if (!tf_dtype_is_numeric(dtype)) {
    throw Error(what + ": holds " + variable.dtype + " values, not numbers rnnkit reads");
  }
  Tensor<double> out(variable.shape);
  std::vector<uint8_t> seen(s.pieces[index].size() > 1 ? static_cast<std::size_t>(out.numel()) : 0);
  for (const TfPiece& p : s.pieces[index]) {
    const Shape piece_shape = tf_slice_shape(p.extents, variable.shape, p.what);
    const int64_t count = shape_numel(piece_shape);
    std::vector<double> values;
    if (s.format == TfCheckpointFormat::bundle) {
      const std::vector<std::byte> bytes = read_tf_piece(s, p);
      const std::size_t element = tf_dtype_size(dtype);
      values.resize(static_cast<std::size_t>(count));
      for (int64_t i = 0; i < count; ++i)
        values[static_cast<std::size_t>(i)] = element_at(bytes.data() + i * element, dtype);
    } else {
      values = v1_values(p.v1_tensor, dtype, count, p.what);
    }
    // Row-major copy of the piece into its place.
    const std::size_t rank = piece_shape.size();
    std::vector<int64_t> index_in(rank, 0);
    for (int64_t i = 0; i < count; ++i) {
      int64_t flat = 0;
      for (std::size_t d = 0; d < rank; ++d) flat = flat * variable.shape[d] + p.extents[d].first + index_in[d];
      if (!seen.empty()) {
        if (seen[static_cast<std::size_t>(flat)] != 0) throw Error(p.what + ": overlaps another slice of the tensor");
        seen[static_cast<std::size_t>(flat)] = 1;
      }
      out[flat] = values[static_cast<std::size_t>(i)];
      for (std::size_t d = rank; d-- > 0;) {
        if (++index_in[d] < piece_shape[d]) break;
        index_in[d] = 0;
      }
    }
  }
  return out;
}

std::map<std::string, NpyArray> TfCheckpoint::float_variables() const {
  std::map<std::string, NpyArray> out;
  for (const TfVariable& v : state_->variables) {
    if (v.dtype != "F32" && v.dtype != "F64" && v.dtype != "F16" && v.dtype != "BF16") continue;
    // F16 and BF16 widen exactly to float32: they import as F32.
    out[v.name] = NpyArray{v.dtype == "F64" ? "F64" : "F32", values(v)};
  }
  return out;
}

}  // namespace rnnkit

// The V1 checkpoint format (TensorFlow before 0.12): one table of SavedTensorSlices records,
// read as hostile input; see formats/tf_checkpoint.h.
//
//   "" -> SavedTensorSlices{meta 1: SavedTensorSliceMeta{tensor 1: SavedSliceMeta{name 1,
//         shape 2, type 3, slice 4 (repeated)}, versions 2}}
//   other keys -> SavedTensorSlices{data 2: SavedSlice{name 1, slice 2, data 3: TensorProto}}
// The TensorProto holds only values: float_val 5, double_val 6, int_val 7, int64_val 10,
// bool_val 11, half_val 13 (packed or not), or tensor_content 4. They are decoded when read.
#include <map>
#include <set>

#include "protobuf_wire.h"
#include "rnnkit/core/error.h"
#include "tf_checkpoint_state.h"

namespace rnnkit {
namespace {

using detail::ProtoField;
using detail::ProtoReader;

struct SliceMeta {
  std::string name;
  Shape shape;
  int dtype = 0;
  std::vector<TfSliceExtents> slices;
};

SliceMeta parse_slice_meta(std::span<const std::byte> message, const std::string& what) {
  ProtoReader r(message, what);
  SliceMeta m;
  bool has_shape = false;
  ProtoField f;
  while (r.next(f)) {
    if (f.number == 1) m.name = r.as_string(f, "name");
    if (f.number == 2) {
      m.shape = parse_tf_shape(r.as_bytes(f, "shape"), what + ", shape");
      has_shape = true;
    }
    if (f.number == 3) m.dtype = r.as_int32(f, "type");
    if (f.number == 4) m.slices.push_back(parse_tf_slice(r.as_bytes(f, "slice"), what + ", slice"));
  }
  if (!has_shape) r.fail("", "no shape");
  return m;
}

}  // namespace

void read_tf_v1_file(TfCheckpoint::State& state) {
  state.table.emplace(TfTable::read(state.prefix));
  const TfTable& table = *state.table;
  const std::string where = "TensorFlow V1 checkpoint '" + state.prefix + "'";
  const std::vector<TfTableEntry>& entries = table.entries();
  if (entries.empty() || !entries[0].key.empty()) throw Error(where + ": no header record (the empty key)");
  // The meta record: every tensor and its slices.
  std::map<std::string, std::size_t> index_of;
  {
    ProtoReader top(entries[0].value, where + ", header");
    ProtoField f;
    bool has_meta = false;
    while (top.next(f)) {
      if (f.number != 1) continue;
      has_meta = true;
      ProtoReader meta(top.as_bytes(f, "meta"), where + ", header meta");
      ProtoField g;
      while (meta.next(g)) {
        if (g.number != 1) continue;
        SliceMeta m =
            parse_slice_meta(meta.as_bytes(g, "tensor"), where + ", tensor " + std::to_string(state.variables.size()));
        const std::string what = where + ", tensor '" + m.name + "'";
        if (!index_of.emplace(m.name, state.variables.size()).second) throw Error(what + ": listed twice");
        if (m.slices.empty()) throw Error(what + ": no slices listed");
        TfVariable v;
        v.name = v.key = m.name;
        v.dtype = tf_dtype_name(m.dtype);
        v.shape = m.shape;
        v.slices = m.slices.size() > 1 ? m.slices.size() : 0;
        std::vector<TfPiece> pieces;
        for (const auto& extents : m.slices) {
          tf_slice_shape(extents, m.shape, what + ", slice");
          TfPiece p;
          p.extents = extents;
          p.what = what + (m.slices.size() > 1 ? ", slice " + std::to_string(pieces.size()) : "");
          pieces.push_back(std::move(p));
        }
        state.variables.push_back(std::move(v));
        state.dtypes.push_back(m.dtype);
        state.pieces.push_back(std::move(pieces));
      }
    }
    if (!has_meta) throw Error(where + ": the header record holds no meta (not a V1 checkpoint)");
  }
  // The data records: each is one listed slice.
  for (std::size_t i = 1; i < entries.size(); ++i) {
    const std::string what = where + ", record " + std::to_string(i);
    ProtoReader top(entries[i].value, what);
    ProtoField f;
    bool found = false;
    while (top.next(f)) {
      if (f.number != 2) continue;
      if (found) top.fail("data", "two slices in one record");
      found = true;
      ProtoReader s(top.as_bytes(f, "data"), what);
      std::string name;
      TfSliceExtents extents;
      std::span<const std::byte> tensor;
      bool has_tensor = false;
      ProtoField g;
      while (s.next(g)) {
        if (g.number == 1) name = s.as_string(g, "name");
        if (g.number == 2) extents = parse_tf_slice(s.as_bytes(g, "slice"), what + ", slice");
        if (g.number == 3) {
          tensor = s.as_bytes(g, "data");
          has_tensor = true;
        }
      }
      const auto it = index_of.find(name);
      if (it == index_of.end()) throw Error(what + ": values of '" + name + "', which the header does not list");
      if (!has_tensor) throw Error(what + ": '" + name + "' has no values");
      bool matched = false;
      for (TfPiece& p : state.pieces[it->second]) {
        if (p.extents != extents) continue;
        if (!p.v1_tensor.empty() || p.size == 1) throw Error(what + ": a second record for a slice of '" + name + "'");
        p.v1_tensor = tensor;
        p.size = 1;  // marks the piece as found (an empty TensorProto is an error when read)
        matched = true;
      }
      if (!matched) throw Error(what + ": a slice of '" + name + "' that the header does not list");
    }
    if (!found) throw Error(what + ": not a slice record");
  }
  for (std::size_t v = 0; v < state.variables.size(); ++v) {
    for (const TfPiece& p : state.pieces[v]) {
      if (p.size != 1) throw Error(p.what + ": listed in the header, but no record holds its values");
      // Every value takes a byte at least (values are never broadcast in a checkpoint): a
      // shape the record cannot back would have values() allocate what the file does not hold.
      const int64_t count = shape_numel(tf_slice_shape(p.extents, state.variables[v].shape, p.what));
      if (static_cast<uint64_t>(count) > p.v1_tensor.size()) {
        throw Error(p.what + ": " + std::to_string(count) + " values of shape " +
                    shape_to_string(state.variables[v].shape) + " in a record of " +
                    std::to_string(p.v1_tensor.size()) + " bytes");
      }
    }
  }
}

}  // namespace rnnkit

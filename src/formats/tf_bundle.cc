// A V2 tensor bundle's index and data shards, read as hostile input; see formats/tf_checkpoint.h.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "protobuf_wire.h"
#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/error.h"
#include "tf_checkpoint_state.h"

namespace rnnkit {
namespace {

using detail::ProtoField;
using detail::ProtoReader;

// Each shard is a file to open: more than this many is not a checkpoint anyone wrote.
constexpr int32_t kMaxShards = 100000;
constexpr int kMaxRank = 254;  // TensorFlow's TensorShape::MaxDimensions()

struct BundleEntry {
  int dtype = 0;
  Shape shape;
  int32_t shard = 0;
  int64_t offset = 0, size = 0;
  uint32_t crc = 0;
  bool has_crc = false;
  std::vector<TfSliceExtents> slices;
};

BundleEntry parse_entry(std::span<const std::byte> value, const std::string& what) {
  ProtoReader r(value, what);
  BundleEntry e;
  bool has_shape = false;
  ProtoField f;
  while (r.next(f)) {
    switch (f.number) {
      case 1: e.dtype = r.as_int32(f, "dtype"); break;
      case 2:
        e.shape = parse_tf_shape(r.as_bytes(f, "shape"), what + ", shape");
        has_shape = true;
        break;
      case 3: e.shard = r.as_int32(f, "shard_id"); break;
      case 4: e.offset = r.as_int64(f, "offset"); break;
      case 5: e.size = r.as_int64(f, "size"); break;
      case 6:
        e.crc = r.as_fixed32(f, "crc32c");
        e.has_crc = true;
        break;
      case 7:
        e.slices.push_back(
            parse_tf_slice(r.as_bytes(f, "slices"), what + ", slice " + std::to_string(e.slices.size())));
        break;
      default: break;  // fields of later TensorFlow versions
    }
  }
  if (!has_shape) r.fail("", "no shape");
  if (e.shard < 0 || e.offset < 0 || e.size < 0) {
    r.fail("", "negative shard " + std::to_string(e.shard) + ", offset " + std::to_string(e.offset) + " or size " +
                   std::to_string(e.size));
  }
  return e;
}

std::string shard_path(const std::string& prefix, int32_t shard, int32_t shards) {
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".data-%05d-of-%05d", shard, shards);
  return prefix + suffix;
}

}  // namespace

std::string tf_dtype_name(int dtype) {
  switch (dtype) {
    case kTfFloat: return "F32";
    case kTfDouble: return "F64";
    case kTfInt32: return "I32";
    case kTfUint8: return "U8";
    case kTfInt16: return "I16";
    case kTfInt8: return "I8";
    case kTfString: return "STRING";
    case 8: return "COMPLEX64";
    case kTfInt64: return "I64";
    case kTfBool: return "BOOL";
    case 11: return "QINT8";
    case 12: return "QUINT8";
    case 13: return "QINT32";
    case kTfBfloat16: return "BF16";
    case 15: return "QINT16";
    case 16: return "QUINT16";
    case kTfUint16: return "U16";
    case 18: return "COMPLEX128";
    case kTfHalf: return "F16";
    case 20: return "RESOURCE";
    case 21: return "VARIANT";
    case kTfUint32: return "U32";
    case kTfUint64: return "U64";
    default: return "DT_" + std::to_string(dtype);
  }
}

std::size_t tf_dtype_size(int dtype) {
  switch (dtype) {
    case kTfUint8:
    case kTfInt8:
    case kTfBool:
    case 11:
    case 12: return 1;
    case kTfInt16:
    case kTfBfloat16:
    case 15:
    case 16:
    case kTfUint16:
    case kTfHalf: return 2;
    case kTfFloat:
    case kTfInt32:
    case 13:
    case kTfUint32: return 4;
    case kTfDouble:
    case 8:
    case kTfInt64:
    case kTfUint64: return 8;
    case 18: return 16;
    default: return 0;
  }
}

bool tf_dtype_is_numeric(int dtype) {
  switch (dtype) {
    case kTfFloat:
    case kTfDouble:
    case kTfHalf:
    case kTfBfloat16:
    case kTfInt8:
    case kTfInt16:
    case kTfInt32:
    case kTfInt64:
    case kTfUint8:
    case kTfUint16:
    case kTfUint32:
    case kTfUint64:
    case kTfBool: return true;
    default: return false;
  }
}

Shape parse_tf_shape(std::span<const std::byte> message, const std::string& what) {
  ProtoReader r(message, what);
  Shape shape;
  ProtoField f;
  while (r.next(f)) {
    if (f.number == 2) {
      if (shape.size() == kMaxRank) r.fail("dim", "more than " + std::to_string(kMaxRank) + " dimensions");
      ProtoReader d(r.as_bytes(f, "dim"), what + ", dimension " + std::to_string(shape.size()));
      int64_t size = 0;
      ProtoField g;
      while (d.next(g)) {
        if (g.number == 1) size = d.as_int64(g, "size");
      }
      if (size < 0)
        r.fail("dim", "dimension " + std::to_string(shape.size()) + " has size " + std::to_string(size) +
                          " (a checkpoint's shapes are fully known)");
      shape.push_back(size);
    } else if (f.number == 3 && r.as_bool(f, "unknown_rank")) {
      r.fail("unknown_rank", "the shape's rank is unknown (a checkpoint's shapes are fully known)");
    }
  }
  shape_numel(shape, what.c_str());  // throws on overflow
  return shape;
}

TfSliceExtents parse_tf_slice(std::span<const std::byte> message, const std::string& what) {
  ProtoReader r(message, what);
  TfSliceExtents extents;
  ProtoField f;
  while (r.next(f)) {
    if (f.number != 1) continue;
    if (extents.size() == kMaxRank) r.fail("extent", "more than " + std::to_string(kMaxRank) + " dimensions");
    ProtoReader e(r.as_bytes(f, "extent"), what + ", extent " + std::to_string(extents.size()));
    int64_t start = 0, length = -1;
    ProtoField g;
    while (e.next(g)) {
      if (g.number == 1) start = e.as_int64(g, "start");
      if (g.number == 2) {
        length = e.as_int64(g, "length");
        if (length < 0) e.fail("length", std::to_string(length) + " (expected >= 0)");
      }
    }
    if (start < 0) e.fail("start", std::to_string(start) + " (expected >= 0)");
    extents.emplace_back(start, length);
  }
  return extents;
}

Shape tf_slice_shape(const TfSliceExtents& extents, const Shape& full, const std::string& what) {
  // TensorFlow writes no extents for a scalar, and for a whole tensor one per dimension.
  if (extents.size() != full.size()) {
    throw Error(what + ": " + std::to_string(extents.size()) + " extents for a tensor of shape " +
                shape_to_string(full));
  }
  Shape out(full.size());
  for (std::size_t d = 0; d < full.size(); ++d) {
    const auto [start, length] = extents[d];
    if (length < 0) {
      if (start != 0) {
        throw Error(what + ": dimension " + std::to_string(d) + " starts at " + std::to_string(start) +
                    " but takes all of it");
      }
      out[d] = full[d];
    } else {
      if (start > full[d] || length > full[d] - start) {
        throw Error(what + ": dimension " + std::to_string(d) + " [" + std::to_string(start) + ", " +
                    std::to_string(start) + " + " + std::to_string(length) + ") lies outside the tensor's " +
                    std::to_string(full[d]));
      }
      out[d] = length;
    }
  }
  return out;
}

std::vector<std::byte> tf_scalar_string(std::span<const std::byte> stored, uint32_t masked_crc32c,
                                        const std::string& what) {
  // varint64 length, fixed32 masked crc32c of the length (as 4 bytes, 8 past 2^32 - 1), the bytes;
  // the entry's crc32c runs over the length as fixed-width bytes, the stored checksum and the bytes.
  std::size_t at = 0;
  uint64_t length = 0;
  if (!detail::read_varint(stored, at, length)) throw Error(what + ": malformed string length");
  if (stored.size() - at < 4 || length != stored.size() - at - 4) {
    throw Error(what + ": string of " + std::to_string(length) + " bytes in a " + std::to_string(stored.size()) +
                "-byte tensor");
  }
  std::byte width[8];
  const std::size_t n = length > 0xffffffffu ? 8 : 4;
  for (std::size_t i = 0; i < n; ++i) width[i] = static_cast<std::byte>((length >> (8 * i)) & 0xff);
  uint32_t crc = crc32c(std::span<const std::byte>(width, n));
  uint32_t stored_length_crc = 0;
  for (int i = 0; i < 4; ++i) stored_length_crc |= static_cast<uint32_t>(stored[at + i]) << (8 * i);
  if (unmask_crc32c(stored_length_crc) != crc) throw Error(what + ": checksum of the string length does not match");
  crc = crc32c_extend(crc, stored.subspan(at, 4));
  const std::span<const std::byte> bytes = stored.subspan(at + 4);
  crc = crc32c_extend(crc, bytes);
  if (crc != unmask_crc32c(masked_crc32c)) throw Error(what + ": checksum mismatch: the file is damaged");
  return {bytes.begin(), bytes.end()};
}

void read_tf_bundle_index(TfCheckpoint::State& state) {
  const std::string index = state.prefix + ".index";
  state.table.emplace(TfTable::read(index));
  const TfTable& table = *state.table;
  const std::string where = "TensorFlow checkpoint '" + index + "'";
  const std::vector<TfTableEntry>& entries = table.entries();
  if (entries.empty() || !entries[0].key.empty()) {
    throw Error(where + ": no header entry (the empty key); not a tensor bundle index");
  }
  ProtoReader header(entries[0].value, where + ", header");
  int32_t shards = 1;
  int endianness = 0;
  ProtoField f;
  while (header.next(f)) {
    if (f.number == 1) shards = header.as_int32(f, "num_shards");
    if (f.number == 2) endianness = header.as_int32(f, "endianness");
    if (f.number == 3) {
      ProtoReader v(header.as_bytes(f, "version"), where + ", header version");
      ProtoField g;
      while (v.next(g)) {
        if (g.number == 2 && v.as_int32(g, "min_consumer") > 1) {
          v.fail("min_consumer", "the bundle needs a reader of version " + std::to_string(v.as_int32(g, "")) +
                                     "; TensorFlow's format, which rnnkit reads, is version 1");
        }
        if (g.number == 3) {
          std::vector<uint64_t> bad;
          v.append_varints(g, "bad_consumers", bad);
          if (std::find(bad.begin(), bad.end(), 1u) != bad.end()) {
            v.fail("bad_consumers", "the bundle says readers of version 1 must not read it");
          }
        }
      }
    }
  }
  if (shards < 1 || shards > kMaxShards) {
    header.fail("num_shards", std::to_string(shards) + " (expected 1 to " + std::to_string(kMaxShards) + ")");
  }
  if (endianness != 0) {
    header.fail("endianness", endianness == 1 ? "the tensors are big-endian; rnnkit reads little-endian bundles"
                                              : std::to_string(endianness) + " (expected 0, little-endian)");
  }
  for (int32_t s = 0; s < shards; ++s) {
    const std::string path = shard_path(state.prefix, s, shards);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      throw Error(where + ": its data shard " + std::to_string(s) + " of " + std::to_string(shards) + ", '" + path +
                  "', is missing or not a regular file");
    }
    state.shard_paths.push_back(path);
    state.shard_sizes.push_back(static_cast<uint64_t>(st.st_size));
  }
  // Slices are entries of their own, under binary keys that start with a 0 byte (OrderedCode's 0).
  std::set<std::string> slice_keys;
  for (std::size_t i = 1; i < entries.size(); ++i) {
    const TfTableEntry& te = entries[i];
    if (!te.key.empty() && te.key[0] == '\0') continue;  // reached through its variable below
    const std::string what = where + ", tensor '" + te.key + "'";
    const BundleEntry e = parse_entry(te.value, what);
    auto check_piece = [&](const BundleEntry& p, const Shape& shape, const std::string& at) {
      if (p.shard >= shards) {
        throw Error(at + ": shard " + std::to_string(p.shard) + ", but the bundle has " + std::to_string(shards));
      }
      const uint64_t file = state.shard_sizes[static_cast<std::size_t>(p.shard)];
      if (static_cast<uint64_t>(p.offset) > file || static_cast<uint64_t>(p.size) > file - p.offset) {
        throw Error(at + ": bytes [" + std::to_string(p.offset) + ", " + std::to_string(p.offset) + " + " +
                    std::to_string(p.size) + ") lie past the end of '" +
                    state.shard_paths[static_cast<std::size_t>(p.shard)] + "' (" + std::to_string(file) + " bytes)");
      }
      if (!p.has_crc) throw Error(at + ": no crc32c");
      const std::size_t element = tf_dtype_size(p.dtype);
      const uint64_t numel = static_cast<uint64_t>(shape_numel(shape, at.c_str()));
      if (element > 0 &&
          (numel > static_cast<uint64_t>(p.size) / element || numel * element != static_cast<uint64_t>(p.size))) {
        throw Error(at + ": " + std::to_string(p.size) + " bytes for " + std::to_string(numel) + " " +
                    tf_dtype_name(p.dtype) + " elements of shape " + shape_to_string(shape) + " (expected " +
                    std::to_string(numel) + " x " + std::to_string(element) + ")");
      }
      TfPiece piece;
      piece.shard = p.shard;
      piece.offset = static_cast<uint64_t>(p.offset);
      piece.size = static_cast<uint64_t>(p.size);
      piece.masked_crc32c = p.crc;
      piece.what = at;
      return piece;
    };
    TfVariable v;
    v.name = v.key = te.key;
    v.dtype = tf_dtype_name(e.dtype);
    v.shape = e.shape;
    std::vector<TfPiece> pieces;
    if (e.slices.empty()) {
      TfPiece p = check_piece(e, e.shape, what);
      p.extents.assign(e.shape.size(), {0, -1});
      pieces.push_back(std::move(p));
    } else {
      v.slices = e.slices.size();
      for (std::size_t s = 0; s < e.slices.size(); ++s) {
        const std::string at = what + ", slice " + std::to_string(s);
        const Shape slice_shape = tf_slice_shape(e.slices[s], e.shape, at);
        const std::string key = tf_slice_key(te.key, e.slices[s]);
        const TfTableEntry* se = table.find(key);
        if (se == nullptr) throw Error(at + ": the slice's entry is missing");
        if (!slice_keys.insert(key).second) throw Error(at + ": listed twice");
        const BundleEntry sp = parse_entry(se->value, at);
        if (sp.dtype != e.dtype || sp.shape != slice_shape) {
          throw Error(at + ": stored as " + tf_dtype_name(sp.dtype) + " " + shape_to_string(sp.shape) + ", expected " +
                      tf_dtype_name(e.dtype) + " " + shape_to_string(slice_shape));
        }
        TfPiece p = check_piece(sp, slice_shape, at);
        p.extents = e.slices[s];
        pieces.push_back(std::move(p));
      }
    }
    state.variables.push_back(std::move(v));
    state.dtypes.push_back(e.dtype);
    state.pieces.push_back(std::move(pieces));
  }
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (!entries[i].key.empty() && entries[i].key[0] == '\0' && slice_keys.count(entries[i].key) == 0) {
      throw Error(where + ": entry " + std::to_string(i) +
                  " has a slice's key, but no partitioned variable lists that slice");
    }
  }
}

std::vector<std::byte> read_tf_piece_bytes(const TfCheckpoint::State& state, const TfPiece& piece) {
  const std::string& path = state.shard_paths.at(static_cast<std::size_t>(piece.shard));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(piece.what + ": cannot open '" + path + "'");
  std::vector<std::byte> bytes(piece.size);  // checked against the shard's size at open
  in.seekg(static_cast<std::streamoff>(piece.offset));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<uint64_t>(in.gcount()) != piece.size) {
    throw Error(piece.what + ": '" + path + "' ended before the tensor's " + std::to_string(piece.size) +
                " bytes (it changed since it was opened?)");
  }
  return bytes;
}

std::vector<std::byte> read_tf_piece(const TfCheckpoint::State& state, const TfPiece& piece) {
  std::vector<std::byte> bytes = read_tf_piece_bytes(state, piece);
  const std::string& path = state.shard_paths.at(static_cast<std::size_t>(piece.shard));
  const uint32_t actual = crc32c(bytes);
  const uint32_t expected = unmask_crc32c(piece.masked_crc32c);
  if (actual != expected) {
    throw Error(piece.what + ": checksum mismatch (stored crc32c " + std::to_string(expected) + ", the bytes in '" +
                path + "' give " + std::to_string(actual) + "): the file is damaged");
  }
  return bytes;
}

}  // namespace rnnkit

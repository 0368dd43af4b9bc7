// What an open TensorFlow checkpoint keeps (formats/tf_checkpoint.h), shared by the files that
// read its parts: tf_bundle.cc (V2 index entries), tf_v1_checkpoint.cc (V1 records),
// tf_object_graph.cc (TF2 names), tf_checkpoint_path.cc (what a path points at) and
// tf_checkpoint.cc (values).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rnnkit/formats/tf_checkpoint.h"
#include "rnnkit/formats/tf_table.h"

namespace rnnkit {

// TensorFlow's DataType enum values rnnkit names (types.proto).
enum TfDataType : int {
  kTfFloat = 1,
  kTfDouble = 2,
  kTfInt32 = 3,
  kTfUint8 = 4,
  kTfInt16 = 5,
  kTfInt8 = 6,
  kTfString = 7,
  kTfInt64 = 9,
  kTfBool = 10,
  kTfBfloat16 = 14,
  kTfUint16 = 17,
  kTfHalf = 19,
  kTfUint32 = 22,
  kTfUint64 = 23,
};

// rnnkit's name for a TensorFlow dtype ("F32", "STRING", "COMPLEX64", "DT_42" for unknown
// values) and its element size in bytes (0: not a fixed-size type rnnkit reads).
std::string tf_dtype_name(int dtype);
std::size_t tf_dtype_size(int dtype);
bool tf_dtype_is_numeric(int dtype);  // rnnkit can widen it to float64

// One stored piece of a variable: all of it, or one slice of a partitioned one.
struct TfPiece {
  TfSliceExtents extents;  // (start, length) per dimension; length -1: all of it
  // V2: where the bytes are.
  int32_t shard = 0;
  uint64_t offset = 0, size = 0;
  uint32_t masked_crc32c = 0;
  // V1: the TensorProto holding the values (inside the table's bytes).
  std::span<const std::byte> v1_tensor;
  std::string what;  // names the piece in messages
};

struct TfCheckpoint::State {
  std::string prefix, resolution;
  TfCheckpointFormat format = TfCheckpointFormat::bundle;
  bool object_based = false;
  std::optional<TfTable> table;  // the .index, or the V1 file
  std::vector<std::string> shard_paths;
  std::vector<uint64_t> shard_sizes;
  std::vector<TfVariable> variables;  // by name
  std::vector<int> dtypes;            // TensorFlow's dtype of each variable
  std::vector<std::vector<TfPiece>> pieces;

  std::string origin() const { return format == TfCheckpointFormat::bundle ? prefix + ".index" : prefix; }
  // The file as messages name it, as the index's and the V1 file's readers do.
  std::string where() const {
    return (format == TfCheckpointFormat::bundle ? "TensorFlow checkpoint '" : "TensorFlow V1 checkpoint '") +
           origin() + "'";
  }
};

// Parses a TensorShapeProto (rank at most 254, every size >= 0, element count within int64).
Shape parse_tf_shape(std::span<const std::byte> message, const std::string& what);
// Parses a TensorSliceProto into (start, length) extents; length -1 for a whole dimension.
TfSliceExtents parse_tf_slice(std::span<const std::byte> message, const std::string& what);
// The slice's extents checked against the full shape; returns the slice's shape.
Shape tf_slice_shape(const TfSliceExtents& extents, const Shape& full, const std::string& what);

// Fills `state` from a V2 bundle's index and measures its shards.
void read_tf_bundle_index(TfCheckpoint::State& state);
// Fills `state` from a V1 file.
void read_tf_v1_file(TfCheckpoint::State& state);
// The variables' full names from a TrackableObjectGraph, by checkpoint key.
std::map<std::string, std::string> tf_object_graph_names(std::span<const std::byte> graph, const std::string& what);
// The bytes of a scalar string tensor stored as TensorFlow writes strings, checksums verified.
std::vector<std::byte> tf_scalar_string(std::span<const std::byte> stored, uint32_t masked_crc32c,
                                        const std::string& what);
// A piece's bytes from its shard, its crc32c verified (read_tf_piece_bytes: not verified, for
// strings, whose checksum covers their lengths too).
std::vector<std::byte> read_tf_piece(const TfCheckpoint::State& state, const TfPiece& piece);
std::vector<std::byte> read_tf_piece_bytes(const TfCheckpoint::State& state, const TfPiece& piece);

// The prefix and format a user's path means (tf_checkpoint_path.cc); sets prefix, resolution and format.
void resolve_tf_checkpoint_path(const std::string& path, TfCheckpoint::State& state);

}  // namespace rnnkit

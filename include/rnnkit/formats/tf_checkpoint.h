// TensorFlow checkpoints read natively, without TensorFlow: the V2 tensor bundle of TensorFlow
// 0.12 to 2.x (tf.train.Saver, tf.train.Checkpoint, Keras save_weights, a SavedModel's
// variables/) and the V1 single-file format before it.
//
// V2 bundle, prefix P:
//   P.index                    a table (formats/tf_table.h): key "" -> BundleHeaderProto
//                              {num_shards 1, endianness 2, version 3}; every other key -> a
//                              BundleEntryProto {dtype 1, shape 2, shard_id 3, offset 4, size 5,
//                              crc32c 6 (masked, fixed32), slices 7}
//   P.data-SSSSS-of-NNNNN      the tensors' bytes, row-major, little-endian, at [offset, offset + size)
//   A partitioned variable's entry lists its slices; each slice is an entry of its own under
//   the key EncodeTensorNameSlice(name, slice) (OrderedCode: 0, the name, the rank, then each
//   dimension's start and length, -1 for all of it). Strings: varint lengths, a masked crc32c
//   of the lengths, the bytes.
//   TensorFlow 2's object-based checkpoints name variables by object paths
//   (layer_with_weights-0/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE) and keep, under the key
//   _CHECKPOINTABLE_OBJECT_GRAPH, a TrackableObjectGraph whose attributes give each key the
//   variable's full name (lstm_2/lstm_cell/kernel): variables are named by it here.
// V1 file P: a table whose "" key holds SavedTensorSlices{meta: the tensors' names, shapes,
//   dtypes and slices} and every other key SavedTensorSlices{data: SavedSlice{name, slice,
//   TensorProto with the values}}.
//
// What a user may point at (open): the prefix (model.ckpt, model.ckpt-1000), its .index or a
// .data-* file, a V1 file, a directory holding a `checkpoint` state file (its
// model_checkpoint_path, the latest, is taken; a relative path is taken from that directory
// and, if absent there, as a name in it, since writers often record paths relative to where
// they ran; an absolute path or one with '..' is only taken as a name in the directory), a
// directory holding one checkpoint, or a SavedModel directory (variables/variables).
//
// Everything is hostile until checked: entries are parsed completely at open; every tensor's
// size must match its dtype and shape and lie inside its shard (shards are measured before
// anything is read); each tensor's crc32c is verified when it is read; a partitioned variable's
// slices must tile it exactly. Error names the file and the tensor.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rnnkit/core/shape.h"
#include "rnnkit/core/tensor.h"
#include "rnnkit/formats/npz.h"

namespace rnnkit {

enum class TfCheckpointFormat { bundle, v1 };

// What a variable is for. Optimizer slots are variables saved beside another one under a
// name of its own: v/Adam, v/Adam_1, v/Momentum, v/RMSProp (TF1 optimizers),
// v/.OPTIMIZER_SLOT/optimizer/m (TF2), optimizer/... (Keras' optimizer state); counters are
// global_step, beta1_power, beta2_power, save_counter and the like.
enum class TfVariableRole { weight, optimizer_slot, counter, object_graph };
const char* tf_variable_role_name(TfVariableRole role);

struct TfVariable {
  std::string name;   // the object graph's full name in a TF2 checkpoint (lstm_2/lstm_cell/kernel), else the key
  std::string key;    // as stored
  std::string dtype;  // F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, BOOL, STRING, or e.g. COMPLEX64
  Shape shape;
  TfVariableRole role = TfVariableRole::weight;
  std::size_t slices = 0;  // a partitioned variable: how many slices hold it
};

class TfCheckpoint {
 public:
  // Throws Error naming the path: nothing TensorFlow there (with what was tried), a malformed
  // index or V1 file, a missing or short shard.
  static TfCheckpoint open(const std::string& path);

  const std::string& prefix() const;      // the checkpoint prefix (V1: the file)
  const std::string& resolution() const;  // how the path given led to the prefix; "" if it was the prefix
  TfCheckpointFormat format() const;
  bool object_based() const;                         // a TF2 checkpoint with an object graph
  const std::vector<TfVariable>& variables() const;  // by name, the object graph itself included
  const TfVariable* find(std::string_view name_or_key) const;

  // A numeric variable's values as float64 (float16, bfloat16 and integers widened), its
  // crc32c verified and its slices joined. Error for strings and dtypes rnnkit cannot read.
  Tensor<double> values(const TfVariable& variable) const;
  // Every floating-point variable, as the safetensors spellings and values, by name: what
  // import_tf1 takes (it sorts out weights from slots and counters by name).
  std::map<std::string, NpyArray> float_variables() const;

  struct State;

 private:
  explicit TfCheckpoint(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

// Whether `path` looks like a TensorFlow checkpoint (by name or by what a directory holds),
// for the commands that take any file: a .index or .data-* file, a prefix with a .index beside
// it, a directory with a `checkpoint` file or a variables/ folder, a file ending in a table footer.
bool looks_like_tf_checkpoint(const std::string& path);

// Writes a V2 bundle at `prefix` (prefix.index, prefix.data-00000-of-00001) holding `tensors`
// (names must be unique; F32 or F64) as TensorFlow's BundleWriter does, each with its crc32c.
// Both files are written atomically. Throws Error naming the prefix.
struct TfBundleTensor {
  std::string name;
  Shape shape;
  bool f64 = false;
  std::span<const std::byte> bytes;  // little-endian float32 or float64, row-major
};
void write_tf_bundle(const std::string& prefix, const std::vector<TfBundleTensor>& tensors);

// A slice of a partitioned variable: (start, length) per dimension, length -1 for all of it.
using TfSliceExtents = std::vector<std::pair<int64_t, int64_t>>;

// OrderedCode's key for one slice of a partitioned variable (TensorFlow's EncodeTensorNameSlice):
// extents as (start, length) with length -1 for a whole dimension.
std::string tf_slice_key(std::string_view name, const TfSliceExtents& extents);

}  // namespace rnnkit

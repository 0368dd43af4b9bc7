// Internal: what keras.cc needs from a Keras HDF5 file, read by libhdf5 in a separate process.
//
// libhdf5 is a large C library with a history of memory-safety bugs on malformed files, and it
// is not built with rnnkit's sanitizers. So by default (Hdf5Process::separate) it runs in a
// child process (core/contained_call.h) that reads, through Hdf5File's checks, the layers and
// the datasets keras.cc asks for, and sends back only those values; the parent decodes them as
// hostile input. A crash or runaway of libhdf5 becomes an Error naming the file. The same
// reading runs in this process for the fuzz target (Hdf5Process::this_one), which then covers
// rnnkit's own checks (libhdf5 is not instrumented: fuzzing sees no coverage inside it).
//
// Reading, in either process:
//   1. the root (the file's, or "model_weights" in a whole-model file), its layer_names, and
//      each layer's weight_names (an Error opening one layer is kept with that layer);
//   2. plan(layers): the datasets to read, in order (plan may throw Error: not Keras' layout);
//   3. each dataset in that order, until one fails: its Error is kept, and reading stops.
// keras.cc then takes the datasets in the plan's order (KerasContents::take); the Error that
// stopped reading is thrown where keras.cc reaches the dataset that was not read. Errors are
// therefore those, and in the order, that reading the file directly would give; from the
// separate process, a message the child made (a layer's error, the one that stopped reading,
// an Error that ended the child) comes as its words, quoted (child_message in
// core/contained_call.h), and the plan runs again in the parent, which throws the plan's Error
// itself. Before the child starts, the parent refuses a file that is not a regular file or has
// no HDF5 signature (hdf5_signature.h), as libhdf5 would.
//
// The child's output (frames of core/frame_codec.h, in this order):
//   'L' layers    u64 count; per layer: string name, string error ("" if none; at most
//                 kChildMessageBytes), u64 count, strings weight_names
//   'D' dataset   string layer, string weight, u8 stored as float64 (0 or 1), u64 rank (1 or 2),
//                 u64 extent per axis (each < 2^31), then the values as float64 (8 bytes each;
//                 exactly extent product x 8 bytes)          zero or more
//   'S' stopped   string: the message of the Error that stopped reading (at most
//                 kChildMessageBytes)                                            at most once
//   'Z' end       empty
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "../core/contained_call.h"
#include "hdf5_file.h"
#include "rnnkit/formats/keras.h"

namespace rnnkit::detail {

// A file by its path, or an image of one in memory.
using Hdf5Source = std::variant<std::string, std::span<const std::byte>>;

enum class Hdf5Process { separate, this_one };

// How messages name a layer of a file: "<where>, layer '<layer>'".
inline std::string keras_layer_where(const std::string& where, const std::string& layer) {
  return where + ", layer '" + layer + "'";
}

// One entry of layer_names: the layer's weight_names, or the Error that opening it gave.
struct KerasLayerNames {
  std::string name;
  std::vector<std::string> weight_names;
  std::string error;  // non-empty: the message (the layer has no group, or no weight_names)
};

// A dataset to read: weight name `weight` in layer `layer`, its errors naming `at`.
struct KerasDatasetRequest {
  std::string layer, weight, at;
};

using KerasPlan = std::function<std::vector<KerasDatasetRequest>(const std::vector<KerasLayerNames>&)>;

struct KerasDatasetRead {
  std::string layer, weight;
  Hdf5Dataset dataset;
};

class KerasContents {
 public:
  explicit KerasContents(std::string where) : where_(std::move(where)) {}

  // The next dataset in the plan's order, which must be (layer, weight). Throws `stopped_by`
  // where reading stopped, and an Error naming the file if the reader sent something else.
  Hdf5Dataset take(const std::string& layer, const std::string& weight);

  std::vector<KerasLayerNames> layers;
  std::vector<KerasDatasetRead> datasets;  // in the plan's order, until reading stopped
  std::string stopped_by;                  // the message of the Error that stopped it, if one did

 private:
  std::string where_;
  std::size_t next_ = 0;
};

// Reads as described above, in the process asked for. Throws Error (the file's, as Hdf5File
// and plan throw them; or how the separate process failed, naming the file).
KerasContents read_keras_contents(const Hdf5Source& source, const std::string& where, const KerasPlan& plan,
                                  Hdf5Process process);

// The separate process's limits for a file of `file_size` bytes. Hdf5File lets the datasets of
// a file declare its size + 64 MiB (D); as float64 that is at most 8 D (1-byte floats), with room
// for one more copy: memory 16 D; CPU 30 s + 1 s per 8 MiB; wall time 3 x that; output 8 D for
// values plus 64 bytes per byte of the file for names and frames (room for 2 x the file's size,
// float32 data as float64, expected: run_contained makes at most 64 MiB of it at once).
ContainmentLimits keras_reader_limits(uint64_t file_size);

// The child's output, written to `sink` as it is read (messages cut to kChildMessageBytes), and
// the parent's decoder of it: every length and count checked against what arrived before
// allocating, messages at most kChildMessageBytes, and the datasets' declared data within what
// Hdf5File allows a file of `file_size` bytes (its size + kHdf5DeclaredAllowance; a value sent
// as float64 was stored in 8 bytes if the reader says so, else in at least 1); Error naming
// `where` and the field otherwise. The messages are decoded as the child sent them.
class KerasContentsEncoder {
 public:
  explicit KerasContentsEncoder(std::function<void(std::span<const std::byte>)> sink) : sink_(std::move(sink)) {}
  void layers(const std::vector<KerasLayerNames>& layers);
  void dataset(const KerasDatasetRequest& request, const Hdf5Dataset& dataset);
  void stopped(const std::string& message);
  void end();

 private:
  std::function<void(std::span<const std::byte>)> sink_;
};
KerasContents decode_keras_contents(std::span<const std::byte> bytes, const std::string& where, uint64_t file_size);

// Writes `contents` as the child would have (for tests and fuzzing of the decoder).
std::vector<std::byte> encode_keras_contents(const KerasContents& contents);

// keras.cc's readers (formats/keras.h) from either source in either process, `name` standing for
// the path in messages and sources (the public functions: the path, Hdf5Process::separate).
std::map<std::string, Tensor<double>> read_keras_weights(const Hdf5Source& source, const std::string& name,
                                                         Hdf5Process process);
RecurrentModel import_keras(const Hdf5Source& source, const std::string& name, const KerasImportOptions& options,
                            Hdf5Process process);

}  // namespace rnnkit::detail

// What keras.cc reads from a Keras HDF5 file, in this process or a separate one; see keras_contents.h.
#include "keras_contents.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include "../core/frame_codec.h"
#include "hdf5_signature.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"

namespace rnnkit::detail {
namespace {

constexpr uint8_t kLayersFrame = 'L';
constexpr uint8_t kDatasetFrame = 'D';
constexpr uint8_t kStoppedFrame = 'S';
constexpr uint8_t kEndFrame = 'Z';
constexpr uint64_t kMaxExtent = std::numeric_limits<int32_t>::max();  // as Hdf5File::read_dataset
constexpr char kReader[] = "libhdf5 (the HDF5 reader)";

// Where the reading goes: into KerasContents here, or the encoder in the child.
class KerasSink {
 public:
  virtual ~KerasSink() = default;
  virtual void layers(const std::vector<KerasLayerNames>& layers) = 0;
  virtual void dataset(const KerasDatasetRequest& request, Hdf5Dataset&& dataset) = 0;
  virtual void stopped(const std::string& message) = 0;
};

class ContentsSink final : public KerasSink {
 public:
  explicit ContentsSink(KerasContents& contents) : contents_(contents) {}
  void layers(const std::vector<KerasLayerNames>& layers) override { contents_.layers = layers; }
  void dataset(const KerasDatasetRequest& request, Hdf5Dataset&& dataset) override {
    contents_.datasets.push_back({request.layer, request.weight, std::move(dataset)});
  }
  void stopped(const std::string& message) override { contents_.stopped_by = message; }

 private:
  KerasContents& contents_;
};

class EncoderSink final : public KerasSink {
 public:
  explicit EncoderSink(KerasContentsEncoder& encoder) : encoder_(encoder) {}
  void layers(const std::vector<KerasLayerNames>& layers) override { encoder_.layers(layers); }
  // Sent and dropped at once: the child holds one dataset at a time.
  void dataset(const KerasDatasetRequest& request, Hdf5Dataset&& dataset) override {
    encoder_.dataset(request, dataset);
  }
  void stopped(const std::string& message) override { encoder_.stopped(message); }

 private:
  KerasContentsEncoder& encoder_;
};

std::unique_ptr<Hdf5File> open_hdf5(const Hdf5Source& source, const std::string& where) {
  if (const auto* path = std::get_if<std::string>(&source)) return std::make_unique<Hdf5File>(*path, where);
  return std::make_unique<Hdf5File>(std::get<std::span<const std::byte>>(source), where);
}

std::string listed_but(const std::string& where, const std::string& layer) {
  return where + ": layer '" + layer + "' is listed but";
}

// Steps 1 to 3 of keras_contents.h. In the child (`parent_plans`), an Error of the plan ends
// the reading without a dataset: the parent runs the plan again on what it decoded, and throws
// that Error itself.
void read_keras_file(const Hdf5Source& source, const std::string& where, const KerasPlan& plan, KerasSink& sink,
                     bool parent_plans) {
  const std::unique_ptr<Hdf5File> hdf5 = open_hdf5(source, where);
  const Hdf5Handle root = hdf5->open_group(
      hdf5->id(), hdf5->exists(hdf5->id(), "model_weights") ? "model_weights" : "/", where + ": the root");
  std::vector<KerasLayerNames> layers;
  for (std::string& name : hdf5->read_strings(root.get(), "layer_names", where + " (not Keras' layout?)")) {
    KerasLayerNames layer{std::move(name), {}, ""};
    try {
      const Hdf5Handle group = hdf5->open_group(root.get(), layer.name, listed_but(where, layer.name));
      layer.weight_names = hdf5->read_strings(group.get(), "weight_names", keras_layer_where(where, layer.name));
    } catch (const Error& e) {
      layer.error = e.what();
    }
    layers.push_back(std::move(layer));
  }
  sink.layers(layers);
  std::vector<KerasDatasetRequest> requests;
  try {
    requests = plan(layers);
  } catch (const Error&) {
    if (!parent_plans) throw;
    return;
  }
  std::string open_layer;
  std::optional<Hdf5Handle> group;  // the layer of the previous request, kept open for the next
  for (const KerasDatasetRequest& request : requests) {
    Hdf5Dataset dataset;
    try {
      if (!group || request.layer != open_layer) {
        group.reset();
        group.emplace(hdf5->open_group(root.get(), request.layer, listed_but(where, request.layer)));
        open_layer = request.layer;
      }
      dataset = hdf5->read_dataset(group->get(), request.weight, request.at);
    } catch (const Error& e) {
      sink.stopped(e.what());
      return;
    }
    sink.dataset(request, std::move(dataset));
  }
}

}  // namespace

Hdf5Dataset KerasContents::take(const std::string& layer, const std::string& weight) {
  if (next_ == datasets.size()) {
    if (!stopped_by.empty()) throw Error(stopped_by);
    throw Error(where_ + ": the HDF5 reader sent no dataset '" + weight + "' of layer '" + layer + "'");
  }
  KerasDatasetRead& read = datasets[next_];
  if (read.layer != layer || read.weight != weight) {
    throw Error(where_ + ": the HDF5 reader sent dataset '" + read.weight + "' of layer '" + read.layer + "' where '" +
                weight + "' of layer '" + layer + "' was next");
  }
  ++next_;
  return std::move(read.dataset);
}

ContainmentLimits keras_reader_limits(uint64_t file_size) {
  const uint64_t size = std::min(file_size, uint64_t{1} << 40);  // keeps the products below in range
  const uint64_t declared = size + kHdf5DeclaredAllowance;
  ContainmentLimits limits;
  limits.memory_bytes = 16 * declared;
  limits.cpu_seconds = 30 + static_cast<int64_t>(size >> 23);
  limits.wall_seconds = 3 * limits.cpu_seconds;
  limits.max_output_bytes = 8 * declared + 64 * size + (uint64_t{1} << 20);
  limits.expected_output_bytes = 2 * size + (uint64_t{1} << 16);  // float32 data sent as float64
  return limits;
}

KerasContents read_keras_contents(const Hdf5Source& source, const std::string& where, const KerasPlan& plan,
                                  Hdf5Process process) {
  if (process == Hdf5Process::this_one) {
    KerasContents contents(where);
    ContentsSink sink(contents);
    read_keras_file(source, where, plan, sink, false);
    return contents;
  }
  const auto* path = std::get_if<std::string>(&source);
  // Checked here first: a device or a pipe is refused by name, and a file without HDF5's
  // signature as libhdf5 would refuse it, before anything starts.
  const uint64_t size = path != nullptr ? regular_file_size(*path) : std::get<1>(source).size();
  if (!(path != nullptr ? has_hdf5_signature(*path, size) : has_hdf5_signature(std::get<1>(source)))) {
    throw Error(where + ": not an HDF5 file (or cannot be read)");
  }
  KerasContents contents(where);
  try {
    const std::vector<std::byte> sent = run_contained(
        [&](ContainedOutput& out) {
          KerasContentsEncoder encoder([&](std::span<const std::byte> bytes) { out.write(bytes); });
          EncoderSink sink(encoder);
          read_keras_file(source, where, plan, sink, true);
          encoder.end();
        },
        keras_reader_limits(size), where, kReader);
    contents = decode_keras_contents(sent, where, size);
  } catch (const std::bad_alloc&) {
    throw Error(where + ": out of memory holding what " + kReader + " sent from its separate process");
  }
  // The child's messages are its words, passed on as such.
  for (KerasLayerNames& layer : contents.layers) {
    if (!layer.error.empty()) layer.error = child_message(where, layer.error);
  }
  if (!contents.stopped_by.empty()) contents.stopped_by = child_message(where, contents.stopped_by);
  plan(contents.layers);  // its Error, if it has one, as reading in this process gives it
  return contents;
}

void KerasContentsEncoder::layers(const std::vector<KerasLayerNames>& layers) {
  ByteWriter payload;
  payload.u64(layers.size());
  for (const KerasLayerNames& layer : layers) {
    payload.string(layer.name);
    payload.string(fit_child_message(layer.error));
    payload.u64(layer.weight_names.size());
    for (const std::string& name : layer.weight_names) payload.string(name);
  }
  ByteWriter frame;
  frame.frame_header(kLayersFrame, payload.bytes.size());
  sink_(frame.bytes);
  sink_(payload.bytes);
}

void KerasContentsEncoder::dataset(const KerasDatasetRequest& request, const Hdf5Dataset& dataset) {
  ByteWriter head;
  head.string(request.layer);
  head.string(request.weight);
  head.u8(dataset.f64 ? 1 : 0);
  const Shape& shape = dataset.values.shape();
  head.u64(shape.size());
  for (const int64_t extent : shape) head.u64(static_cast<uint64_t>(extent));
  const std::span<const std::byte> values = std::as_bytes(std::span(dataset.values.storage()));
  ByteWriter frame;
  frame.frame_header(kDatasetFrame, head.bytes.size() + values.size());
  sink_(frame.bytes);
  sink_(head.bytes);
  sink_(values);
}

void KerasContentsEncoder::stopped(const std::string& message) {
  const std::string fitted = fit_child_message(message);
  ByteWriter frame;
  frame.frame_header(kStoppedFrame, 8 + fitted.size());
  frame.string(fitted);
  sink_(frame.bytes);
}

void KerasContentsEncoder::end() {
  ByteWriter frame;
  frame.frame_header(kEndFrame, 0);
  sink_(frame.bytes);
}

std::vector<std::byte> encode_keras_contents(const KerasContents& contents) {
  std::vector<std::byte> out;
  KerasContentsEncoder encoder(
      [&](std::span<const std::byte> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); });
  encoder.layers(contents.layers);
  for (const KerasDatasetRead& read : contents.datasets) encoder.dataset({read.layer, read.weight, ""}, read.dataset);
  if (!contents.stopped_by.empty()) encoder.stopped(contents.stopped_by);
  encoder.end();
  return out;
}

namespace {

// A message of the child's: at most kChildMessageBytes.
std::string read_message(ByteReader& reader, const char* field) {
  std::string message = reader.string(field);
  if (message.size() > kChildMessageBytes) {
    throw Error(reader.what() + ": " + field + " has " + std::to_string(message.size()) + " bytes, more than the " +
                std::to_string(kChildMessageBytes) + " a message may have");
  }
  return message;
}

}  // namespace

KerasContents decode_keras_contents(std::span<const std::byte> bytes, const std::string& where, uint64_t file_size) {
  KerasContents contents(where);
  ByteReader stream(bytes, where + ": the HDF5 reader's result");
  const std::string& what = stream.what();
  // What Hdf5File lets the datasets declare; a value the reader sends as float64 was stored in
  // 8 bytes if it says so, else in at least 1.
  const uint64_t budget = std::min(file_size, uint64_t{1} << 62) + kHdf5DeclaredAllowance;
  uint64_t declared = 0;
  const Frame first = stream.frame("the layers' frame");
  if (first.kind != kLayersFrame) throw Error(what + ": begins with a frame of kind " + std::to_string(first.kind));
  ByteReader layers(first.payload, what + ", layers");
  // Each layer takes at least its three u64 lengths and counts; each name at least its length.
  const uint64_t layer_count = layers.count(24, "the number of layers");
  contents.layers.reserve(static_cast<std::size_t>(layer_count));
  for (uint64_t i = 0; i < layer_count; ++i) {
    KerasLayerNames layer;
    layer.name = layers.string("a layer's name");
    layer.error = read_message(layers, "a layer's error");
    const uint64_t names = layers.count(8, "the number of weight names");
    layer.weight_names.reserve(static_cast<std::size_t>(names));
    for (uint64_t k = 0; k < names; ++k) layer.weight_names.push_back(layers.string("a weight name"));
    contents.layers.push_back(std::move(layer));
  }
  layers.expect_end("the last layer");

  while (true) {
    const Frame frame = stream.frame("a frame");
    if (frame.kind == kEndFrame) {
      if (!frame.payload.empty())
        throw Error(what + ": its end frame carries " + std::to_string(frame.payload.size()) + " bytes");
      break;
    }
    if (frame.kind == kStoppedFrame) {
      if (!contents.stopped_by.empty()) throw Error(what + ": says twice where reading stopped");
      ByteReader stopped(frame.payload, what + ", the stopping error");
      contents.stopped_by = read_message(stopped, "the message");
      stopped.expect_end("the message");
      if (contents.stopped_by.empty()) throw Error(what + ": reading stopped with an empty message");
      continue;
    }
    if (frame.kind != kDatasetFrame) throw Error(what + ": a frame of unknown kind " + std::to_string(frame.kind));
    if (!contents.stopped_by.empty()) throw Error(what + ": a dataset follows the error that stopped reading");
    ByteReader d(frame.payload, what + ", a dataset");
    KerasDatasetRead read;
    read.layer = d.string("its layer");
    read.weight = d.string("its weight name");
    const uint8_t f64 = d.u8("its type");
    if (f64 > 1)
      throw Error(d.what() + " '" + read.weight + "': type flag " + std::to_string(f64) + ", expected 0 or 1");
    const uint64_t rank = d.u64("its rank");
    if (rank < 1 || rank > 2)
      throw Error(d.what() + " '" + read.weight + "': rank " + std::to_string(rank) + ", expected 1 or 2");
    Shape shape;
    uint64_t count = 1;
    for (uint64_t axis = 0; axis < rank; ++axis) {
      const uint64_t extent = d.u64("an extent");
      if (extent > kMaxExtent) throw Error(d.what() + " '" + read.weight + "': extent " + std::to_string(extent));
      shape.push_back(static_cast<int64_t>(extent));
      count *= extent;  // < 2^62
    }
    if (count > d.remaining() / 8 || count * 8 != d.remaining()) {
      throw Error(d.what() + " '" + read.weight + "': " + shape_to_string(shape) + " values need " +
                  std::to_string(count) + " x 8 bytes, but " + std::to_string(d.remaining()) + " remain");
    }
    declared += count * (f64 == 1 ? uint64_t{8} : uint64_t{1});  // count < 2^62 / 8 (checked against what remains)
    if (declared > budget) {
      throw Error(d.what() + " '" + read.weight + "': " + shape_to_string(shape) + " values, which with the datasets " +
                  "before it declare at least " + std::to_string(declared) + " bytes, more than the file's " +
                  std::to_string(file_size) + " bytes + " + std::to_string(kHdf5DeclaredAllowance >> 20) +
                  " MiB that the reader allows");
    }
    const std::span<const std::byte> values = d.raw(count * 8, "its values");
    std::vector<double> data(static_cast<std::size_t>(count));
    if (count > 0) std::memcpy(data.data(), values.data(), values.size());
    read.dataset = Hdf5Dataset{Tensor<double>(std::move(shape), std::move(data)), f64 == 1};
    contents.datasets.push_back(std::move(read));
  }
  stream.expect_end("the end frame");
  return contents;
}

}  // namespace rnnkit::detail

// Writing a V2 tensor bundle as TensorFlow's BundleWriter does: one data shard with the
// tensors back to back in key order, and the .index table (formats/tf_table.h) with the header
// under "" and one BundleEntryProto per tensor; see formats/tf_checkpoint.h.
#include <algorithm>
#include <set>

#include "protobuf_wire.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/error.h"
#include "tf_checkpoint_state.h"

namespace rnnkit {

void write_tf_bundle(const std::string& prefix, const std::vector<TfBundleTensor>& tensors) {
  const std::string where = "TensorFlow checkpoint '" + prefix + "'";
  std::vector<const TfBundleTensor*> sorted;
  std::set<std::string> names;
  for (const TfBundleTensor& t : tensors) {
    if (t.name.empty()) throw Error(where + ": a tensor without a name (the empty key is the header's)");
    if (!names.insert(t.name).second) throw Error(where + ": two tensors named '" + t.name + "'");
    const uint64_t expected = static_cast<uint64_t>(shape_numel(t.shape)) * (t.f64 ? 8 : 4);
    if (t.bytes.size() != expected) {
      throw Error(where + ", tensor '" + t.name + "': " + std::to_string(t.bytes.size()) + " bytes for shape " +
                  shape_to_string(t.shape) + ", expected " + std::to_string(expected));
    }
    sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  std::vector<std::pair<std::string, std::vector<std::byte>>> entries;
  detail::ProtoWriter header, version;
  header.varint(1, 1);   // num_shards
  version.varint(1, 1);  // producer: the bundle format's version 1
  header.message(3, version);
  entries.emplace_back("", header.take());
  uint64_t offset = 0;
  std::vector<std::span<const std::byte>> data;
  for (const TfBundleTensor* t : sorted) {
    detail::ProtoWriter entry, shape;
    entry.varint(1, t->f64 ? kTfDouble : kTfFloat);
    for (const int64_t d : t->shape) {
      detail::ProtoWriter dim;
      dim.int64(1, d);
      shape.message(2, dim);
    }
    entry.message(2, shape);
    // shard_id 0 is proto3's default and left out, as TensorFlow does; so is offset 0.
    if (offset > 0) entry.int64(4, static_cast<int64_t>(offset));
    if (!t->bytes.empty()) entry.int64(5, static_cast<int64_t>(t->bytes.size()));
    entry.fixed32(6, mask_crc32c(crc32c(t->bytes)));
    entries.emplace_back(t->name, entry.take());
    data.push_back(t->bytes);
    offset += t->bytes.size();
  }
  // The data before the index: a reader that finds the index finds its data.
  write_file_atomically(prefix + ".data-00000-of-00001", data);
  const std::vector<std::byte> index = build_tf_table(entries);
  write_file_atomically(prefix + ".index", {std::span<const std::byte>(index)});
}

}  // namespace rnnkit

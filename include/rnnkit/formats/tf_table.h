// A table in LevelDB's file format (an "SSTable"), as TensorFlow writes it for a checkpoint's
// .index file and for the old V1 checkpoints: sorted key/value pairs in blocks.
//
//   file    = data block* metaindex block index block footer
//   block   = entry* restart[k] (fixed32 each) k (fixed32), then a 5-byte trailer:
//             compression type (0 none, 1 Snappy), masked crc32c of the block and type byte
//   entry   = shared, non_shared, value_length (varint32 each), key bytes after the shared
//             prefix of the previous key, value bytes; a restart entry shares nothing
//   index   = one entry per data block: a separator key >= the block's keys and < the next
//             block's, value a block handle (varint64 offset, varint64 size)
//   footer  = 48 bytes: metaindex handle, index handle, zero padding to byte 40, magic
//             0xdb4775248b80fb57 (fixed64)
//   masked crc = ((crc >> 15) | (crc << 17)) + 0xa282ead8
//
// Read as hostile input: every block's checksum is verified; handles, lengths and restart
// points are checked against the bytes that hold them before use; keys must increase strictly
// through the table and agree with the index; data blocks may not overlap; a Snappy block may
// not claim more bytes than Snappy can encode in its size; reconstructed keys may not add up to
// more than a bound proportional to the file. Error names the file and the block or entry.
// The metaindex is verified and otherwise ignored (TensorFlow writes it empty).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace rnnkit {

inline constexpr uint64_t kTfTableMagic = 0xdb4775248b80fb57ULL;
inline constexpr std::size_t kTfTableFooterSize = 48;

uint32_t mask_crc32c(uint32_t crc);
uint32_t unmask_crc32c(uint32_t masked);

struct TfTableEntry {
  std::string key;
  std::span<const std::byte> value;  // inside the table's own bytes
};

class TfTable {
 public:
  // Throws Error naming `origin` for anything malformed.
  static TfTable parse(std::vector<std::byte> bytes, std::string origin);
  static TfTable read(const std::string& path);

  TfTable(TfTable&&) = default;
  TfTable& operator=(TfTable&&) = default;
  TfTable(const TfTable&) = delete;
  TfTable& operator=(const TfTable&) = delete;

  const std::vector<TfTableEntry>& entries() const { return entries_; }
  const TfTableEntry* find(std::string_view key) const;  // binary search; nullptr if absent
  const std::string& origin() const { return origin_; }
  std::size_t file_size() const { return file_.size(); }

 private:
  TfTable() = default;
  std::vector<std::byte> file_;
  std::vector<std::vector<std::byte>> uncompressed_;  // Snappy blocks, decompressed
  std::vector<TfTableEntry> entries_;
  std::string origin_;
};

// The bytes of a table holding `entries` (keys strictly increasing, else Error), as
// TensorFlow's writer lays them out: data blocks of about `block_size` bytes with a restart
// every 16 entries, uncompressed, an empty metaindex, an index with a restart at every entry.
std::vector<std::byte> build_tf_table(const std::vector<std::pair<std::string, std::vector<std::byte>>>& entries,
                                      std::size_t block_size = 256 * 1024);

}  // namespace rnnkit

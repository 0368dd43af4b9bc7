// LevelDB-format tables, read as hostile input and written as TensorFlow writes them; see
// formats/tf_table.h.
#include "rnnkit/formats/tf_table.h"

#include <snappy.h>

#include <algorithm>
#include <cstring>

#include "protobuf_wire.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

constexpr uint32_t kMaskDelta = 0xa282ead8u;
constexpr std::size_t kTrailerSize = 5;
constexpr int kRestartInterval = 16;
// Snappy's densest element, a 3-byte copy of 64 bytes, expands 21.3 times: no valid block
// grows by more than this bound.
constexpr uint64_t kSnappyMaxExpansion = 32;

uint32_t load32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct BlockHandle {
  uint64_t offset = 0, size = 0;
};

std::string handle_text(const BlockHandle& h) {
  return "(offset " + std::to_string(h.offset) + ", size " + std::to_string(h.size) + ")";
}

class TableParser {
 public:
  TableParser(std::span<const std::byte> file, const std::string& origin,
              std::vector<std::vector<std::byte>>& uncompressed)
      : file_(file), origin_(origin), uncompressed_(uncompressed) {
    // Every key is rebuilt from a shared prefix; a hostile table could share a long prefix
    // with every entry and make the keys grow as the square of the file.
    key_budget_ = 8 * static_cast<uint64_t>(file.size()) + (64u << 10);
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error("TensorFlow table '" + origin_ + "': " + problem);
  }

  BlockHandle decode_handle(std::span<const std::byte> bytes, std::size_t& at, const std::string& what) const {
    BlockHandle h;
    if (!detail::read_varint(bytes, at, h.offset) || !detail::read_varint(bytes, at, h.size)) {
      fail(what + ": malformed block handle");
    }
    return h;
  }

  // The block's contents after its checksum is verified (and Snappy undone).
  std::span<const std::byte> block(const BlockHandle& h, const std::string& what) {
    const uint64_t limit = file_.size() - kTfTableFooterSize;
    if (h.offset > limit || h.size > limit - h.offset || kTrailerSize > limit - h.offset - h.size) {
      fail(what + " " + handle_text(h) + " with its 5-byte trailer runs past the blocks, which end at byte " +
           std::to_string(limit));
    }
    const std::span<const std::byte> stored = file_.subspan(h.offset, h.size);
    const auto type = static_cast<uint8_t>(file_[h.offset + h.size]);
    const uint32_t expected = unmask_crc32c(load32(file_.data() + h.offset + h.size + 1));
    const uint32_t actual = crc32c(file_.subspan(h.offset, h.size + 1));
    if (actual != expected) {
      fail(what + " " + handle_text(h) + ": checksum mismatch (stored crc32c " + std::to_string(expected) +
           ", the bytes give " + std::to_string(actual) + "): the file is damaged");
    }
    if (type == 0) return stored;
    if (type != 1)
      fail(what + " " + handle_text(h) + ": compression type " + std::to_string(type) + " (expected 0 or 1)");
    const char* in = reinterpret_cast<const char*>(stored.data());
    std::size_t length = 0;
    if (!snappy::GetUncompressedLength(in, stored.size(), &length)) {
      fail(what + " " + handle_text(h) + ": malformed Snappy length");
    }
    if (length > kSnappyMaxExpansion * h.size + 16) {
      fail(what + " " + handle_text(h) + ": Snappy block claims " + std::to_string(length) + " bytes from " +
           std::to_string(h.size) + ", more than Snappy can encode in that");
    }
    std::vector<std::byte> out(length);
    if (!snappy::RawUncompress(in, stored.size(), reinterpret_cast<char*>(out.data()))) {
      fail(what + " " + handle_text(h) + ": malformed Snappy data");
    }
    uncompressed_.push_back(std::move(out));
    return uncompressed_.back();
  }

  // The entries of one block, keys rebuilt; `previous` is the key before the block (ordering
  // runs through the whole table), empty with `first` for the table's first entry.
  void entries(std::span<const std::byte> b, const std::string& what, std::vector<TfTableEntry>& out) {
    if (b.size() < 4) fail(what + ": " + std::to_string(b.size()) + " bytes, too short for a block (at least 4)");
    const uint32_t restarts = load32(b.data() + b.size() - 4);
    if (restarts == 0 || restarts > (b.size() - 4) / 4) {
      fail(what + ": " + std::to_string(restarts) + " restart points in a block of " + std::to_string(b.size()) +
           " bytes");
    }
    const std::size_t limit = b.size() - 4 * (static_cast<std::size_t>(restarts) + 1);
    std::size_t at = 0, next_restart = 0;
    std::string key;
    bool first_in_block = true;
    while (at < limit) {
      const std::size_t start = at;
      const bool is_restart = next_restart < restarts && load32(b.data() + limit + 4 * next_restart) == start;
      uint64_t shared = 0, non_shared = 0, value_length = 0;
      const std::span<const std::byte> body = b.first(limit);
      if (!detail::read_varint(body, at, shared) || !detail::read_varint(body, at, non_shared) ||
          !detail::read_varint(body, at, value_length)) {
        fail(what + ": malformed entry header at byte " + std::to_string(start));
      }
      if ((first_in_block || is_restart) && shared != 0) {
        fail(what + ": the entry at byte " + std::to_string(start) + " is a restart point but shares " +
             std::to_string(shared) + " bytes with the key before it");
      }
      if (first_in_block && !is_restart) fail(what + ": the first entry is not a restart point");
      if (shared > key.size()) {
        fail(what + ": the entry at byte " + std::to_string(start) + " shares " + std::to_string(shared) +
             " bytes of a " + std::to_string(key.size()) + "-byte key");
      }
      if (non_shared > limit - at || value_length > limit - at - non_shared) {
        fail(what + ": the entry at byte " + std::to_string(start) + " claims " + std::to_string(non_shared) +
             " key and " + std::to_string(value_length) + " value bytes; the block has " + std::to_string(limit - at));
      }
      if (shared + non_shared > key_budget_) {
        fail(what + ": rebuilding the keys needs more than " + std::to_string(8 * file_.size() + (64u << 10)) +
             " bytes, far more than this file's keys could hold");
      }
      key_budget_ -= shared + non_shared;
      key.resize(static_cast<std::size_t>(shared));
      key.append(reinterpret_cast<const char*>(b.data() + at), static_cast<std::size_t>(non_shared));
      at += static_cast<std::size_t>(non_shared);
      if (have_previous_ && !(previous_ < key)) {
        fail(what + ": key '" + printable(key) + "' does not sort after '" + printable(previous_) + "'");
      }
      previous_ = key;
      have_previous_ = true;
      out.push_back({key, b.subspan(at, static_cast<std::size_t>(value_length))});
      at += static_cast<std::size_t>(value_length);
      if (is_restart) ++next_restart;
      first_in_block = false;
    }
    if (next_restart != restarts && !(restarts == 1 && limit == 0 && load32(b.data()) == 0)) {
      fail(what + ": " + std::to_string(restarts - next_restart) + " of its " + std::to_string(restarts) +
           " restart points are not at entries");
    }
  }

  static std::string printable(const std::string& key) {
    std::string out;
    for (const char c : key.substr(0, 200)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7f) {
        out += c;
      } else {
        static const char* const kHex = "0123456789abcdef";
        out += "\\x";
        out += kHex[u >> 4];
        out += kHex[u & 15];
      }
    }
    return key.size() > 200 ? out + "..." : out;
  }

  const std::string& previous() const { return previous_; }
  bool have_previous() const { return have_previous_; }
  void reset_order() {
    previous_.clear();
    have_previous_ = false;
  }

 private:
  std::span<const std::byte> file_;
  const std::string& origin_;
  std::vector<std::vector<std::byte>>& uncompressed_;
  std::string previous_;
  bool have_previous_ = false;
  uint64_t key_budget_ = 0;
};

void put32(std::vector<std::byte>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
}

// Builds one block's entries with prefix compression and restart points.
class BlockBuilder {
 public:
  explicit BlockBuilder(int interval) : interval_(interval) {}
  void add(const std::string& key, std::span<const std::byte> value) {
    std::size_t shared = 0;
    if (count_ % interval_ == 0) {
      restarts_.push_back(static_cast<uint32_t>(body_.size()));
    } else {
      while (shared < key.size() && shared < last_.size() && key[shared] == last_[shared]) ++shared;
    }
    detail::append_varint(body_, shared);
    detail::append_varint(body_, key.size() - shared);
    detail::append_varint(body_, value.size());
    const auto* k = reinterpret_cast<const std::byte*>(key.data());
    body_.insert(body_.end(), k + shared, k + key.size());
    body_.insert(body_.end(), value.begin(), value.end());
    last_ = key;
    ++count_;
  }
  bool empty() const { return count_ == 0; }
  std::size_t size_estimate() const { return body_.size() + 4 * (restarts_.size() + 1); }
  const std::string& last_key() const { return last_; }
  std::vector<std::byte> finish() {
    if (restarts_.empty()) restarts_.push_back(0);  // an empty block still has one restart
    std::vector<std::byte> out = std::move(body_);
    for (const uint32_t r : restarts_) put32(out, r);
    put32(out, static_cast<uint32_t>(restarts_.size()));
    body_.clear();
    restarts_.clear();
    count_ = 0;
    return out;
  }

 private:
  int interval_;
  std::vector<std::byte> body_;
  std::vector<uint32_t> restarts_;
  std::string last_;
  int count_ = 0;
};

BlockHandle write_block(std::vector<std::byte>& file, const std::vector<std::byte>& block) {
  const BlockHandle h{file.size(), block.size()};
  file.insert(file.end(), block.begin(), block.end());
  file.push_back(std::byte{0});  // not compressed
  put32(file, mask_crc32c(crc32c(std::span(file).subspan(h.offset, h.size + 1))));
  return h;
}

void put_handle(std::vector<std::byte>& out, const BlockHandle& h) {
  detail::append_varint(out, h.offset);
  detail::append_varint(out, h.size);
}

}  // namespace

uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

uint32_t unmask_crc32c(uint32_t masked) {
  const uint32_t r = masked - kMaskDelta;
  return (r >> 17) | (r << 15);
}

TfTable TfTable::parse(std::vector<std::byte> bytes, std::string origin) {
  TfTable t;
  t.file_ = std::move(bytes);
  t.origin_ = std::move(origin);
  const std::span<const std::byte> file = t.file_;
  TableParser parser(file, t.origin_, t.uncompressed_);
  if (file.size() < kTfTableFooterSize) {
    parser.fail(std::to_string(file.size()) + " bytes, too short for a table (its footer alone is 48)");
  }
  const std::span<const std::byte> footer = file.last(kTfTableFooterSize);
  const uint64_t magic =
      static_cast<uint64_t>(load32(footer.data() + 40)) | (static_cast<uint64_t>(load32(footer.data() + 44)) << 32);
  if (magic != kTfTableMagic) {
    parser.fail(
        "the last 8 bytes are not the table magic number 0xdb4775248b80fb57 (not a TensorFlow .index or V1 "
        "checkpoint, or truncated)");
  }
  std::size_t at = 0;
  const std::span<const std::byte> handles = footer.first(40);
  const BlockHandle metaindex = parser.decode_handle(handles, at, "footer: metaindex handle");
  const BlockHandle index = parser.decode_handle(handles, at, "footer: index handle");
  std::vector<TfTableEntry> meta_entries, index_entries;
  parser.entries(parser.block(metaindex, "metaindex block"), "metaindex block", meta_entries);
  parser.reset_order();
  parser.entries(parser.block(index, "index block"), "index block", index_entries);
  parser.reset_order();
  uint64_t next_free = 0;
  std::string separator_before;
  for (std::size_t i = 0; i < index_entries.size(); ++i) {
    const TfTableEntry& ie = index_entries[i];
    const std::string what = "data block " + std::to_string(i);
    std::size_t hat = 0;
    const BlockHandle h = parser.decode_handle(ie.value, hat, "index entry " + std::to_string(i));
    if (h.offset < next_free) {
      parser.fail(what + " " + handle_text(h) + " overlaps or precedes the block before it, which ends at byte " +
                  std::to_string(next_free));
    }
    const std::span<const std::byte> b = parser.block(h, what);
    next_free = h.offset + h.size + kTrailerSize;
    const std::size_t first = t.entries_.size();
    parser.entries(b, what, t.entries_);
    if (t.entries_.size() == first) parser.fail(what + " holds no entries");
    if (i > 0 && !(separator_before < t.entries_[first].key)) {
      parser.fail(what + ": its first key does not sort after the index's separator for the block before it");
    }
    if (t.entries_.back().key > ie.key) {
      parser.fail(what + ": its last key sorts after the index's separator for it");
    }
    separator_before = ie.key;
  }
  return t;
}

TfTable TfTable::read(const std::string& path) { return parse(read_file(path), path); }

const TfTableEntry* TfTable::find(std::string_view key) const {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                                   [](const TfTableEntry& e, std::string_view k) { return e.key < k; });
  return it != entries_.end() && it->key == key ? &*it : nullptr;
}

std::vector<std::byte> build_tf_table(const std::vector<std::pair<std::string, std::vector<std::byte>>>& entries,
                                      std::size_t block_size) {
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (!(entries[i - 1].first < entries[i].first)) {
      throw Error("TensorFlow table: key '" + entries[i].first + "' does not sort after '" + entries[i - 1].first +
                  "'");
    }
  }
  std::vector<std::byte> file;
  BlockBuilder data(kRestartInterval), index(1);
  auto flush = [&] {
    if (data.empty()) return;
    const std::string last = data.last_key();
    const BlockHandle h = write_block(file, data.finish());
    std::vector<std::byte> value;
    put_handle(value, h);
    index.add(last, value);  // the block's last key separates it from the next
  };
  for (const auto& [key, value] : entries) {
    data.add(key, value);
    if (data.size_estimate() >= block_size) flush();
  }
  flush();
  BlockBuilder meta(kRestartInterval);
  const BlockHandle metaindex = write_block(file, meta.finish());
  const BlockHandle index_handle = write_block(file, index.finish());
  std::vector<std::byte> footer;
  put_handle(footer, metaindex);
  put_handle(footer, index_handle);
  footer.resize(40, std::byte{0});
  put32(footer, static_cast<uint32_t>(kTfTableMagic & 0xffffffffu));
  put32(footer, static_cast<uint32_t>(kTfTableMagic >> 32));
  file.insert(file.end(), footer.begin(), footer.end());
  return file;
}

}  // namespace rnnkit

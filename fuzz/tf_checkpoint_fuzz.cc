// libFuzzer target: TensorFlow checkpoints (formats/tf_checkpoint.h). The input is split into
// a V2 bundle:
//   bytes 0-1   L, little-endian (clamped to what follows)
//   next L      PREFIX.index
//   the rest    PREFIX.data-00000-of-00001
// written into a temporary folder of this process (under /dev/shm where there is one), opened
// with TfCheckpoint::open, every variable's values read and the recurrent model imported. The
// index part is opened as a V1 checkpoint file too, and the whole input parsed as a table.
// Most mutations of a table's bytes only fail a block's checksum: the index part is opened a
// second time with the checksums of the blocks its footer and index reach made right again,
// so that what the blocks hold (entries, BundleEntryProtos, V1 records) is fuzzed too.
// Errors are fine; crashes, leaks, undefined behaviour and allocations the input cannot back
// are not. fuzz/corpus-tf/ holds seeds in this format, made from tests/fixtures/tf-checkpoints/.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "rnnkit/core/crc32c.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/tf_checkpoint.h"
#include "rnnkit/formats/tf_import.h"
#include "rnnkit/formats/tf_table.h"

namespace {

// The folder, made once per process and reused; removed at exit (its name in a plain array,
// which outlives the exit handlers, unlike a static std::string).
char g_folder[64];

const char* folder() {
  if (g_folder[0] == '\0') {
    struct stat st {};
    const bool shm = ::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode);
    std::strcpy(g_folder, shm ? "/dev/shm/rnnkit-tf-fuzz-XXXXXX" : "/tmp/rnnkit-tf-fuzz-XXXXXX");
    if (::mkdtemp(g_folder) == nullptr) std::abort();
    std::atexit([] {
      for (const char* name : {"/model.ckpt.index", "/model.ckpt.data-00000-of-00001", "/v1.ckpt"}) {
        ::unlink((std::string(g_folder) + name).c_str());
      }
      ::rmdir(g_folder);
    });
  }
  return g_folder;
}

void write(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::abort();
}

bool read_varint(const std::vector<uint8_t>& f, size_t end, size_t& at, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && at < end; shift += 7) {
    const uint8_t b = f[at++];
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Rewrites the masked crc32c in the trailer of the block at (offset, size), if it lies inside
// the blocks; true if it does.
bool fix_block(std::vector<uint8_t>& f, uint64_t offset, uint64_t size) {
  const uint64_t limit = f.size() - rnnkit::kTfTableFooterSize;
  if (offset > limit || size > limit - offset || 5 > limit - offset - size) return false;
  const auto* p = reinterpret_cast<const std::byte*>(f.data() + offset);
  const uint32_t crc = rnnkit::mask_crc32c(rnnkit::crc32c(std::span<const std::byte>(p, size + 1)));
  std::memcpy(f.data() + offset + size + 1, &crc, 4);
  return true;
}

// The table with every block checksum the footer and the (uncompressed) index reach made right.
std::vector<uint8_t> with_checksums_fixed(const uint8_t* data, size_t size) {
  std::vector<uint8_t> f(data, data + size);
  if (size < rnnkit::kTfTableFooterSize) return f;
  const size_t footer = size - rnnkit::kTfTableFooterSize;
  size_t at = footer;
  uint64_t meta_offset = 0, meta_size = 0, index_offset = 0, index_size = 0;
  if (!read_varint(f, footer + 40, at, meta_offset) || !read_varint(f, footer + 40, at, meta_size) ||
      !read_varint(f, footer + 40, at, index_offset) || !read_varint(f, footer + 40, at, index_size)) {
    return f;
  }
  fix_block(f, meta_offset, meta_size);
  if (!fix_block(f, index_offset, index_size) || f[index_offset + index_size] != 0 || index_size < 4) return f;
  // The index block's entries: block handles of the data blocks.
  uint32_t restarts = 0;
  std::memcpy(&restarts, f.data() + index_offset + index_size - 4, 4);
  if (restarts > (index_size - 4) / 4) return f;
  const size_t end = index_offset + index_size - 4 * (static_cast<size_t>(restarts) + 1);
  at = index_offset;
  while (at < end) {
    uint64_t shared = 0, non_shared = 0, value_length = 0;
    if (!read_varint(f, end, at, shared) || !read_varint(f, end, at, non_shared) ||
        !read_varint(f, end, at, value_length) || non_shared > end - at || value_length > end - at - non_shared) {
      break;
    }
    at += non_shared;
    const size_t value_end = at + value_length;
    uint64_t offset = 0, block_size = 0;
    if (read_varint(f, value_end, at, offset) && read_varint(f, value_end, at, block_size)) {
      fix_block(f, offset, block_size);
    }
    at = value_end;
  }
  // The index block's own checksum again, in case a data block's trailer overlapped it.
  fix_block(f, index_offset, index_size);
  return f;
}

// Everything a caller does with an open checkpoint.
void exercise(const rnnkit::TfCheckpoint& checkpoint) {
  for (const rnnkit::TfVariable& v : checkpoint.variables()) {
    try {
      (void)checkpoint.values(v);
    } catch (const rnnkit::Error&) {
    }
  }
  try {
    (void)checkpoint.float_variables();
  } catch (const rnnkit::Error&) {
  }
  try {
    (void)rnnkit::import_tf_checkpoint(checkpoint);
  } catch (const rnnkit::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::vector<std::byte> bytes(size);
    if (size > 0) std::memcpy(bytes.data(), data, size);
    (void)rnnkit::TfTable::parse(std::move(bytes), "fuzz");
  } catch (const rnnkit::Error&) {
  }
  if (size < 2) return 0;
  const size_t claimed = static_cast<size_t>(data[0]) | (static_cast<size_t>(data[1]) << 8);
  const size_t index_size = claimed < size - 2 ? claimed : size - 2;
  const uint8_t* index = data + 2;
  const std::string prefix = std::string(folder()) + "/model.ckpt";
  write(prefix + ".data-00000-of-00001", index + index_size, size - 2 - index_size);
  const std::string v1 = std::string(folder()) + "/v1.ckpt";
  auto open_both = [&](const uint8_t* table, size_t table_size) {
    write(prefix + ".index", table, table_size);
    try {
      exercise(rnnkit::TfCheckpoint::open(prefix));
    } catch (const rnnkit::Error&) {
    }
    // The index part as a V1 file (no .index beside it).
    write(v1, table, table_size);
    try {
      exercise(rnnkit::TfCheckpoint::open(v1));
    } catch (const rnnkit::Error&) {
    }
  };
  open_both(index, index_size);
  const std::vector<uint8_t> fixed = with_checksums_fixed(index, index_size);
  if (!std::equal(fixed.begin(), fixed.end(), index)) open_both(fixed.data(), fixed.size());
  return 0;
}

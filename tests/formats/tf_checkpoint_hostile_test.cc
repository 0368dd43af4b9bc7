// TensorFlow checkpoints that lie (formats/tf_checkpoint.h, formats/tf_table.h): a valid bundle
// (a fixture of the independent Python writer, or one written here) cut short or with bytes
// flipped, and tables, index entries, V1 records and object graphs made by hand with what the
// reader must refuse: checksums that do not hold, offsets and sizes past their files, shapes
// their bytes cannot back, varints and lengths that claim too much, Snappy bombs, keys that
// would rebuild to far more than the file, slices that do not tile, paths that leave the folder.
// Each is an Error naming the file (and the tensor where there is one) and saying what was
// expected or found; none crashes, and none allocates what the file cannot back (a claimed
// 2^40-element tensor would throw std::bad_alloc, which error_of does not catch, failing the test).
// Round trips: write_tf_bundle read back bit-exact, and tf_slice_key against OrderedCode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <snappy.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/crc32c.h"
#include "rnnkit/formats/tf_checkpoint.h"
#include "rnnkit/formats/tf_import.h"
#include "rnnkit/formats/tf_table.h"
#include "test_support.h"

namespace rnnkit {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using testing::AllOf;
using testing::HasSubstr;
using testing::Not;
using Bytes = std::vector<std::byte>;
using Extents = std::vector<std::pair<int64_t, int64_t>>;

std::string fixture(const std::string& name) {
  return std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/tf-checkpoints/" + name;
}

// A copy of a fixture's folder at `to`.
void copy_fixture(const std::string& name, const std::string& to) {
  fs::copy(fixture(name), to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

void write_bytes(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

Bytes as_bytes(std::string_view s) {
  Bytes out(s.size());
  if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string hex(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!out.empty()) out += ' ';
    out += kHex[u >> 4];
    out += kHex[u & 15];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoders written here, independently of the reader: varints, protobuf fields, table blocks.

void put_varint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

void put32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
}

void append(Bytes& out, std::span<const std::byte> more) { out.insert(out.end(), more.begin(), more.end()); }

uint32_t masked_crc(std::span<const std::byte> bytes) { return mask_crc32c(crc32c(bytes)); }

// A protobuf message, field by field.
struct Proto {
  Bytes out;
  Proto& varint(uint32_t field, uint64_t v) {
    put_varint(out, static_cast<uint64_t>(field) << 3);
    put_varint(out, v);
    return *this;
  }
  Proto& int64(uint32_t field, int64_t v) { return varint(field, static_cast<uint64_t>(v)); }
  Proto& fixed32(uint32_t field, uint32_t v) {
    put_varint(out, (static_cast<uint64_t>(field) << 3) | 5);
    put32(out, v);
    return *this;
  }
  Proto& bytes(uint32_t field, std::span<const std::byte> b) {
    put_varint(out, (static_cast<uint64_t>(field) << 3) | 2);
    put_varint(out, b.size());
    append(out, b);
    return *this;
  }
  Proto& string(uint32_t field, std::string_view s) { return bytes(field, as_bytes(s)); }
  Proto& message(uint32_t field, const Proto& inner) { return bytes(field, inner.out); }
  Proto& raw(std::span<const std::byte> b) {
    append(out, b);
    return *this;
  }
};

// TensorFlow's DataType values (types.proto).
constexpr int kFloat = 1, kDouble = 2, kString = 7, kComplex64 = 8, kInt64 = 9, kVariant = 21;

Proto shape_proto(const Shape& shape) {
  Proto p;
  for (const int64_t d : shape) p.message(2, Proto().int64(1, d));  // TensorShapeProto.dim {size}
  return p;
}

// TensorSliceProto: one extent per dimension, empty for a whole one.
Proto slice_proto(const Extents& extents) {
  Proto p;
  for (const auto& [start, length] : extents) {
    Proto e;
    if (length >= 0) e.int64(1, start).int64(2, length);
    p.message(1, e);
  }
  return p;
}

// A BundleEntryProto.
struct Entry {
  int dtype = kFloat;
  Shape shape;
  int64_t shard = 0, offset = 0, size = 0;
  std::optional<uint32_t> crc;  // masked
  std::vector<Extents> slices;
  Bytes encode() const {
    Proto p;
    p.varint(1, static_cast<uint64_t>(dtype)).message(2, shape_proto(shape));
    if (shard != 0) p.int64(3, shard);
    if (offset != 0) p.int64(4, offset);
    if (size != 0) p.int64(5, size);
    if (crc) p.fixed32(6, *crc);
    for (const Extents& s : slices) p.message(7, slice_proto(s));
    return p.out;
  }
};

// An entry for `bytes` appended to `data`, its crc32c right.
Entry piece(Bytes& data, std::span<const std::byte> bytes, const Shape& shape, int dtype = kFloat) {
  Entry e;
  e.dtype = dtype;
  e.shape = shape;
  e.offset = static_cast<int64_t>(data.size());
  e.size = static_cast<int64_t>(bytes.size());
  e.crc = masked_crc(bytes);
  append(data, bytes);
  return e;
}

Bytes floats(std::initializer_list<float> values) {
  Bytes out(values.size() * 4);
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

Proto header_proto(int64_t num_shards = 1) {
  Proto h;
  h.int64(1, num_shards).message(3, Proto().varint(1, 1));  // version {producer 1}
  return h;
}

// A bundle at `prefix`: the header and `entries` in the .index (through build_tf_table), `data`
// as its only shard.
void write_bundle(const std::string& prefix, const std::map<std::string, Bytes>& entries, const Bytes& data,
                  const Bytes& header = header_proto().out) {
  std::vector<std::pair<std::string, Bytes>> table{{"", header}};
  for (const auto& [key, value] : entries) table.emplace_back(key, value);
  write_bytes(prefix + ".index", build_tf_table(table));
  write_bytes(prefix + ".data-00000-of-00001", data);
}

// Block contents: `body` (the entries), restart offsets, their count.
Bytes block_of(Bytes body, const std::vector<uint32_t>& restarts) {
  for (const uint32_t r : restarts) put32(body, r);
  put32(body, static_cast<uint32_t>(restarts.size()));
  return body;
}

// One entry as LevelDB writes it.
void put_entry(Bytes& body, uint64_t shared, std::string_view key_part, std::span<const std::byte> value) {
  put_varint(body, shared);
  put_varint(body, key_part.size());
  put_varint(body, value.size());
  append(body, as_bytes(key_part));
  append(body, value);
}

// A block of whole keys, each entry a restart point.
Bytes block_of_entries(const std::vector<std::pair<std::string, Bytes>>& entries) {
  Bytes body;
  std::vector<uint32_t> restarts;
  for (const auto& [key, value] : entries) {
    restarts.push_back(static_cast<uint32_t>(body.size()));
    put_entry(body, 0, key, value);
  }
  return block_of(std::move(body), restarts);
}

// Appends a block with its trailer (compression type, masked crc32c of the block and type);
// returns its handle.
std::pair<uint64_t, uint64_t> put_block(Bytes& file, std::span<const std::byte> stored, uint8_t type) {
  const uint64_t offset = file.size();
  append(file, stored);
  file.push_back(static_cast<std::byte>(type));
  put32(file, masked_crc(std::span<const std::byte>(file).subspan(offset, stored.size() + 1)));
  return {offset, stored.size()};
}

// A table of one data block: `stored` as written (Snappy-compressed if `type` is 1), the index's
// separator for it `separator`, an empty metaindex, the footer.
Bytes table_of_block(std::span<const std::byte> stored, uint8_t type = 0, const std::string& separator = "\xff\xff") {
  Bytes file;
  const auto data = put_block(file, stored, type);
  const auto meta = put_block(file, block_of({}, {0}), 0);
  Bytes handle;
  put_varint(handle, data.first);
  put_varint(handle, data.second);
  const auto index = put_block(file, block_of_entries({{separator, handle}}), 0);
  Bytes footer;
  put_varint(footer, meta.first);
  put_varint(footer, meta.second);
  put_varint(footer, index.first);
  put_varint(footer, index.second);
  footer.resize(40);
  put32(footer, static_cast<uint32_t>(kTfTableMagic & 0xffffffffu));
  put32(footer, static_cast<uint32_t>(kTfTableMagic >> 32));
  append(file, footer);
  return file;
}

Bytes snappy_compress(std::span<const std::byte> raw) {
  std::string out;
  snappy::Compress(reinterpret_cast<const char*>(raw.data()), raw.size(), &out);
  return as_bytes(out);
}

std::string parse_error(const Bytes& table, const std::string& origin = "hostile.index") {
  return error_of([&] { (void)TfTable::parse(table, origin); });
}

std::string open_error(const std::string& path) {
  return error_of([&] { (void)TfCheckpoint::open(path); });
}

// A scalar DT_STRING tensor as BundleWriter stores one: the varint length, the masked crc32c of
// the length (as 4 little-endian bytes), the bytes; the entry's crc32c runs over the length's 4
// bytes, the stored length checksum and the bytes.
Entry string_piece(Bytes& data, std::span<const std::byte> s) {
  Bytes stored;
  put_varint(stored, s.size());
  Bytes length4;
  put32(length4, static_cast<uint32_t>(s.size()));
  uint32_t crc = crc32c(length4);
  const std::size_t at = stored.size();
  put32(stored, mask_crc32c(crc));
  crc = crc32c_extend(crc, std::span<const std::byte>(stored).subspan(at, 4));
  crc = crc32c_extend(crc, s);
  append(stored, s);
  Entry e;
  e.dtype = kString;
  e.offset = static_cast<int64_t>(data.size());
  e.size = static_cast<int64_t>(stored.size());
  e.crc = mask_crc32c(crc);
  append(data, stored);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(TfCheckpointHostile, WrittenBundlesReadBackBitExact) {
  test::TempDir dir;
  const std::string prefix = dir.file("model.ckpt");
  const std::vector<float> kernel = {1.5f,
                                     -0.0f,
                                     std::numeric_limits<float>::denorm_min(),
                                     std::numeric_limits<float>::infinity(),
                                     std::bit_cast<float>(0x7fc12345u),  // a quiet NaN with a payload
                                     std::numeric_limits<float>::max(),
                                     -std::numeric_limits<float>::min(),
                                     3.14159274f,
                                     1e-30f,
                                     -7.0f,
                                     0.1f,
                                     65504.0f};
  const std::vector<double> bias = {0.1, -0.0, std::numeric_limits<double>::denorm_min(),
                                    std::bit_cast<double>(0x7ff8000000abcdefull)};
  const std::vector<double> scalar = {-2.5e300};
  write_tf_bundle(prefix, {{"rnn/kernel", {3, 4}, false, std::as_bytes(std::span(kernel))},
                           {"rnn/bias", {4}, true, std::as_bytes(std::span(bias))},
                           {"scalar", {}, true, std::as_bytes(std::span(scalar))},
                           {"empty", {0, 3}, false, {}}});
  const TfCheckpoint ckpt = TfCheckpoint::open(prefix);
  EXPECT_EQ(ckpt.format(), TfCheckpointFormat::bundle);
  ASSERT_EQ(ckpt.variables().size(), 4u);
  const TfVariable* k = ckpt.find("rnn/kernel");
  const TfVariable* b = ckpt.find("rnn/bias");
  const TfVariable* s = ckpt.find("scalar");
  const TfVariable* e = ckpt.find("empty");
  ASSERT_TRUE(k && b && s && e);
  EXPECT_EQ(k->dtype, "F32");
  EXPECT_EQ(b->dtype, "F64");
  EXPECT_EQ(k->shape, (Shape{3, 4}));
  EXPECT_EQ(s->shape, Shape{});
  EXPECT_EQ(e->shape, (Shape{0, 3}));
  const Tensor<double> kv = ckpt.values(*k);
  ASSERT_EQ(kv.numel(), 12);
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(static_cast<float>(kv[i])), std::bit_cast<uint32_t>(kernel[i])) << i;
  }
  const Tensor<double> bv = ckpt.values(*b);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(std::bit_cast<uint64_t>(bv[i]), std::bit_cast<uint64_t>(bias[i])) << i;
  EXPECT_EQ(std::bit_cast<uint64_t>(ckpt.values(*s)[0]), std::bit_cast<uint64_t>(scalar[0]));
  EXPECT_EQ(ckpt.values(*e).numel(), 0);
  const auto floats_by_name = ckpt.float_variables();
  EXPECT_EQ(floats_by_name.at("rnn/kernel").dtype, "F32");
  EXPECT_EQ(floats_by_name.at("rnn/bias").dtype, "F64");
}

TEST(TfCheckpointHostile, SliceKeysAreOrderedCode) {
  // EncodeTensorNameSlice: OrderedCode's unsigned 0 (a length byte 00), the name with 00 as 00 ff
  // and ff as ff 00 and then 00 01, the rank as an unsigned number (a length byte, then its
  // big-endian bytes), then each extent's start and length as signed numbers (-1: all of it).
  // A signed n takes L bytes, L = bitlength(n >= 0 ? n : ~n) / 7 + 1: its L-byte two's
  // complement with the top L bits flipped (so 1s then a 0 for n >= 0, 0s then a 1 for n < 0):
  //   0 -> 80; -1 -> 7f; 63 -> bf; -64 -> 40 (one byte: [-64, 64));
  //   64 (7 bits, L 2): 0040 ^ c000 -> c0 40;   -65 (~n = 64): ffbf ^ c000 -> 3f bf;
  //   8191 (13 bits, L 2): 1fff ^ c000 -> df ff; -8192 (~n = 8191): e000 ^ c000 -> 20 00;
  //   8192 (14 bits, L 3): 002000 ^ e00000 -> e0 20 00; -8193: ffdfff ^ e00000 -> 1f df ff;
  //   2^40 (41 bits, L 6): 010000000000 ^ fc0000000000 -> fd 00 00 00 00 00;
  //   2^63 - 1 (63 bits, L 10, header ff c0): 00007fff... -> ff c0 7f ff ff ff ff ff ff ff;
  //   -2^63: ffff8000... -> 00 3f 80 00 00 00 00 00 00 00.
  // The Python writer's encoder (tests/fixtures/tf_checkpoint_io.py, ordered_code_signed) gives
  // the same bytes for each of these.
  auto one = [](int64_t v) {
    const std::string key = tf_slice_key("", {{v, 0}});
    // 00 | 00 01 | 01 01 | v | 80 (length 0)
    EXPECT_EQ(hex(key.substr(0, 5)), "00 00 01 01 01") << v;
    EXPECT_EQ(key.back(), '\x80') << v;
    return hex(key.substr(5, key.size() - 6));
  };
  EXPECT_EQ(one(0), "80");
  EXPECT_EQ(one(-1), "7f");
  EXPECT_EQ(one(31), "9f");
  EXPECT_EQ(one(32), "a0");
  EXPECT_EQ(one(63), "bf");
  EXPECT_EQ(one(-64), "40");
  EXPECT_EQ(one(64), "c0 40");
  EXPECT_EQ(one(-65), "3f bf");
  EXPECT_EQ(one(8191), "df ff");
  EXPECT_EQ(one(-8192), "20 00");
  EXPECT_EQ(one(8192), "e0 20 00");
  EXPECT_EQ(one(-8193), "1f df ff");
  EXPECT_EQ(one(int64_t{1} << 40), "fd 00 00 00 00 00");
  EXPECT_EQ(one(std::numeric_limits<int64_t>::max()), "ff c0 7f ff ff ff ff ff ff ff");
  EXPECT_EQ(one(std::numeric_limits<int64_t>::min()), "00 3f 80 00 00 00 00 00 00 00");
  // Whole keys, as the Python writer's encode_tensor_name_slice gives them.
  EXPECT_EQ(hex(tf_slice_key("w", {{0, -1}, {3, 2}})), "00 77 00 01 01 02 80 7f 83 82");
  EXPECT_EQ(hex(tf_slice_key(std::string("a\0b\xff", 4), {})), "00 61 00 ff 62 ff 00 00 01 00");
  EXPECT_EQ(hex(tf_slice_key("x", {{64, 8191}})), "00 78 00 01 01 01 c0 40 df ff");
}

TEST(TfCheckpointHostile, APartitionedVariableWithStartsPast32ReadsBack) {
  // Slice starts of 32 to 63 (and 8191...) take one byte (two) in OrderedCode: the slice entries
  // are found under the keys TensorFlow writes.
  test::TempDir dir;
  const std::string prefix = dir.file("p");
  Bytes data;
  std::vector<float> all(40 * 2);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<float>(i);
  const auto rows = [&](std::size_t from, std::size_t to) {
    return Bytes(reinterpret_cast<const std::byte*>(all.data() + 2 * from),
                 reinterpret_cast<const std::byte*>(all.data() + 2 * to));
  };
  const Extents top{{0, 33}, {0, -1}}, bottom{{33, 7}, {0, -1}};
  std::map<std::string, Bytes> entries;
  // The keys as the Python writer's encode_tensor_name_slice gives them (33 is a1, one byte).
  const std::string top_key("\x00w\x00\x01\x01\x02\x80\xa1\x80\x7f", 10);
  const std::string bottom_key("\x00w\x00\x01\x01\x02\xa1\x87\x80\x7f", 10);
  EXPECT_EQ(tf_slice_key("w", top), top_key);
  EXPECT_EQ(tf_slice_key("w", bottom), bottom_key);
  entries[top_key] = piece(data, rows(0, 33), {33, 2}).encode();
  entries[bottom_key] = piece(data, rows(33, 40), {7, 2}).encode();
  Entry whole;
  whole.shape = {40, 2};
  whole.slices = {top, bottom};
  entries["w"] = whole.encode();
  write_bundle(prefix, entries, data);
  const TfCheckpoint ckpt = TfCheckpoint::open(prefix);
  ASSERT_EQ(ckpt.variables().size(), 1u);
  EXPECT_EQ(ckpt.variables()[0].slices, 2u);
  const Tensor<double> v = ckpt.values(ckpt.variables()[0]);
  for (int64_t i = 0; i < 80; ++i) EXPECT_EQ(v[i], static_cast<double>(i));
}

// ---------------------------------------------------------------------------------------------
// The table: truncation, magic, checksums, blocks, entries, keys, Snappy

TEST(TfCheckpointHostile, ATruncatedIndexIsRefusedAtEveryCut) {
  test::TempDir dir;
  copy_fixture("gru_weights_biases_tf1_1", dir.file("c"));
  const std::string index = dir.file("c/model.ckpt.index");
  const Bytes whole = read_file(index);
  ASSERT_GT(whole.size(), 100u);
  for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{20}, std::size_t{47}, std::size_t{48},
                                std::size_t{49}, whole.size() / 2, whole.size() - 8, whole.size() - 1}) {
    write_bytes(index, std::span(whole).first(cut));
    const std::string message = open_error(dir.file("c/model.ckpt"));
    EXPECT_THAT(message, HasSubstr("TensorFlow table '" + index + "'")) << cut;
    if (cut < 48) {
      EXPECT_THAT(message, HasSubstr(std::to_string(cut) + " bytes, too short for a table (its footer alone is 48)"));
    } else {
      EXPECT_THAT(message, HasSubstr("are not the table magic number 0xdb4775248b80fb57")) << cut;
    }
  }
}

TEST(TfCheckpointHostile, ABadFooterMagicIsRefused) {
  test::TempDir dir;
  copy_fixture("gru_weights_biases_tf1_1", dir.file("c"));
  const std::string index = dir.file("c/model.ckpt.index");
  Bytes bytes = read_file(index);
  bytes.back() ^= std::byte{0x01};
  write_bytes(index, bytes);
  EXPECT_THAT(open_error(dir.file("c")),
              AllOf(HasSubstr("TensorFlow table '" + index + "'"), HasSubstr("not the table magic number")));
}

TEST(TfCheckpointHostile, AFlippedByteInADataBlockFailsItsChecksum) {
  test::TempDir dir;
  copy_fixture("gru_weights_biases_tf1_1", dir.file("c"));
  const std::string index = dir.file("c/model.ckpt.index");
  Bytes bytes = read_file(index);
  bytes[10] ^= std::byte{0x20};  // inside data block 0, which starts the file
  write_bytes(index, bytes);
  EXPECT_THAT(open_error(index),
              AllOf(HasSubstr("TensorFlow table '" + index + "'"), HasSubstr("data block 0 (offset 0"),
                    HasSubstr("checksum mismatch (stored crc32c"), HasSubstr("the file is damaged")));
}

TEST(TfCheckpointHostile, AFlippedByteInTheDataFailsThatTensorsChecksumWhenRead) {
  test::TempDir dir;
  copy_fixture("gru_weights_biases_tf1_1", dir.file("c"));
  const std::string data = dir.file("c/model.ckpt.data-00000-of-00001");
  Bytes bytes = read_file(data);
  bytes[bytes.size() / 2] ^= std::byte{0x01};
  write_bytes(data, bytes);
  const TfCheckpoint ckpt = TfCheckpoint::open(dir.file("c/model.ckpt"));  // checksums are verified when read
  int failed = 0;
  for (const TfVariable& v : ckpt.variables()) {
    const std::string message = error_of([&] { (void)ckpt.values(v); });
    if (message.empty()) continue;
    ++failed;
    EXPECT_THAT(message, AllOf(HasSubstr("TensorFlow checkpoint '" + dir.file("c/model.ckpt.index") + "', tensor '" +
                                         v.key + "'"),
                               HasSubstr("checksum mismatch (stored crc32c"), HasSubstr("the bytes in '" + data + "'"),
                               HasSubstr("the file is damaged")));
  }
  EXPECT_EQ(failed, 1);
  EXPECT_THAT(error_of([&] { (void)import_tf_checkpoint(ckpt); }), HasSubstr("checksum mismatch"));
}

TEST(TfCheckpointHostile, AFlippedByteInASliceNamesTheSlice) {
  test::TempDir dir;
  copy_fixture("gru_stacked_sliced_2shards", dir.file("c"));
  const std::string shard = dir.file("c/model.ckpt.data-00001-of-00002");
  Bytes bytes = read_file(shard);
  for (std::byte& b : bytes) b ^= std::byte{0x55};  // every tensor in shard 1
  write_bytes(shard, bytes);
  const TfCheckpoint ckpt = TfCheckpoint::open(dir.file("c"));
  bool sliced = false;
  for (const TfVariable& v : ckpt.variables()) {
    if (v.slices == 0) continue;
    sliced = true;
    // Each partitioned variable has a slice in shard 1 (round robin).
    EXPECT_THAT(error_of([&] { (void)ckpt.values(v); }),
                AllOf(HasSubstr("tensor '" + v.key + "', slice "), HasSubstr("checksum mismatch"), HasSubstr(shard)));
  }
  EXPECT_TRUE(sliced);
}

TEST(TfCheckpointHostile, BlocksClaimingImpossibleRestartCountsAreRefused) {
  Bytes body;
  put_entry(body, 0, "a", as_bytes("v"));
  for (const uint32_t count : {0u, 2u, 0x80000000u, 0xffffffffu}) {
    Bytes block = body;
    put32(block, 0);  // one restart at 0
    put32(block, count);
    const std::string message = parse_error(table_of_block(block));
    EXPECT_THAT(message, AllOf(HasSubstr("TensorFlow table 'hostile.index'"), HasSubstr("data block 0")));
    if (count != 2) {
      EXPECT_THAT(message, HasSubstr(std::to_string(count) + " restart points in a block of " +
                                     std::to_string(block.size()) + " bytes"));
    }
  }
  // A block too short for its restart count.
  EXPECT_THAT(parse_error(table_of_block(as_bytes("ab"))), HasSubstr("2 bytes, too short for a block (at least 4)"));
  // Restart offsets that are not at entries.
  Bytes off = body;
  put32(off, 0);
  put32(off, 1);  // at byte 1: inside the entry
  put32(off, 2);
  EXPECT_THAT(parse_error(table_of_block(off)), HasSubstr("1 of its 2 restart points are not at entries"));
}

TEST(TfCheckpointHostile, EntryHeadersClaimingMoreThanTheBlockAreRefused) {
  auto with_header = [](uint64_t shared, uint64_t non_shared, uint64_t value) {
    Bytes body;
    put_varint(body, shared);
    put_varint(body, non_shared);
    put_varint(body, value);
    append(body, as_bytes("abcdefgh"));
    return table_of_block(block_of(body, {0}));
  };
  EXPECT_THAT(
      parse_error(with_header(0, uint64_t{1} << 32, 0)),
      AllOf(HasSubstr("data block 0: the entry at byte 0 claims 4294967296 key and 0 value bytes; the block has")));
  EXPECT_THAT(parse_error(with_header(0, 2, std::numeric_limits<uint64_t>::max())),
              HasSubstr("claims 2 key and 18446744073709551615 value bytes"));
  EXPECT_THAT(parse_error(with_header(5, 1, 1)),
              HasSubstr("the entry at byte 0 is a restart point but shares 5 bytes with the key before it"));
  // Eleven varint bytes.
  Bytes body(11, std::byte{0xff});
  body.push_back(std::byte{0x01});
  EXPECT_THAT(parse_error(table_of_block(block_of(body, {0}))),
              HasSubstr("data block 0: malformed entry header at byte 0"));
  // Sharing more than the key before has.
  Bytes two;
  put_entry(two, 0, "ab", {});
  put_entry(two, 9, "c", {});
  EXPECT_THAT(parse_error(table_of_block(block_of(two, {0}))), HasSubstr("shares 9 bytes of a 2-byte key"));
}

TEST(TfCheckpointHostile, BlockHandlesPastTheFileAreRefused) {
  // A footer whose index handle points past the blocks.
  const Bytes block = block_of_entries({{"a", as_bytes("1")}});
  Bytes file = table_of_block(block);
  Bytes footer;
  put_varint(footer, block.size() + 5);  // the metaindex, after the data block and its trailer
  put_varint(footer, 8);
  put_varint(footer, 1u << 30);
  put_varint(footer, 1u << 30);
  footer.resize(40);
  std::memcpy(file.data() + file.size() - 48, footer.data(), 40);
  EXPECT_THAT(parse_error(file), AllOf(HasSubstr("index block (offset 1073741824, size 1073741824) with its 5-byte "
                                                 "trailer runs past the blocks, which end at byte ")));
  std::memset(file.data() + file.size() - 48, 0xff, 40);  // varints that never end
  EXPECT_THAT(parse_error(file), HasSubstr("footer: metaindex handle: malformed block handle"));
}

TEST(TfCheckpointHostile, KeysOutOfOrderOrRepeatedAreRefused) {
  EXPECT_THAT(parse_error(table_of_block(block_of_entries({{"b", {}}, {"a", {}}}))),
              HasSubstr("data block 0: key 'a' does not sort after 'b'"));
  EXPECT_THAT(parse_error(table_of_block(block_of_entries({{"a", {}}, {"a", {}}}))),
              HasSubstr("key 'a' does not sort after 'a'"));
  // The index's separator must not sort before the block's last key.
  EXPECT_THAT(parse_error(table_of_block(block_of_entries({{"b", {}}, {"c", {}}}), 0, "a")),
              HasSubstr("data block 0: its last key sorts after the index's separator for it"));
  // Binary keys are shown escaped.
  EXPECT_THAT(parse_error(table_of_block(block_of_entries({{std::string("\x01\xfe", 2), {}}, {"\x01", {}}}))),
              HasSubstr("key '\\x01' does not sort after '\\x01\\xfe'"));
}

TEST(TfCheckpointHostile, KeysSharingALongPrefixCannotAmplifyTheFile) {
  // One 60000-byte key, then 5000 entries of 7 bytes each sharing all of it: 35 kB more of
  // file would rebuild to 300 MB of keys. Refused once the keys pass 8 times the file.
  const std::string long_key(60000, 'k');
  Bytes body;
  put_entry(body, 0, long_key, {});
  for (int i = 1; i <= 5000; ++i) {
    const char tail[2] = {static_cast<char>(i >> 8), static_cast<char>(i & 0xff)};
    put_entry(body, long_key.size(), std::string_view(tail, 2), {});
  }
  const Bytes table = table_of_block(block_of(body, {0}));
  ASSERT_LT(table.size(), 100000u);
  EXPECT_THAT(parse_error(table), AllOf(HasSubstr("data block 0: rebuilding the keys needs more than " +
                                                  std::to_string(8 * table.size() + 65536) + " bytes"),
                                        HasSubstr("far more than this file's keys could hold")));
  // A few such entries are fine.
  Bytes few;
  put_entry(few, 0, long_key, {});
  put_entry(few, long_key.size(), "x", {});
  const TfTable t = TfTable::parse(table_of_block(block_of(few, {0})), "few");
  ASSERT_EQ(t.entries().size(), 2u);
  EXPECT_EQ(t.entries()[1].key, long_key + "x");
}

TEST(TfCheckpointHostile, SnappyBlocksDecodeAndSnappyBombsAreRefused) {
  // A real Snappy block: a megabyte of zeros in one value compresses about 21 times.
  const Bytes zeros(1 << 20, std::byte{0});
  const Bytes raw = block_of_entries({{"a", as_bytes("first")}, {"b", zeros}, {"c", as_bytes("third")}});
  const Bytes compressed = snappy_compress(raw);
  ASSERT_LT(compressed.size() * 10, raw.size());
  const TfTable t = TfTable::parse(table_of_block(compressed, 1), "snappy.index");
  ASSERT_EQ(t.entries().size(), 3u);
  EXPECT_EQ(t.entries()[0].key, "a");
  EXPECT_EQ(t.entries()[1].value.size(), zeros.size());
  EXPECT_TRUE(std::equal(t.entries()[1].value.begin(), t.entries()[1].value.end(), zeros.begin()));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t.entries()[2].value.data()), t.entries()[2].value.size()),
            "third");
  ASSERT_NE(t.find("b"), nullptr);

  // A bomb: a 16-byte block claiming 4 GiB.
  Bytes bomb;
  put_varint(bomb, 0xffffffffu);
  bomb.resize(16, std::byte{0});
  EXPECT_THAT(parse_error(table_of_block(bomb, 1)),
              AllOf(HasSubstr("TensorFlow table 'hostile.index'"),
                    HasSubstr("data block 0 (offset 0, size 16): Snappy block claims 4294967295 bytes from 16, more "
                              "than Snappy can encode in that")));
  // A length Snappy could reach, data that does not make it.
  Bytes garbage;
  put_varint(garbage, 100);
  for (int i = 0; i < 20; ++i) garbage.push_back(static_cast<std::byte>(0xf0 + (i & 3)));
  EXPECT_THAT(parse_error(table_of_block(garbage, 1)), HasSubstr("malformed Snappy data"));
  // Not a varint at all, and an unknown compression type.
  EXPECT_THAT(parse_error(table_of_block(Bytes(8, std::byte{0xff}), 1)), HasSubstr("malformed Snappy length"));
  EXPECT_THAT(parse_error(table_of_block(raw, 2)), HasSubstr("compression type 2 (expected 0 or 1)"));
}

TEST(TfCheckpointHostile, ABundleWhoseIndexIsSnappyCompressedReads) {
  test::TempDir dir;
  const std::string prefix = dir.file("s");
  Bytes data;
  const Bytes values = floats({1, 2, 3, 4, 5, 6});
  const Entry w = piece(data, values, {2, 3});
  write_bytes(prefix + ".index",
              table_of_block(snappy_compress(block_of_entries({{"", header_proto().out}, {"rnn/w", w.encode()}})), 1));
  write_bytes(prefix + ".data-00000-of-00001", data);
  const TfCheckpoint ckpt = TfCheckpoint::open(prefix);
  ASSERT_EQ(ckpt.variables().size(), 1u);
  const Tensor<double> v = ckpt.values(ckpt.variables()[0]);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(v[i], static_cast<double>(i + 1));
}

// ---------------------------------------------------------------------------------------------
// The header and entries

TEST(TfCheckpointHostile, AMissingHeaderIsRefused) {
  test::TempDir dir;
  const std::string prefix = dir.file("h");
  Bytes data;
  const Entry w = piece(data, floats({1}), {1});
  write_bytes(prefix + ".index", build_tf_table({{"w", w.encode()}}));
  write_bytes(prefix + ".data-00000-of-00001", data);
  EXPECT_THAT(open_error(prefix), AllOf(HasSubstr("TensorFlow checkpoint '" + prefix + ".index'"),
                                        HasSubstr("no header entry (the empty key); not a tensor bundle index")));
  write_bytes(prefix + ".index", build_tf_table({}));
  EXPECT_THAT(open_error(prefix), HasSubstr("no header entry"));
}

TEST(TfCheckpointHostile, ShardCountsOutOfRangeAreRefused) {
  test::TempDir dir;
  const std::string prefix = dir.file("n");
  Bytes data;
  const Entry w = piece(data, floats({1}), {1});
  for (const int64_t shards : {int64_t{0}, int64_t{-1}, int64_t{100001}, int64_t{1} << 30}) {
    write_bundle(prefix, {{"w", w.encode()}}, data, header_proto(shards).out);
    EXPECT_THAT(open_error(prefix),
                AllOf(HasSubstr("TensorFlow checkpoint '" + prefix + ".index', header"),
                      HasSubstr("num_shards: " + std::to_string(shards) + " (expected 1 to 100000)")))
        << shards;
  }
  write_bundle(prefix, {{"w", w.encode()}}, data, header_proto(int64_t{1} << 40).out);
  EXPECT_THAT(open_error(prefix), HasSubstr("num_shards: value 1099511627776 does not fit in int32"));
  // Big-endian bundles are not read.
  Proto big = header_proto();
  big.varint(2, 1);
  write_bundle(prefix, {{"w", w.encode()}}, data, big.out);
  EXPECT_THAT(open_error(prefix), HasSubstr("the tensors are big-endian"));
  // A shard id past the count.
  Entry far = w;
  far.shard = 3;
  write_bundle(prefix, {{"w", far.encode()}}, data);
  EXPECT_THAT(open_error(prefix), AllOf(HasSubstr("tensor 'w'"), HasSubstr("shard 3, but the bundle has 1")));
}

TEST(TfCheckpointHostile, AMissingShardIsRefusedAtOpen) {
  test::TempDir dir;
  copy_fixture("gru_stacked_sliced_2shards", dir.file("c"));
  const std::string shard = dir.file("c/model.ckpt.data-00001-of-00002");
  fs::remove(shard);
  EXPECT_THAT(open_error(dir.file("c")),
              AllOf(HasSubstr("TensorFlow checkpoint '" + dir.file("c/model.ckpt.index") + "'"),
                    HasSubstr("its data shard 1 of 2, '" + shard + "', is missing or not a regular file")));
  fs::create_directory(shard);  // not a regular file
  EXPECT_THAT(open_error(dir.file("c")), HasSubstr("is missing or not a regular file"));
}

TEST(TfCheckpointHostile, OffsetsAndSizesPastTheShardAreRefusedAtOpen) {
  test::TempDir dir;
  const std::string prefix = dir.file("o");
  Bytes data;
  const Entry w = piece(data, floats({1, 2, 3, 4}), {4});  // 16 bytes
  const std::string shard = prefix + ".data-00000-of-00001";
  auto refused = [&](int64_t offset, int64_t size, const Shape& shape) {
    Entry e = w;
    e.offset = offset;
    e.size = size;
    e.shape = shape;
    write_bundle(prefix, {{"rnn/w", e.encode()}}, data);
    return open_error(prefix);
  };
  EXPECT_THAT(refused(12, 16, {4}),
              AllOf(HasSubstr("TensorFlow checkpoint '" + prefix + ".index', tensor 'rnn/w'"),
                    HasSubstr("bytes [12, 12 + 16) lie past the end of '" + shard + "' (16 bytes)")));
  EXPECT_THAT(refused(17, 0, {0}), HasSubstr("bytes [17, 17 + 0) lie past the end"));
  EXPECT_THAT(refused(8, std::numeric_limits<int64_t>::max() - 7, {4}), HasSubstr("lie past the end"));
  EXPECT_THAT(refused(int64_t{1} << 62, int64_t{1} << 62, {4}), HasSubstr("lie past the end"));
  EXPECT_THAT(refused(-1, 16, {4}), HasSubstr("tensor 'rnn/w': negative shard 0, offset -1 or size 16"));
  EXPECT_THAT(refused(0, -16, {4}), HasSubstr("negative shard 0, offset 0 or size -16"));
  // Inside the shard after all: a shorter file than the index expects, measured at open.
  EXPECT_EQ(refused(0, 16, {4}), "");
  Entry e = w;
  write_bundle(prefix, {{"rnn/w", e.encode()}}, Bytes(data.begin(), data.begin() + 15));
  EXPECT_THAT(open_error(prefix), HasSubstr("bytes [0, 0 + 16) lie past the end of '" + shard + "' (15 bytes)"));
}

TEST(TfCheckpointHostile, ShapesTheirBytesDoNotFitAreRefused) {
  test::TempDir dir;
  const std::string prefix = dir.file("s");
  Bytes data;
  const Entry w = piece(data, floats({1, 2, 3, 4}), {4});
  auto with_shape = [&](const Shape& shape, int dtype = kFloat) {
    Entry e = w;
    e.shape = shape;
    e.dtype = dtype;
    write_bundle(prefix, {{"w", e.encode()}}, data);
    return open_error(prefix);
  };
  EXPECT_THAT(with_shape({3}), AllOf(HasSubstr("TensorFlow checkpoint '" + prefix + ".index', tensor 'w'"),
                                     HasSubstr("16 bytes for 3 F32 elements of shape [3] (expected 3 x 4)")));
  EXPECT_THAT(with_shape({3}, kDouble), HasSubstr("16 bytes for 3 F64 elements of shape [3] (expected 3 x 8)"));
  EXPECT_THAT(with_shape({1}, kDouble), HasSubstr("16 bytes for 1 F64 elements"));
  EXPECT_EQ(with_shape({2}, kDouble), "");
  // 2^62 elements of 4 bytes: the product overflows, the size check may not.
  EXPECT_THAT(with_shape({int64_t{1} << 31, int64_t{1} << 31}),
              HasSubstr("16 bytes for 4611686018427387904 F32 elements of shape [2147483648,2147483648]"));
  EXPECT_THAT(with_shape({int64_t{1} << 32, int64_t{1} << 32}), HasSubstr("has more elements than fit in int64"));
  EXPECT_THAT(with_shape({-1}), AllOf(HasSubstr("tensor 'w', shape"), HasSubstr("dimension 0 has size -1")));
  EXPECT_THAT(with_shape(Shape(255, 1)), HasSubstr("more than 254 dimensions"));
  EXPECT_EQ(with_shape({2, 2}), "");
  // No shape at all, no checksum.
  Entry e = w;
  Bytes no_shape = Proto().varint(1, kFloat).int64(5, 16).fixed32(6, *w.crc).out;
  write_bundle(prefix, {{"w", no_shape}}, data);
  EXPECT_THAT(open_error(prefix), HasSubstr("tensor 'w': no shape"));
  e.crc.reset();
  write_bundle(prefix, {{"w", e.encode()}}, data);
  EXPECT_THAT(open_error(prefix), HasSubstr("tensor 'w': no crc32c"));
  // A crc32c of the wrong wire type.
  write_bundle(prefix, {{"w", Proto().raw(w.encode()).varint(6, 1).out}}, data);
  EXPECT_THAT(open_error(prefix), HasSubstr("field crc32c: expected 4 fixed bytes, found a varint"));
}

TEST(TfCheckpointHostile, HugeVarintsAndLengthsInEntriesAreRefused) {
  test::TempDir dir;
  const std::string prefix = dir.file("v");
  Bytes data;
  const Entry w = piece(data, floats({1}), {1});
  auto with_entry = [&](const Bytes& entry) {
    write_bundle(prefix, {{"rnn/w", entry}}, data);
    return open_error(prefix);
  };
  // A shape claiming a terabyte.
  Bytes shape_claim = Proto().varint(1, kFloat).out;
  put_varint(shape_claim, (2 << 3) | 2);
  put_varint(shape_claim, uint64_t{1} << 40);
  append(shape_claim, as_bytes("xx"));
  EXPECT_THAT(with_entry(shape_claim),
              AllOf(HasSubstr("TensorFlow checkpoint '" + prefix + ".index', tensor 'rnn/w'"),
                    HasSubstr("field 2 claims 1099511627776 bytes at byte 9, the message has 2 left")));
  // An eleven-byte varint, and one whose tenth byte carries more than 64 bits.
  Bytes eleven = {std::byte{0x08}};
  eleven.insert(eleven.end(), 10, std::byte{0xff});
  eleven.push_back(std::byte{0x01});
  EXPECT_THAT(with_entry(eleven), HasSubstr("tensor 'rnn/w': field 1: malformed varint at byte 0"));
  Bytes tenth = {std::byte{0x08}};
  tenth.insert(tenth.end(), 9, std::byte{0xff});
  tenth.push_back(std::byte{0x02});
  EXPECT_THAT(with_entry(tenth), HasSubstr("malformed varint"));
  // A dtype past int32, field number 0, groups.
  EXPECT_THAT(with_entry(Proto().varint(1, uint64_t{1} << 33).out),
              HasSubstr("field dtype: value 8589934592 does not fit in int32"));
  EXPECT_THAT(with_entry(as_bytes(std::string("\x00\x01", 2))), HasSubstr("field number 0 at byte 0"));
  EXPECT_THAT(with_entry(as_bytes("\x0b")), HasSubstr("field 1 has wire type 3 at byte 0 (expected 0, 1, 2 or 5)"));
  // A dimension's size as a 10-byte varint: 2^63 - 1 elements of 4 bytes in 4.
  Entry huge = w;
  huge.shape = {std::numeric_limits<int64_t>::max()};
  EXPECT_THAT(with_entry(huge.encode()), HasSubstr("4 bytes for 9223372036854775807 F32 elements"));
  // A slice list claiming more than the entry.
  Bytes slices = w.encode();
  put_varint(slices, (7 << 3) | 2);
  put_varint(slices, 1000);
  EXPECT_THAT(with_entry(slices), HasSubstr("field 7 claims 1000 bytes"));
}

TEST(TfCheckpointHostile, DtypesRnnkitCannotReadAreNamedWhenRead) {
  test::TempDir dir;
  const std::string prefix = dir.file("d");
  Bytes data;
  std::map<std::string, Bytes> entries;
  entries["complex"] = piece(data, floats({1, 2, 3, 4}), {2}, kComplex64).encode();
  entries["string"] = string_piece(data, as_bytes("hello")).encode();
  Entry variant = piece(data, floats({0, 0}), {1}, kVariant);
  entries["variant"] = variant.encode();
  entries["unknown"] = piece(data, floats({7}), {1}, 0).encode();
  Entry huge_string = string_piece(data, as_bytes("x"));
  huge_string.shape = {int64_t{1} << 40};  // strings have no size to check; nothing allocates for them
  entries["huge_string"] = huge_string.encode();
  entries["i64"] = piece(data, floats({3, 0}), {1}, kInt64).encode();
  write_bundle(prefix, entries, data);
  const TfCheckpoint ckpt = TfCheckpoint::open(prefix);
  const std::string where = "TensorFlow checkpoint '" + prefix + ".index', tensor '";
  for (const auto& [key, dtype] : std::vector<std::pair<std::string, std::string>>{{"complex", "COMPLEX64"},
                                                                                   {"string", "STRING"},
                                                                                   {"variant", "VARIANT"},
                                                                                   {"unknown", "DT_0"},
                                                                                   {"huge_string", "STRING"}}) {
    const TfVariable* v = ckpt.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_EQ(v->dtype, dtype);
    EXPECT_THAT(error_of([&] { (void)ckpt.values(*v); }),
                HasSubstr(where + key + "': holds " + dtype + " values, not numbers rnnkit reads"));
  }
  EXPECT_EQ(ckpt.values(*ckpt.find("i64"))[0], 1077936128.0);  // 3.0f's bits, then four zero bytes
  EXPECT_TRUE(ckpt.float_variables().empty());
  EXPECT_THAT(error_of([&] { (void)import_tf_checkpoint(ckpt); }), HasSubstr("no floating-point weights"));
}

// ---------------------------------------------------------------------------------------------
// Partitioned variables

struct Sliced {
  Shape shape;
  std::vector<Extents> listed;                    // in the variable's entry
  std::vector<std::pair<Extents, Shape>> stored;  // slice entries written, with their shapes
  int dtype = kFloat;
};

std::string open_sliced(const std::string& prefix, const Sliced& s, bool read = false) {
  Bytes data;
  std::map<std::string, Bytes> entries;
  for (const auto& [extents, shape] : s.stored) {
    int64_t n = 1;
    for (const int64_t d : shape) n *= d;
    if (s.dtype == kString) {
      Entry e = string_piece(data, as_bytes("s"));
      e.shape = shape;
      entries[tf_slice_key("w", extents)] = e.encode();
    } else {
      entries[tf_slice_key("w", extents)] =
          piece(data, Bytes(static_cast<std::size_t>(n) * 4, std::byte{0x3f}), shape, s.dtype).encode();
    }
  }
  Entry whole;
  whole.dtype = s.dtype;
  whole.shape = s.shape;
  whole.slices = s.listed;
  entries["w"] = whole.encode();
  write_bundle(prefix, entries, data);
  return error_of([&] {
    const TfCheckpoint ckpt = TfCheckpoint::open(prefix);
    if (read) (void)ckpt.values(ckpt.variables().at(0));
  });
}

TEST(TfCheckpointHostile, SlicesThatDoNotTileAreRefused) {
  test::TempDir dir;
  const std::string prefix = dir.file("p");
  const std::string where = "TensorFlow checkpoint '" + prefix + ".index', tensor 'w'";
  const Extents a{{0, 2}, {0, -1}}, b{{2, 2}, {0, -1}}, overlap{{1, 2}, {0, -1}}, short_b{{2, 1}, {0, -1}};
  // Tiling: fine.
  EXPECT_EQ(open_sliced(prefix, {{4, 3}, {a, b}, {{a, {2, 3}}, {b, {2, 3}}}}, true), "");
  // A gap: 9 of 12 elements.
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, short_b}, {{a, {2, 3}}, {short_b, {1, 3}}}}),
              HasSubstr(where + ": its slices hold 9 elements, the tensor [4,3] has 12"));
  // An overlap and a gap of as many elements: found when read.
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, overlap}, {{a, {2, 3}}, {overlap, {2, 3}}}}, true),
              HasSubstr(where + ", slice 1: overlaps another slice of the tensor"));
  // More elements than the tensor.
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, b, overlap}, {{a, {2, 3}}, {b, {2, 3}}, {overlap, {2, 3}}}}),
              HasSubstr(where + ": its slices hold more than 12 elements, the tensor [4,3] has 12"));
  // One slice of a tensor, not all of it: the rest would read as zeros.
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a}, {{a, {2, 3}}}}),
              HasSubstr(where + ": its slices hold 6 elements, the tensor [4,3] has 12"));
  // One slice claiming a 2^40-row tensor: refused at open, nothing allocated for it.
  EXPECT_THAT(open_sliced(prefix, {{int64_t{1} << 40, 3}, {a}, {{a, {2, 3}}}}, true),
              HasSubstr(where + ": its slices hold 6 elements, the tensor [1099511627776,3] has 3298534883328"));
  // Strings have no sizes to bound their slices: the element counts may not overflow.
  const Extents half{{0, int64_t{1} << 62}}, whole{{0, -1}};
  EXPECT_THAT(
      open_sliced(
          prefix,
          {{int64_t{1} << 62}, {half, whole}, {{half, {int64_t{1} << 62}}, {whole, {int64_t{1} << 62}}}, kString}),
      HasSubstr(where + ": its slices hold more than 4611686018427387904 elements"));
  // A listed slice without its entry; an entry no variable lists; a slice listed twice.
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, b}, {{a, {2, 3}}}}),
              HasSubstr(where + ", slice 1: the slice's entry is missing"));
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, b}, {{a, {2, 3}}, {b, {2, 3}}, {short_b, {1, 3}}}}),
              AllOf(HasSubstr("TensorFlow checkpoint '" + prefix + ".index': entry "),
                    HasSubstr("has a slice's key, but no partitioned variable lists that slice")));
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, a}, {{a, {2, 3}}}}), HasSubstr(where + ", slice 1: listed twice"));
  // A slice outside the tensor, of the wrong rank, stored with another shape.
  const Extents outside{{3, 2}, {0, -1}};
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, outside}, {{a, {2, 3}}, {outside, {2, 3}}}}),
              HasSubstr(where + ", slice 1: dimension 0 [3, 3 + 2) lies outside the tensor's 4"));
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {{{0, 2}}}, {{{{0, 2}}, {2}}}}),
              HasSubstr("1 extents for a tensor of shape [4,3]"));
  EXPECT_THAT(open_sliced(prefix, {{4, 3}, {a, b}, {{a, {2, 3}}, {b, {3, 2}}}}),
              HasSubstr(where + ", slice 1: stored as F32 [3,2], expected F32 [2,3]"));
}

// ---------------------------------------------------------------------------------------------
// The object graph

TEST(TfCheckpointHostile, AnObjectGraphChildOutOfRangeIsRefused) {
  test::TempDir dir;
  const std::string prefix = dir.file("g");
  auto with_graph = [&](const Proto& graph) {
    Bytes data;
    std::map<std::string, Bytes> entries;
    entries["_CHECKPOINTABLE_OBJECT_GRAPH"] = string_piece(data, graph.out).encode();
    entries["layer/kernel/.ATTRIBUTES/VARIABLE_VALUE"] = piece(data, floats({1, 2}), {2}).encode();
    write_bundle(prefix, entries, data);
    return open_error(prefix);
  };
  const std::string where = "TensorFlow checkpoint '" + prefix + ".index', tensor '_CHECKPOINTABLE_OBJECT_GRAPH'";
  Proto attribute;
  attribute.string(1, "VARIABLE_VALUE").string(2, "dense/kernel").string(3, "layer/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  Proto root, layer;
  root.message(1, Proto().varint(1, 1).string(2, "layer"));
  layer.message(2, attribute);
  EXPECT_EQ(with_graph(Proto().message(1, root).message(1, layer)), "");
  const TfCheckpoint named = TfCheckpoint::open(prefix);
  EXPECT_TRUE(named.object_based());
  ASSERT_NE(named.find("dense/kernel"), nullptr);
  EXPECT_EQ(named.find("dense/kernel")->key, "layer/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  Proto bad_root;
  bad_root.message(1, Proto().varint(1, 1).string(2, "layer")).message(1, Proto().varint(1, 7).string(2, "far"));
  EXPECT_THAT(with_graph(Proto().message(1, bad_root).message(1, layer)),
              HasSubstr(where + ", node 0: a child is node 7, but the graph has 2 nodes"));
  Proto negative;
  negative.message(1, Proto().int64(1, -1));
  EXPECT_THAT(with_graph(Proto().message(1, negative)), HasSubstr("a child is node -1, but the graph has 1 nodes"));
  // Two attributes claiming one key.
  Proto twice;
  twice.message(2, attribute).message(2, attribute);
  EXPECT_THAT(with_graph(Proto().message(1, twice)),
              HasSubstr("'layer/kernel/.ATTRIBUTES/VARIABLE_VALUE' belongs to two attributes"));
  // A graph that is not a message.
  EXPECT_THAT(with_graph(Proto().raw(as_bytes("\x0a\x7f"))), AllOf(HasSubstr(where), HasSubstr("claims 127 bytes")));
}

TEST(TfCheckpointHostile, AnObjectGraphWhoseStringChecksumsFailIsRefused) {
  test::TempDir dir;
  const std::string prefix = dir.file("g");
  Bytes data;
  Entry e = string_piece(data, Proto().message(1, Proto()).out);
  data.back() ^= std::byte{1};
  write_bundle(prefix, {{"_CHECKPOINTABLE_OBJECT_GRAPH", e.encode()}}, data);
  EXPECT_THAT(open_error(prefix), AllOf(HasSubstr("tensor '_CHECKPOINTABLE_OBJECT_GRAPH'"),
                                        HasSubstr("checksum mismatch: the file is damaged")));
  data.back() ^= std::byte{1};
  data[1] ^= std::byte{1};  // the length's checksum
  write_bundle(prefix, {{"_CHECKPOINTABLE_OBJECT_GRAPH", e.encode()}}, data);
  EXPECT_THAT(open_error(prefix), HasSubstr("checksum of the string length does not match"));
  // Not a scalar string.
  write_bundle(prefix, {{"_CHECKPOINTABLE_OBJECT_GRAPH", piece(data, floats({1}), {1}).encode()}}, data);
  EXPECT_THAT(open_error(prefix),
              HasSubstr("tensor '_CHECKPOINTABLE_OBJECT_GRAPH': expected a scalar string, found F32 [1]"));
}

// ---------------------------------------------------------------------------------------------
// V1 files

struct V1Tensor {
  std::string name;
  Shape shape;
  int dtype = kFloat;
  std::vector<Extents> slices;
};

Proto v1_meta(const std::vector<V1Tensor>& tensors) {
  Proto meta;
  for (const V1Tensor& t : tensors) {
    Proto m;
    m.string(1, t.name).message(2, shape_proto(t.shape)).varint(3, static_cast<uint64_t>(t.dtype));
    for (const Extents& s : t.slices) m.message(4, slice_proto(s));
    meta.message(1, m);
  }
  return Proto().message(1, meta);  // SavedTensorSlices.meta
}

// SavedTensorSlices{data: SavedSlice{name, slice, data: TensorProto{float_val (packed)}}}.
Bytes v1_record(const std::string& name, const Extents& slice, std::initializer_list<float> values) {
  Proto tensor;
  tensor.varint(1, kFloat).bytes(5, floats(values));
  Proto saved;
  saved.string(1, name).message(2, slice_proto(slice)).message(3, tensor);
  return Proto().message(2, saved).out;
}

std::string write_v1(const std::string& path, const std::vector<V1Tensor>& tensors,
                     const std::vector<std::pair<std::string, Bytes>>& records) {
  std::vector<std::pair<std::string, Bytes>> table{{"", v1_meta(tensors).out}};
  table.insert(table.end(), records.begin(), records.end());
  write_bytes(path, build_tf_table(table));
  return path;
}

TEST(TfCheckpointHostile, V1RecordsMustMatchTheirHeader) {
  test::TempDir dir;
  const std::string path = dir.file("model.ckpt");
  const std::string where = "TensorFlow V1 checkpoint '" + path + "'";
  const Extents full{{0, -1}};
  const V1Tensor a{"a", {3}, kFloat, {full}};
  // Valid.
  write_v1(path, {a}, {{tf_slice_key("a", full), v1_record("a", full, {1, 2, 3})}});
  {
    const TfCheckpoint ckpt = TfCheckpoint::open(path);
    EXPECT_EQ(ckpt.format(), TfCheckpointFormat::v1);
    EXPECT_EQ(ckpt.values(ckpt.variables()[0])[2], 3.0);
  }
  // A record for a tensor the header does not list.
  write_v1(path, {a},
           {{tf_slice_key("a", full), v1_record("a", full, {1, 2, 3})},
            {tf_slice_key("b", full), v1_record("b", full, {1})}});
  EXPECT_THAT(open_error(path), HasSubstr(where + ", record 2: values of 'b', which the header does not list"));
  // A slice the header does not list, a second record for one, none for one.
  const Extents part{{0, 2}};
  write_v1(path, {a}, {{tf_slice_key("a", part), v1_record("a", part, {1, 2})}});
  EXPECT_THAT(open_error(path), HasSubstr(where + ", record 1: a slice of 'a' that the header does not list"));
  write_v1(path, {a}, {{"a1", v1_record("a", full, {1, 2, 3})}, {"a2", v1_record("a", full, {1, 2, 3})}});
  EXPECT_THAT(open_error(path), HasSubstr(where + ", record 2: a second record for a slice of 'a'"));
  write_v1(path, {a, {"c", {1}, kFloat, {full}}}, {{tf_slice_key("a", full), v1_record("a", full, {1, 2, 3})}});
  EXPECT_THAT(open_error(path),
              HasSubstr(where + ", tensor 'c': listed in the header, but no record holds its values"));
  // Fewer values than the shape: refused when read (never broadcast).
  write_v1(path, {a}, {{tf_slice_key("a", full), v1_record("a", full, {1, 2})}});
  {
    const TfCheckpoint ckpt = TfCheckpoint::open(path);
    EXPECT_THAT(error_of([&] { (void)ckpt.values(ckpt.variables()[0]); }),
                HasSubstr(where + ", tensor 'a': 2 values, expected 3 (its shape)"));
  }
  // A shape of 2^40 elements with two values: refused at open, nothing allocated for it.
  const V1Tensor huge{"a", {int64_t{1} << 40}, kFloat, {full}};
  write_v1(path, {huge}, {{tf_slice_key("a", full), v1_record("a", full, {1, 2})}});
  EXPECT_THAT(open_error(path), HasSubstr(where + ", tensor 'a': 1099511627776 values of shape [1099511627776] in a "
                                                  "record of "));
  // One slice that is not all of the tensor.
  write_v1(path, {{"a", {3}, kFloat, {part}}}, {{tf_slice_key("a", part), v1_record("a", part, {1, 2})}});
  EXPECT_THAT(open_error(path), HasSubstr(where + ", tensor 'a': its slices hold 2 elements, the tensor [3] has 3"));
  // No meta; a record without data.
  write_bytes(path, build_tf_table({{"", Proto().varint(5, 1).out}}));
  EXPECT_THAT(open_error(path), HasSubstr(where + ": the header record holds no meta (not a V1 checkpoint)"));
  write_v1(path, {a}, {{"x", Proto().varint(1, 1).out}});
  EXPECT_THAT(open_error(path), HasSubstr(where + ", record 1: not a slice record"));
}

// ---------------------------------------------------------------------------------------------
// Paths: the state file and folders

TEST(TfCheckpointHostile, AStateFilePathOutsideTheFolderIsOnlyLookedForInIt) {
  test::TempDir dir;
  copy_fixture("gru_weights_biases_tf1_1", dir.file("outside"));  // a real checkpoint, outside
  fs::create_directories(dir.file("folder/sub"));
  const std::string state = dir.file("folder/sub/checkpoint");
  for (const std::string& recorded : {dir.file("outside/model.ckpt"), std::string("../../outside/model.ckpt"),
                                      std::string("../outside/model.ckpt")}) {
    std::ofstream(state) << "model_checkpoint_path: \"" << recorded << "\"\n";
    const std::string message = open_error(dir.file("folder/sub"));
    EXPECT_THAT(message, AllOf(HasSubstr("TensorFlow checkpoint state '" + state + "' names '" + recorded + "'"),
                               HasSubstr("it is not there (tried '" + dir.file("folder/sub/model.ckpt") + "')"),
                               HasSubstr("a path outside the folder is only looked for in it")))
        << recorded;
  }
  // Found by its name in the folder, not outside it.
  copy_fixture("gru_weights_biases_tf1_1", dir.file("folder/sub"));
  const TfCheckpoint ckpt = TfCheckpoint::open(dir.file("folder/sub"));
  EXPECT_EQ(ckpt.prefix(), dir.file("folder/sub/model.ckpt"));
  EXPECT_THAT(ckpt.resolution(), HasSubstr("found as 'model.ckpt' beside it"));
  // A relative path inside the folder that is missing: both places tried.
  std::ofstream(state) << "model_checkpoint_path: \"deeper/gone.ckpt\"\n";
  EXPECT_THAT(open_error(dir.file("folder/sub")), AllOf(HasSubstr("tried '" + dir.file("folder/sub/deeper/gone.ckpt") +
                                                                  "', '" + dir.file("folder/sub/gone.ckpt") + "'"),
                                                        Not(HasSubstr("outside the folder"))));
  // Names that are no names.
  std::ofstream(state) << "model_checkpoint_path: \"..\"\n";
  EXPECT_THAT(open_error(dir.file("folder/sub")),
              HasSubstr("names '..' as the latest checkpoint, but it is not there"));
  std::ofstream(state) << "all_model_checkpoint_paths: \"model.ckpt\"\n";
  EXPECT_THAT(open_error(dir.file("folder/sub")), HasSubstr("no model_checkpoint_path (the latest checkpoint)"));
  std::ofstream(state) << "model_checkpoint_path: model.ckpt\n";
  EXPECT_THAT(open_error(dir.file("folder/sub")), HasSubstr("line 1: expected a quoted string"));
}

TEST(TfCheckpointHostile, AFolderOfTwoCheckpointsWithoutAStateFileListsThem) {
  test::TempDir dir;
  copy_fixture("gru_weights_biases_tf1_1", dir.file("f"));
  fs::copy_file(dir.file("f/model.ckpt.index"), dir.file("f/other.index"));
  EXPECT_THAT(open_error(dir.file("f")),
              AllOf(HasSubstr("'" + dir.file("f") + "': a folder with 2 checkpoints and no 'checkpoint' state file"),
                    HasSubstr("name one of " + dir.file("f/model.ckpt.index") + ", " + dir.file("f/other.index"))));
  test::TempDir empty;
  EXPECT_THAT(open_error(empty.path()), HasSubstr("a folder with no TensorFlow checkpoint"));
  EXPECT_THAT(open_error(empty.file("nothing")), HasSubstr("no TensorFlow checkpoint there"));
}

}  // namespace
}  // namespace rnnkit

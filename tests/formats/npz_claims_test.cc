// .npz archives whose sizes lie: an .npy shape, a ZIP entry's inflated size or the total a
// few kilobytes inflate to are checked before anything is allocated or inflated.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "rnnkit/formats/npz.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;

// One array as .npy 1.0 bytes: magic, version, header padded to a multiple of 64, data.
std::string npy(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

struct ZipEntry {
  std::string name;
  std::string data;  // the array's bytes, before compression
  bool deflate = false;
  uint64_t claimed_size = 0;  // 0: the true size
};

void put16(std::string& out, uint32_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

std::string deflate_raw(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A ZIP archive as numpy writes it (local headers, central directory, end record).
std::vector<std::byte> zip(const std::vector<ZipEntry>& entries) {
  std::string out, directory;
  for (const ZipEntry& e : entries) {
    const std::string packed = e.deflate ? deflate_raw(e.data) : e.data;
    const auto crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size())));
    const auto size = static_cast<uint32_t>(e.claimed_size ? e.claimed_size : e.data.size());
    const auto offset = static_cast<uint32_t>(out.size());
    auto common = [&](std::string& s) {
      put16(s, 20);  // version needed
      put16(s, 0);   // flags
      put16(s, e.deflate ? 8 : 0);
      put32(s, 0);  // time, date
      put32(s, crc);
      put32(s, static_cast<uint32_t>(packed.size()));
      put32(s, size);
      put16(s, static_cast<uint32_t>(e.name.size()));
      put16(s, 0);  // extra
    };
    put32(out, 0x04034b50);
    common(out);
    out += e.name + packed;
    put32(directory, 0x02014b50);
    put16(directory, 20);  // version made by
    common(directory);
    put16(directory, 0);  // comment
    put16(directory, 0);  // disk
    put16(directory, 0);  // internal attributes
    put32(directory, 0);  // external attributes
    put32(directory, offset);
    directory += e.name;
  }
  const auto directory_at = static_cast<uint32_t>(out.size());
  out += directory;
  put32(out, 0x06054b50);
  put32(out, 0);  // disks
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(directory.size()));
  put32(out, directory_at);
  put16(out, 0);
  std::vector<std::byte> bytes(out.size());
  std::memcpy(bytes.data(), out.data(), out.size());
  return bytes;
}

std::string floats(std::initializer_list<float> values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

TEST(NpzClaims, AnHonestArchiveReads) {
  const auto arrays = parse_npz(zip({{"a.npy", npy("<f4", "(2,)", floats({1.5f, -2.0f}))},
                                     {"b.npy", npy("<f4", "(1, 1)", floats({3.0f})), true}}),
                                "ok.npz");
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays.at("a").values.storage(), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(arrays.at("b").values.shape(), (Shape{1, 1}));
  EXPECT_EQ(arrays.at("b").values.storage(), (std::vector<double>{3.0}));
}

TEST(NpzClaims, AShapeTheDataCannotBackIsRefusedBeforeAllocating) {
  // 4e8 and 1e12 elements claimed over 8 bytes (allocating them would take 3.2 GB and 8 TB).
  for (const char* shape : {"(400000000,)", "(1000000, 1000000)"}) {
    const std::string message = error_of([&] {
      parse_npz(zip({{"w.npy", npy("<f4", shape, floats({1, 2}))}}), "claims.npz");
    });
    EXPECT_NE(message.find("npz file 'claims.npz', entry 'w.npy': .npy shape"), std::string::npos) << message;
    EXPECT_NE(message.find("the data is 8 bytes"), std::string::npos) << message;
  }
  const std::string overflow = error_of([&] {
    parse_npz(zip({{"w.npy", npy("<f4", "(1099511627776, 1099511627776)", "")}}), "claims.npz");
  });
  EXPECT_NE(overflow.find("has more elements than int64 holds"), std::string::npos) << overflow;
}

TEST(NpzClaims, AnInflatedSizeDeflateCannotReachIsRefused) {
  // 4 GiB - 1 claimed from a few dozen deflated bytes.
  const std::string message = error_of([] {
    parse_npz(zip({{"w.npy", npy("<f4", "(2,)", floats({1, 2})), true, 0xfffffffeu}}), "bomb.npz");
  });
  EXPECT_NE(message.find("entry 'w.npy': claims 4294967294 bytes inflated from"), std::string::npos) << message;
  EXPECT_NE(message.find("more than deflate can encode"), std::string::npos) << message;
}

TEST(NpzClaims, EverythingInflatedMayExceedTheArchiveBy64MiBAtMost) {
  // 80 MiB of zeros deflate to about 80 KB: honest sizes, but past the allowance.
  const std::string zeros(std::size_t{80} << 20, '\0');
  const std::vector<std::byte> bomb = zip({{"w.npy", npy("<f4", "(20971520,)", zeros), true}});
  ASSERT_LT(bomb.size(), std::size_t{1} << 20);
  const std::string message = error_of([&] { parse_npz(bomb, "bomb.npz"); });
  EXPECT_NE(message.find("entry 'w.npy': inflates to"), std::string::npos) << message;
  EXPECT_NE(message.find("past the limit of the archive's " + std::to_string(bomb.size()) + " bytes + 64 MiB"),
            std::string::npos)
      << message;
  // Several entries share the one allowance: 3 x 30 MiB are refused at the third.
  const std::string third(std::size_t{30} << 20, '\0');
  const std::string npy30 = npy("<f4", "(7864320,)", third);
  const std::string several = error_of([&] {
    parse_npz(zip({{"a.npy", npy30, true}, {"b.npy", npy30, true}, {"c.npy", npy30, true}}), "several.npz");
  });
  EXPECT_NE(several.find("entry 'c.npy': inflates to"), std::string::npos) << several;
}

TEST(NpzClaims, TwoArraysOfOneNameAreAnError) {
  const std::string message = error_of([] {
    parse_npz(zip({{"w.npy", npy("<f4", "(1,)", floats({1}))}, {"w.npy", npy("<f4", "(1,)", floats({2}))}}),
              "twice.npz");
  });
  EXPECT_NE(message.find("entry 'w.npy': a second array named 'w'"), std::string::npos) << message;
}

TEST(NpzClaims, ATruncatedNpyHeaderIsNamed) {
  // Six bytes: the magic and nothing else (once "vector::_M_range_check: __n (which is 6)").
  const std::string message = error_of([&] { parse_npz(zip({{"a.npy", "\x93NUMPY"}}), "short.npz"); });
  EXPECT_NE(message.find("'short.npz', entry 'a.npy'"), std::string::npos) << message;
  EXPECT_NE(message.find("truncated (needs bytes 6..7 of 6)"), std::string::npos) << message;
}

TEST(NpzClaims, AnEntryWhoseDataFailsItsCrcIsDamaged) {
  std::vector<std::byte> archive = zip({{"a.npy", npy("<f4", "(2,)", floats({1.5f, -2.0f}))}});
  // The last data byte of the stored entry sits just before the central directory.
  const std::size_t directory_at = archive.size() - 22 - (46 + 5);
  archive[directory_at - 1] ^= std::byte{0x01};
  const std::string message = error_of([&] { parse_npz(archive, "damaged.npz"); });
  EXPECT_NE(message.find("'damaged.npz', entry 'a.npy': its data has CRC-32 0x"), std::string::npos) << message;
  EXPECT_NE(message.find("(the entry is damaged)"), std::string::npos) << message;
}

}  // namespace
}  // namespace rnnkit

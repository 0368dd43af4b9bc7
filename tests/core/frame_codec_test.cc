// ByteWriter and ByteReader (core/frame_codec.h): fields and frames round trip; every truncation,
// every length or count larger than what remains, and bytes left over are Errors naming what was
// read and the field, with the claim and what remains; nothing is allocated for a claim.
#include "core/frame_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "rnnkit/core/error.h"
#include "test_support.h"

namespace rnnkit::detail {
namespace {

using test::error_of;

std::vector<std::byte> sample() {
  ByteWriter w;
  w.u8(7);
  w.u64(0x0102030405060708u);
  w.string("layer");
  w.string("");
  const std::byte raw[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
  w.frame_header('D', sizeof raw);
  w.raw(raw);
  w.u64(2);  // a count of 2 items of 8 bytes
  w.u64(10);
  w.u64(20);
  return w.bytes;
}

TEST(FrameCodec, FieldsAndFramesRoundTrip) {
  const std::vector<std::byte> bytes = sample();
  EXPECT_EQ(bytes.size(), 1 + 8 + (8 + 5) + 8 + kFrameHeaderBytes + 3 + 3 * 8);
  ByteReader r(bytes, "test stream");
  EXPECT_EQ(r.u8("a byte"), 7);
  EXPECT_EQ(r.u64("a word"), 0x0102030405060708u);
  EXPECT_EQ(r.string("a name"), "layer");
  EXPECT_EQ(r.string("an empty name"), "");
  const Frame frame = r.frame("a frame");
  EXPECT_EQ(frame.kind, 'D');
  ASSERT_EQ(frame.payload.size(), 3u);
  EXPECT_EQ(frame.payload[2], std::byte{3});
  EXPECT_EQ(r.count(8, "a count"), 2u);
  EXPECT_EQ(r.u64("the first"), 10u);
  EXPECT_EQ(r.u64("the second"), 20u);
  EXPECT_TRUE(r.at_end());
  r.expect_end("the second");
}

TEST(FrameCodec, EveryTruncationIsAnError) {
  const std::vector<std::byte> bytes = sample();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    SCOPED_TRACE(cut);
    const std::string message = error_of([&] {
      const std::span<const std::byte> head = std::span(bytes).first(cut);
      ByteReader r(head, "test stream");
      r.u8("a byte");
      r.u64("a word");
      r.string("a name");
      r.string("an empty name");
      r.frame("a frame");
      r.count(8, "a count");
      r.u64("the first");
      r.u64("the second");
    });
    EXPECT_EQ(message.find("test stream: "), 0u) << message;
    EXPECT_NE(message.find(" remain"), std::string::npos) << message;
  }
}

TEST(FrameCodec, OversizedClaimsAreErrorsNamingTheField) {
  ByteWriter w;
  w.u64(std::numeric_limits<uint64_t>::max());  // a string of 2^64 - 1 bytes, with 2 present
  w.raw(std::vector<std::byte>(2));
  EXPECT_EQ(error_of([&] {
              ByteReader r(w.bytes, "s");
              r.string("a name");
            }),
            "s: a name claims 18446744073709551615 bytes, but 2 remain");
  ByteWriter frame;
  frame.frame_header('O', uint64_t{1} << 62);
  EXPECT_EQ(error_of([&] {
              ByteReader r(frame.bytes, "s");
              r.frame("a frame");
            }),
            "s: a frame claims 4611686018427387904 bytes, but 0 remain");
  ByteWriter count;
  count.u64(3);
  count.raw(std::vector<std::byte>(23));  // 3 items of 8 bytes need 24
  EXPECT_EQ(error_of([&] {
              ByteReader r(count.bytes, "s");
              r.count(8, "the layers");
            }),
            "s: the layers claims 3 items of at least 8 bytes, but 23 bytes remain");
  EXPECT_EQ(error_of([&] {
              ByteReader r(count.bytes, "s");
              r.count(0, "the layers");
            }),
            "s: the layers claims 3 items of at least 0 bytes, but 23 bytes remain");
  EXPECT_EQ(error_of([&] {
              ByteReader r(count.bytes, "s");
              r.u64("the count");
              r.expect_end("the count");
            }),
            "s: 23 bytes follow the count, which should be last");
}

}  // namespace
}  // namespace rnnkit::detail

// Internal: length-prefixed frames and fields, for bytes that cross from a child process to its
// parent (core/contained_call.h) and that the parent decodes as hostile input.
//
// A frame is
//   kind     1 byte
//   length   8 bytes
//   payload  `length` bytes
// and a payload is a sequence of fields: u8 (1 byte), u64 (8 bytes), and strings or byte runs
// (a u64 length, then the bytes). Integers are in the host's byte order: both ends are one
// program, forked.
//
// ByteReader checks every length and count against the bytes that remain before it copies or
// allocates anything; each refusal is an Error naming `what` and the field, with the claim and
// what remains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rnnkit::detail {

inline constexpr std::size_t kFrameHeaderBytes = 9;  // kind + length

// Appends fields to `bytes`.
class ByteWriter {
 public:
  void u8(uint8_t value) { bytes.push_back(static_cast<std::byte>(value)); }
  void u64(uint64_t value);
  void raw(std::span<const std::byte> data) { bytes.insert(bytes.end(), data.begin(), data.end()); }
  void string(std::string_view text);  // u64 length, then the bytes
  void frame_header(uint8_t kind, uint64_t length) {
    u8(kind);
    u64(length);
  }

  std::vector<std::byte> bytes;
};

// One frame read by ByteReader::frame: its kind and its payload (a view into the reader's bytes).
struct Frame {
  uint8_t kind = 0;
  std::span<const std::byte> payload;
};

// Reads fields from bytes it does not own; every read is checked against what remains.
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  uint8_t u8(const char* field);
  uint64_t u64(const char* field);
  // `length` bytes (a view), Error unless that many remain.
  std::span<const std::byte> raw(uint64_t length, const char* field);
  std::string string(const char* field);
  // A u64 count of items that each take at least `bytes_each` (>= 1) of what remains.
  uint64_t count(uint64_t bytes_each, const char* field);
  Frame frame(const char* field);

  std::size_t remaining() const { return bytes_.size() - at_; }
  bool at_end() const { return at_ == bytes_.size(); }
  // Error if any byte is left (`after` names what should have been last).
  void expect_end(const char* after) const;
  const std::string& what() const { return what_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t at_ = 0;
  std::string what_;
};

}  // namespace rnnkit::detail

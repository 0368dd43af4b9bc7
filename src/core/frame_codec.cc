// Length-prefixed frames and fields; see frame_codec.h.
#include "frame_codec.h"

#include <cstring>

#include "rnnkit/core/error.h"

namespace rnnkit::detail {

void ByteWriter::u64(uint64_t value) {
  std::byte out[8];
  std::memcpy(out, &value, sizeof out);
  raw(out);
}

void ByteWriter::string(std::string_view text) {
  u64(text.size());
  raw(std::as_bytes(std::span(text.data(), text.size())));
}

std::span<const std::byte> ByteReader::raw(uint64_t length, const char* field) {
  if (length > remaining()) {
    throw Error(what_ + ": " + field + " claims " + std::to_string(length) + " bytes, but " +
                std::to_string(remaining()) + " remain");
  }
  const std::span<const std::byte> out = bytes_.subspan(at_, static_cast<std::size_t>(length));
  at_ += static_cast<std::size_t>(length);
  return out;
}

uint8_t ByteReader::u8(const char* field) { return static_cast<uint8_t>(raw(1, field)[0]); }

uint64_t ByteReader::u64(const char* field) {
  uint64_t value = 0;
  std::memcpy(&value, raw(8, field).data(), sizeof value);
  return value;
}

std::string ByteReader::string(const char* field) {
  const std::span<const std::byte> text = raw(u64(field), field);
  return {reinterpret_cast<const char*>(text.data()), text.size()};
}

uint64_t ByteReader::count(uint64_t bytes_each, const char* field) {
  const uint64_t n = u64(field);
  if (bytes_each == 0 || n > remaining() / bytes_each) {
    throw Error(what_ + ": " + field + " claims " + std::to_string(n) + " items of at least " +
                std::to_string(bytes_each) + " bytes, but " + std::to_string(remaining()) + " bytes remain");
  }
  return n;
}

Frame ByteReader::frame(const char* field) {
  Frame out;
  out.kind = u8(field);
  out.payload = raw(u64(field), field);
  return out;
}

void ByteReader::expect_end(const char* after) const {
  if (!at_end()) {
    throw Error(what_ + ": " + std::to_string(remaining()) + " bytes follow " + after + ", which should be last");
  }
}

}  // namespace rnnkit::detail

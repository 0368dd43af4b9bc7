// The protocol-buffer wire format by hand; see protobuf_wire.h.
#include "protobuf_wire.h"

#include <cstring>
#include <limits>

#include "rnnkit/core/error.h"

namespace rnnkit::detail {

bool read_varint(std::span<const std::byte> bytes, std::size_t& at, uint64_t& value) {
  value = 0;
  for (int i = 0; i < 10; ++i) {
    if (at >= bytes.size()) return false;
    const auto b = static_cast<uint8_t>(bytes[at++]);
    if (i == 9 && b > 1) return false;  // more than 64 bits
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

ProtoReader::ProtoReader(std::span<const std::byte> message, std::string what)
    : message_(message), what_(std::move(what)) {}

void ProtoReader::fail(std::string_view name, const std::string& problem) const {
  throw Error(what_ + ": " + (name.empty() ? std::string() : "field " + std::string(name) + ": ") + problem);
}

bool ProtoReader::next(ProtoField& field) {
  if (at_ >= message_.size()) return false;
  const std::size_t start = at_;
  uint64_t tag = 0;
  if (!read_varint(message_, at_, tag)) fail("", "malformed field tag at byte " + std::to_string(start));
  const uint64_t number = tag >> 3;
  const auto wire = static_cast<uint8_t>(tag & 7);
  if (number == 0 || number > 0x1fffffff) {
    fail("",
         "field number " + std::to_string(number) + " at byte " + std::to_string(start) + " (expected 1 to 536870911)");
  }
  field.number = static_cast<uint32_t>(number);
  field.value = 0;
  field.bytes = {};
  const std::size_t left = message_.size() - at_;
  switch (wire) {
    case 0:
      field.wire = WireType::varint;
      if (!read_varint(message_, at_, field.value)) {
        fail("", "field " + std::to_string(number) + ": malformed varint at byte " + std::to_string(start));
      }
      return true;
    case 1:
    case 5: {
      const std::size_t width = wire == 1 ? 8 : 4;
      if (left < width) {
        fail("", "field " + std::to_string(number) + " needs " + std::to_string(width) + " bytes at byte " +
                     std::to_string(at_) + ", the message has " + std::to_string(left));
      }
      for (std::size_t i = 0; i < width; ++i) field.value |= static_cast<uint64_t>(message_[at_ + i]) << (8 * i);
      field.wire = wire == 1 ? WireType::fixed64 : WireType::fixed32;
      at_ += width;
      return true;
    }
    case 2: {
      uint64_t length = 0;
      if (!read_varint(message_, at_, length)) {
        fail("", "field " + std::to_string(number) + ": malformed length at byte " + std::to_string(start));
      }
      if (length > message_.size() - at_) {
        fail("", "field " + std::to_string(number) + " claims " + std::to_string(length) + " bytes at byte " +
                     std::to_string(at_) + ", the message has " + std::to_string(message_.size() - at_) + " left");
      }
      field.wire = WireType::length_delimited;
      field.bytes = message_.subspan(at_, static_cast<std::size_t>(length));
      at_ += static_cast<std::size_t>(length);
      return true;
    }
    default:
      fail("", "field " + std::to_string(number) + " has wire type " + std::to_string(wire) + " at byte " +
                   std::to_string(start) + " (expected 0, 1, 2 or 5)");
  }
}

namespace {
const char* wire_name(WireType w) {
  switch (w) {
    case WireType::varint: return "a varint";
    case WireType::fixed64: return "8 fixed bytes";
    case WireType::length_delimited: return "length-delimited bytes";
    case WireType::fixed32: return "4 fixed bytes";
  }
  return "?";
}
}  // namespace

uint64_t ProtoReader::as_uint64(const ProtoField& field, std::string_view name) const {
  if (field.wire != WireType::varint) fail(name, std::string("expected a varint, found ") + wire_name(field.wire));
  return field.value;
}

int64_t ProtoReader::as_int64(const ProtoField& field, std::string_view name) const {
  return static_cast<int64_t>(as_uint64(field, name));
}

int32_t ProtoReader::as_int32(const ProtoField& field, std::string_view name) const {
  const int64_t v = as_int64(field, name);
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    fail(name, "value " + std::to_string(v) + " does not fit in int32");
  }
  return static_cast<int32_t>(v);
}

bool ProtoReader::as_bool(const ProtoField& field, std::string_view name) const {
  const uint64_t v = as_uint64(field, name);
  if (v > 1) fail(name, "value " + std::to_string(v) + " is not a bool (0 or 1)");
  return v == 1;
}

uint32_t ProtoReader::as_fixed32(const ProtoField& field, std::string_view name) const {
  if (field.wire != WireType::fixed32)
    fail(name, std::string("expected 4 fixed bytes, found ") + wire_name(field.wire));
  return static_cast<uint32_t>(field.value);
}

std::span<const std::byte> ProtoReader::as_bytes(const ProtoField& field, std::string_view name) const {
  if (field.wire != WireType::length_delimited)
    fail(name, std::string("expected length-delimited bytes, found ") + wire_name(field.wire));
  return field.bytes;
}

std::string ProtoReader::as_string(const ProtoField& field, std::string_view name) const {
  const std::span<const std::byte> b = as_bytes(field, name);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void ProtoReader::append_varints(const ProtoField& field, std::string_view name, std::vector<uint64_t>& out) const {
  if (field.wire == WireType::varint) {
    out.push_back(field.value);
    return;
  }
  const std::span<const std::byte> packed = as_bytes(field, name);
  std::size_t at = 0;
  while (at < packed.size()) {
    uint64_t v = 0;
    if (!read_varint(packed, at, v)) fail(name, "malformed packed varint at byte " + std::to_string(at));
    out.push_back(v);
  }
}

void ProtoReader::append_fixed32s(const ProtoField& field, std::string_view name, std::vector<uint32_t>& out) const {
  if (field.wire == WireType::fixed32) {
    out.push_back(static_cast<uint32_t>(field.value));
    return;
  }
  const std::span<const std::byte> packed = as_bytes(field, name);
  if (packed.size() % 4 != 0) {
    fail(name, "packed 4-byte values take " + std::to_string(packed.size()) + " bytes, not a multiple of 4");
  }
  const std::size_t first = out.size();
  out.resize(first + packed.size() / 4);
  std::memcpy(out.data() + first, packed.data(), packed.size());  // little-endian machine
}

void ProtoReader::append_fixed64s(const ProtoField& field, std::string_view name, std::vector<uint64_t>& out) const {
  if (field.wire == WireType::fixed64) {
    out.push_back(field.value);
    return;
  }
  const std::span<const std::byte> packed = as_bytes(field, name);
  if (packed.size() % 8 != 0) {
    fail(name, "packed 8-byte values take " + std::to_string(packed.size()) + " bytes, not a multiple of 8");
  }
  const std::size_t first = out.size();
  out.resize(first + packed.size() / 8);
  std::memcpy(out.data() + first, packed.data(), packed.size());
}

void append_varint(std::vector<std::byte>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::byte>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::byte>(value));
}

void ProtoWriter::varint(uint32_t number, uint64_t value) {
  append_varint(out_, static_cast<uint64_t>(number) << 3);
  append_varint(out_, value);
}

void ProtoWriter::fixed32(uint32_t number, uint32_t value) {
  append_varint(out_, (static_cast<uint64_t>(number) << 3) | 5);
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
}

void ProtoWriter::bytes(uint32_t number, std::span<const std::byte> value) {
  append_varint(out_, (static_cast<uint64_t>(number) << 3) | 2);
  append_varint(out_, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
}

void ProtoWriter::string(uint32_t number, std::string_view value) {
  bytes(number, std::as_bytes(std::span<const char>(value.data(), value.size())));
}

}  // namespace rnnkit::detail

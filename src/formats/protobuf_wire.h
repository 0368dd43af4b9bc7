// The protocol-buffer wire format, read and written by hand for the few TensorFlow messages
// rnnkit needs (tensor bundles, V1 checkpoints, the object graph): no generated code, no
// allocation the bytes cannot back, one linear pass.
//
//   message  = field*            field = tag payload, tag = varint (number << 3 | wire type)
//   wire 0   varint (int32, int64, enum, bool; a negative int is a 10-byte varint)
//   wire 1   8 bytes little-endian          wire 5   4 bytes little-endian
//   wire 2   varint length, then that many bytes (strings, messages, packed repeated scalars)
// Groups (wire 3, 4), wire types 6 and 7 and field number 0 are malformed here. Unknown fields
// are the caller's to skip (TensorFlow adds fields over time), and a repeated scalar may come
// packed or one field per element.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rnnkit::detail {

enum class WireType : uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

struct ProtoField {
  uint32_t number = 0;
  WireType wire = WireType::varint;
  uint64_t value = 0;                // varint, fixed64 and fixed32 payloads
  std::span<const std::byte> bytes;  // length_delimited payload (inside the message's bytes)
};

// Reads one message's fields in order. Error messages start with `what` (e.g. "file 'x.index',
// entry 'rnn/kernel'") and say the byte offset within the message.
class ProtoReader {
 public:
  ProtoReader(std::span<const std::byte> message, std::string what);
  // The next field, or false at the end of the message. Throws Error for a malformed field.
  bool next(ProtoField& field);
  const std::string& what() const { return what_; }

  // The field's payload as a type, Error (naming `name`) if the wire type does not fit.
  uint64_t as_uint64(const ProtoField& field, std::string_view name) const;
  int64_t as_int64(const ProtoField& field, std::string_view name) const;  // two's complement of the varint
  // int32 fields: a varint whose value fits in int32 (negative ones as 10-byte varints).
  int32_t as_int32(const ProtoField& field, std::string_view name) const;
  bool as_bool(const ProtoField& field, std::string_view name) const;
  uint32_t as_fixed32(const ProtoField& field, std::string_view name) const;
  std::span<const std::byte> as_bytes(const ProtoField& field, std::string_view name) const;
  std::string as_string(const ProtoField& field, std::string_view name) const;
  // A repeated scalar field's elements, packed or not: appends to `out`.
  void append_varints(const ProtoField& field, std::string_view name, std::vector<uint64_t>& out) const;
  void append_fixed32s(const ProtoField& field, std::string_view name, std::vector<uint32_t>& out) const;
  void append_fixed64s(const ProtoField& field, std::string_view name, std::vector<uint64_t>& out) const;

  [[noreturn]] void fail(std::string_view name, const std::string& problem) const;

 private:
  std::span<const std::byte> message_;
  std::size_t at_ = 0;
  std::string what_;
};

// A varint at `bytes[at]`, advancing `at`; false if it runs past the end or is longer than 10
// bytes (or its tenth byte carries more than the 64th bit).
bool read_varint(std::span<const std::byte> bytes, std::size_t& at, uint64_t& value);

// Appends `value` as a varint (7 bits a byte, low bits first).
void append_varint(std::vector<std::byte>& out, uint64_t value);

// Appends fields to a message.
class ProtoWriter {
 public:
  void varint(uint32_t number, uint64_t value);
  void int64(uint32_t number, int64_t value) { varint(number, static_cast<uint64_t>(value)); }
  void fixed32(uint32_t number, uint32_t value);
  void bytes(uint32_t number, std::span<const std::byte> value);
  void string(uint32_t number, std::string_view value);
  void message(uint32_t number, const ProtoWriter& inner) { bytes(number, inner.data()); }
  std::span<const std::byte> data() const { return out_; }
  std::vector<std::byte> take() { return std::move(out_); }

 private:
  std::vector<std::byte> out_;
};

}  // namespace rnnkit::detail

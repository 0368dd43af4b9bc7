// CRC-32C (Castagnoli), the checksum TensorFlow's checkpoint bundles carry per tensor and
// rnnkit's checkpoints carry per tensor (docs/checkpoint-format.md).
//
//   polynomial 0x1EDC6F41, bits reflected (0x82F63B78), initial value and final XOR 0xFFFFFFFF;
//   crc32c("123456789") = 0xE3069283.
//
// Computed with the SSE4.2 crc32 instruction when the CPU has it (checked at run time), else
// with a table; both give the same value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace rnnkit {

uint32_t crc32c(std::span<const std::byte> data);
// The checksum of the bytes so far followed by `data`: crc32c(a ++ b) = crc32c_extend(crc32c(a), b).
uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data);

namespace detail {
// The table path alone, for the test that compares the two.
uint32_t crc32c_extend_portable(uint32_t crc, std::span<const std::byte> data);
bool crc32c_has_hardware();
}  // namespace detail

}  // namespace rnnkit

// libFuzzer target: any bytes as an ONNX model with recurrent nodes. Errors are fine; crashes,
// leaks, undefined behaviour and unbounded allocations are not.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rnnkit/core/error.h"
#include "rnnkit/formats/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* begin = reinterpret_cast<const std::byte*>(data);
  try {
    (void)rnnkit::import_onnx_bytes(std::vector<std::byte>(begin, begin + size), "fuzz.onnx");
  } catch (const rnnkit::Error&) {
  }
  return 0;
}

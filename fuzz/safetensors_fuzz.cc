// libFuzzer target: any bytes into the safetensors parser, then into every reader of
// the parsed tensors and the inspector. Errors are fine; crashes, leaks, undefined
// behaviour and unbounded allocations are not.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rnnkit/analysis/inspect.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(data[i]);
  try {
    const rnnkit::SafetensorsFile file = rnnkit::SafetensorsFile::parse(std::move(bytes), "fuzz");
    for (const rnnkit::SafetensorsEntry& entry : file.entries()) {
      try {
        (void)file.to_float(entry);
      } catch (const rnnkit::Error&) {
      }
    }
    (void)rnnkit::inspect_checkpoint(file);
  } catch (const rnnkit::Error&) {
  }
  return 0;
}

// libFuzzer target: any bytes as an .npz archive (ZIP of .npy arrays), then as TF1 variables.
// Errors are fine; crashes, leaks, undefined behaviour and unbounded allocations are not.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rnnkit/core/error.h"
#include "rnnkit/formats/npz.h"
#include "rnnkit/formats/tf1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* begin = reinterpret_cast<const std::byte*>(data);
  try {
    const auto arrays = rnnkit::parse_npz(std::vector<std::byte>(begin, begin + size), "fuzz.npz");
    (void)rnnkit::import_tf1(arrays, "fuzz.npz", {});
  } catch (const rnnkit::Error&) {
  }
  return 0;
}

// libFuzzer target: any bytes as an .npz archive (ZIP of .npy arrays), then as TF1 variables.
// Inputs whose first byte is odd are the rest wrapped as the one stored entry of a well-formed
// archive (its CRC-32 computed), so that the .npy parser sees arbitrary bytes too.
// Errors are fine; crashes, leaks, undefined behaviour and unbounded allocations are not.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "rnnkit/core/error.h"
#include "rnnkit/formats/npz.h"
#include "rnnkit/formats/tf1.h"

namespace {

void put(std::vector<std::byte>& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

// A ZIP archive holding `data` as the stored entry "a.npy".
std::vector<std::byte> stored_archive(const uint8_t* data, size_t size) {
  const auto crc = static_cast<uint32_t>(crc32_z(0, data, size));
  const auto n = static_cast<uint32_t>(size);
  std::vector<std::byte> out;
  auto fields = [&](std::vector<std::byte>& s) {  // version needed .. extra length
    put(s, 20, 2), put(s, 0, 2), put(s, 0, 2), put(s, 0, 4), put(s, crc, 4), put(s, n, 4), put(s, n, 4);
    put(s, 5, 2), put(s, 0, 2);
  };
  put(out, 0x04034b50, 4);
  fields(out);
  for (const char c : {'a', '.', 'n', 'p', 'y'}) out.push_back(static_cast<std::byte>(c));
  const auto* begin = reinterpret_cast<const std::byte*>(data);
  out.insert(out.end(), begin, begin + size);
  const auto directory_at = static_cast<uint32_t>(out.size());
  put(out, 0x02014b50, 4);
  put(out, 20, 2);
  fields(out);
  put(out, 0, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 4), put(out, 0, 4);
  for (const char c : {'a', '.', 'n', 'p', 'y'}) out.push_back(static_cast<std::byte>(c));
  put(out, 0x06054b50, 4);
  put(out, 0, 4), put(out, 1, 2), put(out, 1, 2), put(out, 46 + 5, 4), put(out, directory_at, 4), put(out, 0, 2);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* begin = reinterpret_cast<const std::byte*>(data);
  std::vector<std::byte> archive;
  if (size > 0 && (data[0] & 1) != 0) {
    archive = stored_archive(data + 1, size - 1);
  } else {
    archive.assign(begin, begin + size);
  }
  try {
    const auto arrays = rnnkit::parse_npz(archive, "fuzz.npz");
    (void)rnnkit::import_tf1(arrays, "fuzz.npz", {});
  } catch (const rnnkit::Error&) {
  }
  return 0;
}

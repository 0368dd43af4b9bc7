// libFuzzer target: any bytes as what libhdf5's separate process sends back to rnnkit
// (formats/keras_contents.h): as its stream of frames (core/contained_call.h), fed in pieces
// whose sizes depend on the input and decoded whole, which must agree; then what the stream
// carries, and the bytes themselves, as Keras contents. Contents that decode must encode back to
// exactly the bytes they came from. Errors are fine; crashes, leaks, undefined behaviour,
// unbounded allocations and disagreements are not.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>

#include "core/contained_call.h"
#include "formats/keras_contents.h"
#include "rnnkit/core/error.h"

namespace {

using rnnkit::detail::ContainedEnding;
using rnnkit::detail::ContainedStreamDecoder;

void check_keras_contents(std::span<const std::byte> bytes) {
  try {
    const rnnkit::detail::KerasContents contents = rnnkit::detail::decode_keras_contents(bytes, "fuzz", bytes.size());
    const std::vector<std::byte> again = rnnkit::detail::encode_keras_contents(contents);
    if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end())) std::abort();
  } catch (const rnnkit::Error&) {
  }
}

// The stream's ending, fed in pieces of `piece` bytes (0: all at once); nullopt if refused.
std::optional<ContainedEnding> decode_stream(std::span<const std::byte> bytes, std::size_t piece) {
  try {
    ContainedStreamDecoder decoder;
    for (std::size_t at = 0; at < bytes.size();) {
      const std::size_t n = piece == 0 ? bytes.size() : std::min(piece, bytes.size() - at);
      decoder.feed(bytes.subspan(at, n));
      at += n;
      piece = piece == 0 ? 0 : piece * 5 % 9973 + 1;
    }
    return decoder.finish();
  } catch (const rnnkit::Error&) {
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const std::optional<ContainedEnding> whole = decode_stream(bytes, 0);
  const std::optional<ContainedEnding> pieces = decode_stream(bytes, 1 + size % 13);
  if (whole.has_value() != pieces.has_value()) std::abort();
  if (whole && (whole->how != pieces->how || whole->output != pieces->output || whole->message != pieces->message)) {
    std::abort();
  }
  if (whole && whole->how == ContainedEnding::How::returned) check_keras_contents(whole->output);
  check_keras_contents(bytes);
  return 0;
}

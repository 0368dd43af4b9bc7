// libFuzzer target: any bytes as a checkpoint's model description (rnnkit.model JSON), then the
// parameter list of what it describes, and as a recurrent-activation spec. Errors are fine;
// crashes, leaks, undefined behaviour and unbounded allocations are not.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const rnnkit::RecurrentDescription d = rnnkit::parse_recurrent_model_json(text, "fuzz");
    (void)rnnkit::recurrent_parameters(d.spec);
    (void)rnnkit::recurrent_model_json(d.scope, d.spec, d.options, d.preset);
  } catch (const rnnkit::Error&) {
  }
  try {
    (void)rnnkit::parse_gate_activation(text).spec();
  } catch (const rnnkit::Error&) {
  }
  return 0;
}

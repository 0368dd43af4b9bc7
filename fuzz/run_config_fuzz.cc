// libFuzzer target: any bytes as a TOML run config (a checkpoint's rnnkit.run_config, or a
// --config file); what parses is written back and must parse to the same TOML. Errors are
// fine; crashes, leaks, undefined behaviour and unbounded allocations are not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rnnkit/core/error.h"
#include "rnnkit/train/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const rnnkit::RunConfig config = rnnkit::parse_run_config(text, "fuzz.toml");
    const std::string written = rnnkit::run_config_to_toml(config);
    if (rnnkit::run_config_to_toml(rnnkit::parse_run_config(written, "written")) != written) std::abort();
  } catch (const rnnkit::Error&) {
  }
  return 0;
}

// Glob patterns over variable names (segments joined by '/').
//
//   *    any run of characters within one segment (never '/')
//   **   any run of characters, '/' included (any number of segments)
//   ?    one character other than '/'
// Everything else matches itself. `encoder/*/weight_hh` matches encoder/l0/weight_hh,
// not encoder/l0/fw/weight_hh; `encoder/**/weight_hh` matches both.
#pragma once

#include <string_view>

namespace rnnkit {

bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace rnnkit

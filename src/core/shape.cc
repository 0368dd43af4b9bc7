// Shapes: printing and checked element counts.
#include "rnnkit/core/shape.h"

#include <limits>

#include "rnnkit/core/error.h"

namespace rnnkit {

std::string shape_to_string(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

int64_t shape_numel(const Shape& shape, const char* what) {
  int64_t n = 1;
  for (int64_t extent : shape) {
    if (extent < 0) {
      throw Error(std::string(what) + ": shape " + shape_to_string(shape) + " has a negative extent");
    }
    if (extent != 0 && n > std::numeric_limits<int64_t>::max() / extent) {
      throw Error(std::string(what) + ": shape " + shape_to_string(shape) + " has more elements than fit in int64");
    }
    n *= extent;
  }
  return n;
}

}  // namespace rnnkit

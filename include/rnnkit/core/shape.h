// Shapes: the list of extents of a dense row-major tensor.
//
// Dimension vocabulary used across rnnkit (declared once here):
//   T time, B batch, I input, H hidden, P projection, G gates, L layers, D directions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rnnkit {

using Shape = std::vector<int64_t>;

// "[2,5,3]"; "[]" for a scalar.
std::string shape_to_string(const Shape& shape);

// Product of the extents. Throws Error naming `what` if an extent is negative
// or the product overflows int64.
int64_t shape_numel(const Shape& shape, const char* what = "tensor");

}  // namespace rnnkit

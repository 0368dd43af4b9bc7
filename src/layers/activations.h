// Internal: the scalar activations the cell kernels share.
#pragma once

#include <cmath>

namespace rnnkit::detail {

template <class T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

}  // namespace rnnkit::detail

// Internal: what the cell policies share — carving their memory, clip bounds, choosing a
// kernel instantiation from the options, and the bias sums of the recurrent side.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "activations.h"
#include "rnnkit/core/matrix.h"
#include "rnnkit/layers/cell_options.h"

namespace rnnkit::detail {

// n elements rounded up to a multiple of 64 bytes, so that every carved piece starts aligned.
template <class T>
constexpr int64_t aligned_count(int64_t n) {
  constexpr auto k = static_cast<int64_t>(64 / sizeof(T));
  return (n + k - 1) / k * k;
}

// Hands out consecutive aligned pieces of one block (planned with aligned_count).
template <class T>
class Carver {
 public:
  explicit Carver(T* base) : next_(base) {}
  T* take(int64_t n) {
    T* p = next_;
    next_ += aligned_count<T>(n);
    return p;
  }

 private:
  T* next_;
};

// A clip for the kernels: C, or +inf for none (0).
template <class T>
T clip_bound(double c) {
  return c > 0.0 ? static_cast<T>(c) : std::numeric_limits<T>::infinity();
}

// Calls f with the functor of the gate activation / cell activation, or with
// std::true_type / std::false_type for a flag: each combination is its own kernel.
template <class T, class F>
void with_gate(const GateActivation& g, F&& f) {
  if (g.is_sigmoid()) {
    f(Sigmoid<T>{});
  } else {
    f(HardSigmoid<T>{static_cast<T>(g.alpha), static_cast<T>(g.beta)});
  }
}
template <class T, class F>
void with_activation(CellActivation a, F&& f) {
  if (a == CellActivation::tanh) {
    f(Tanh<T>{});
  } else {
    f(Relu<T>{});
  }
}
template <class F>
void with_flag(bool on, F&& f) {
  if (on) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

// Every row of a [rows, cols] matrix += bias [cols].
template <class T>
void add_to_rows(MatrixView<T> a, const T* bias) {
  for (int64_t r = 0; r < a.rows(); ++r) {
    T* row = a.row(r);
    for (int64_t j = 0; j < a.cols(); ++j) row[j] += bias[j];
  }
}

// out[j] += sum over rows of a(r, j).
template <class T>
void add_column_sums(MatrixView<const T> a, T* out) {
  for (int64_t r = 0; r < a.rows(); ++r) {
    const T* row = a.row(r);
    for (int64_t j = 0; j < a.cols(); ++j) out[j] += row[j];
  }
}

}  // namespace rnnkit::detail

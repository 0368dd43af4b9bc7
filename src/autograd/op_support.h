// Internal: what the autograd ops share — operand checks with shapes in the message, and
// the rows x features view of a shape.
#pragma once

#include <string>

#include "rnnkit/autograd/tape.h"
#include "rnnkit/core/error.h"

namespace rnnkit::autograd {

// The last dimension (1 for a scalar) and the product of the others.
inline int64_t features(const Shape& s) { return s.empty() ? 1 : s.back(); }
inline int64_t rows(const Shape& s) { return s.empty() ? 1 : shape_numel(s) / std::max<int64_t>(s.back(), 1); }

template <class T>
void check(bool ok, const char* op, const char* what, const Value<T>& a, const Value<T>& b) {
  if (!ok) {
    throw Error(std::string(op) + ": " + what + "; got " + shape_to_string(a.shape()) + " and " +
                shape_to_string(b.shape()));
  }
}

template <class T>
Tape<T>& same_tape(const char* op, const Value<T>& a, const Value<T>& b) {
  if (!a.valid() || !b.valid()) throw Error(std::string(op) + ": an operand is not a recorded value");
  if (a.tape != b.tape) throw Error(std::string(op) + ": the operands are on different tapes");
  return *a.tape;
}

}  // namespace rnnkit::autograd

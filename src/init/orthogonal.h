// Internal: orthogonal matrices by Householder QR (double precision, single thread,
// fixed operation order, so the result depends only on the random draws).
#pragma once

#include "rnnkit/core/tensor.h"
#include "rnnkit/random/stream.h"

namespace rnnkit::detail {

// Fills out [rows, cols] with gain * Q, where Q comes from the QR factorization of
// a [max, min] standard-normal matrix (drawn row-major from `stream` as [rows, cols]
// and transposed when rows < cols), with Q's columns multiplied by sign(diag(R)).
void fill_orthogonal(TensorView<double> out, RandomStream& stream, double gain);

}  // namespace rnnkit::detail

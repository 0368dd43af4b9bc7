// All singular values of a matrix, largest first, by one-sided Jacobi (Hestenes 1958):
// plane rotations orthogonalize the columns of A (of Aᵀ when A is wide) pair by pair until
// every pair satisfies |u_p·u_q| <= 1e-15 ‖u_p‖ ‖u_q‖; the column norms are then the singular
// values. Unlike the eigenvalues of AᵀA it keeps small singular values to high relative
// accuracy, which the smallest singular value of a recurrent matrix needs. Cost about
// 8 min(m, n)² max(m, n) per sweep and 6 to 10 sweeps: a 512 x 512 matrix takes seconds.
#pragma once

#include <vector>

#include "rnnkit/core/tensor.h"

namespace rnnkit {

// min(rows, cols) values, descending. Throws Error for a tensor that is not a matrix, or
// if 60 sweeps do not converge (a NaN or an infinity in the input).
std::vector<double> singular_values(TensorView<const double> matrix);

}  // namespace rnnkit

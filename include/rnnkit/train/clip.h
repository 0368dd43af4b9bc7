// Gradient clipping over a store's trainable variables (explicit opt-in; the caller logs
// the returned norm).
//   by global norm: n = sqrt(sum of g^2 over all trainable gradients); if n > max_norm,
//                   every gradient is scaled by max_norm / (n + 1e-6) (PyTorch's
//                   clip_grad_norm_). Returns n, the norm before clipping.
//   by value:       g <- min(max(g, -limit), limit) elementwise.
#pragma once

#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

// Throws Error if max_norm is not positive.
double clip_gradient_norm(VariableStore& store, double max_norm);
// Throws Error if limit is not positive.
void clip_gradient_value(VariableStore& store, double limit);
// The global gradient norm of the trainable variables, without changing anything.
double gradient_norm(VariableStore& store);

}  // namespace rnnkit

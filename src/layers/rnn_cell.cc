// Vanilla RNN step kernels; the equations are in rnn_cell.h.
#include "rnnkit/layers/rnn_cell.h"

#include <algorithm>
#include <cmath>

#include "activations.h"

namespace rnnkit {

using detail::tanh;

template <class T>
RNNKIT_KERNEL void rnn_step_forward(int64_t batch, int64_t hidden, bool relu, const T* a, const T* h_prev, T* h,
                      const uint8_t* active) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = b * hidden;
    const bool on = active == nullptr || active[b] != 0;
    const T* ar = a + row;
    const T* hp = h_prev + row;
    T* hr = h + row;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) hr[j] = !on ? hp[j] : relu ? std::max(ar[j], T(0)) : tanh(ar[j]);
  }
}

template <class T>
RNNKIT_KERNEL void rnn_step_backward(int64_t batch, int64_t hidden, bool relu, const T* h, const T* dh, T* da,
                       const uint8_t* active) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = b * hidden;
    const bool on = active == nullptr || active[b] != 0;
    const T* hr = h + row;
    const T* dhr = dh + row;
    T* dar = da + row;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T y = hr[j];
      // relu' = [a > 0] = [h > 0]; tanh' = 1 - h^2
      dar[j] = !on ? T(0) : relu ? (y > T(0) ? dhr[j] : T(0)) : dhr[j] * (T(1) - y * y);
    }
  }
}

template void rnn_step_forward<float>(int64_t, int64_t, bool, const float*, const float*, float*, const uint8_t*);
template void rnn_step_forward<double>(int64_t, int64_t, bool, const double*, const double*, double*,
                                       const uint8_t*);
template void rnn_step_backward<float>(int64_t, int64_t, bool, const float*, const float*, float*, const uint8_t*);
template void rnn_step_backward<double>(int64_t, int64_t, bool, const double*, const double*, double*,
                                        const uint8_t*);

}  // namespace rnnkit

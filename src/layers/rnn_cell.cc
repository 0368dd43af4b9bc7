// Vanilla RNN step kernels; the equations are in rnn_cell.h.
#include "rnnkit/layers/rnn_cell.h"

#include <algorithm>
#include <cmath>

namespace rnnkit {

template <class T>
void rnn_step_forward(int64_t batch, int64_t hidden, bool relu, const T* a, const T* h_prev, T* h,
                      const uint8_t* active) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = b * hidden;
    const bool on = active == nullptr || active[b] != 0;
    for (int64_t j = 0; j < hidden; ++j) {
      h[row + j] = !on ? h_prev[row + j] : relu ? std::max(a[row + j], T(0)) : std::tanh(a[row + j]);
    }
  }
}

template <class T>
void rnn_step_backward(int64_t batch, int64_t hidden, bool relu, const T* h, const T* dh, T* da,
                       const uint8_t* active) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = b * hidden;
    const bool on = active == nullptr || active[b] != 0;
    for (int64_t j = 0; j < hidden; ++j) {
      const T y = h[row + j];
      // relu' = [a > 0] = [h > 0]; tanh' = 1 - h^2
      da[row + j] = !on ? T(0) : relu ? (y > T(0) ? dh[row + j] : T(0)) : dh[row + j] * (T(1) - y * y);
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

// LSTM fused step kernels; the equations are in lstm_cell.h.
#include "rnnkit/layers/lstm_cell.h"

#include <cmath>

#include "activations.h"

namespace rnnkit {

using detail::sigmoid;
template <class T>
void lstm_step_forward(int64_t batch, int64_t hidden, T* gates, const T* c_prev, T* c, T* m, const uint8_t* active) {
  for (int64_t b = 0; b < batch; ++b) {
    T* a = gates + b * 4 * hidden;
    const T* cp = c_prev + b * hidden;
    T* cb = c + b * hidden;
    T* mb = m + b * hidden;
    if (active != nullptr && !active[b]) {  // past the sequence's end: the state stands still
      for (int64_t j = 0; j < hidden; ++j) {
        cb[j] = cp[j];
        mb[j] = T(0);
      }
      continue;
    }
    for (int64_t j = 0; j < hidden; ++j) {
      const T i = sigmoid(a[j]);
      const T f = sigmoid(a[hidden + j]);
      const T g = std::tanh(a[2 * hidden + j]);
      const T o = sigmoid(a[3 * hidden + j]);
      a[j] = i;
      a[hidden + j] = f;
      a[2 * hidden + j] = g;
      a[3 * hidden + j] = o;
      cb[j] = f * cp[j] + i * g;     // c_t = f * c_{t-1} + i * g
      mb[j] = o * std::tanh(cb[j]);  // m_t = o * tanh(c_t)
    }
  }
}

template <class T>
void lstm_step_backward(int64_t batch, int64_t hidden, const T* gates, const T* c_prev, const T* c, const T* dm,
                        T* dc, T* dgates, const uint8_t* active) {
  for (int64_t b = 0; b < batch; ++b) {
    const T* act = gates + b * 4 * hidden;
    T* da = dgates + b * 4 * hidden;
    T* dcb = dc + b * hidden;
    if (active != nullptr && !active[b]) {  // c_t = c_{t-1}: dc passes through, no gate gradient
      for (int64_t j = 0; j < 4 * hidden; ++j) da[j] = T(0);
      continue;
    }
    const T* cp = c_prev + b * hidden;
    const T* cb = c + b * hidden;
    const T* dmb = dm + b * hidden;
    for (int64_t j = 0; j < hidden; ++j) {
      const T i = act[j], f = act[hidden + j], g = act[2 * hidden + j], o = act[3 * hidden + j];
      const T tc = std::tanh(cb[j]);
      const T dc_total = dcb[j] + dmb[j] * o * (T(1) - tc * tc);  // from m_t = o * tanh(c_t) and later steps
      const T d_o = dmb[j] * tc;
      da[j] = dc_total * g * i * (T(1) - i);                 // c_t = ... + i * g, i = sigmoid(a_i)
      da[hidden + j] = dc_total * cp[j] * f * (T(1) - f);    // c_t = f * c_{t-1} + ..., f = sigmoid(a_f)
      da[2 * hidden + j] = dc_total * i * (T(1) - g * g);    // g = tanh(a_g)
      da[3 * hidden + j] = d_o * o * (T(1) - o);             // o = sigmoid(a_o)
      dcb[j] = dc_total * f;                                 // dL/dc_{t-1}
    }
  }
}

template void lstm_step_forward<float>(int64_t, int64_t, float*, const float*, float*, float*, const uint8_t*);
template void lstm_step_forward<double>(int64_t, int64_t, double*, const double*, double*, double*, const uint8_t*);
template void lstm_step_backward<float>(int64_t, int64_t, const float*, const float*, const float*, const float*,
                                        float*, float*, const uint8_t*);
template void lstm_step_backward<double>(int64_t, int64_t, const double*, const double*, const double*,
                                         const double*, double*, double*, const uint8_t*);

}  // namespace rnnkit

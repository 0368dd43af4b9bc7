// LSTM fused step kernels; the equations are in lstm_cell.h.
#include "rnnkit/layers/lstm_cell.h"

#include <cmath>

#include "activations.h"

namespace rnnkit {

using detail::sigmoid;
using detail::tanh;
template <class T>
RNNKIT_KERNEL void lstm_step_forward(int64_t batch, int64_t hidden, T* gates, const T* c_prev, T* c, T* m, const uint8_t* active) {
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
    T* ai = a;  // pre-activations in, gate values out
    T* af = a + hidden;
    T* ag = a + 2 * hidden;
    T* ao = a + 3 * hidden;
    const T* cpr = cp;
    T* cr = cb;
    T* mr = mb;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T i = sigmoid(ai[j]);
      const T f = sigmoid(af[j]);
      const T g = tanh(ag[j]);
      const T o = sigmoid(ao[j]);
      ai[j] = i;
      af[j] = f;
      ag[j] = g;
      ao[j] = o;
      const T c_t = f * cpr[j] + i * g;  // c_t = f * c_{t-1} + i * g
      cr[j] = c_t;
      mr[j] = o * tanh(c_t);             // m_t = o * tanh(c_t)
    }
  }
}

template <class T>
RNNKIT_KERNEL void lstm_step_backward(int64_t batch, int64_t hidden, const T* gates, const T* c_prev, const T* c, const T* dm,
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
    const T* is = act;  // gate values from forward
    const T* fs = act + hidden;
    const T* gs = act + 2 * hidden;
    const T* os = act + 3 * hidden;
    T* dai = da;
    T* daf = da + hidden;
    T* dag = da + 2 * hidden;
    T* dao = da + 3 * hidden;
    T* dcr = dcb;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T i = is[j], f = fs[j], g = gs[j], o = os[j];
      const T tc = tanh(cb[j]);
      const T dc_total = dcr[j] + dmb[j] * o * (T(1) - tc * tc);  // from m_t = o * tanh(c_t) and later steps
      const T d_o = dmb[j] * tc;
      dai[j] = dc_total * g * i * (T(1) - i);    // c_t = ... + i * g, i = sigmoid(a_i)
      daf[j] = dc_total * cp[j] * f * (T(1) - f);  // c_t = f * c_{t-1} + ..., f = sigmoid(a_f)
      dag[j] = dc_total * i * (T(1) - g * g);    // g = tanh(a_g)
      dao[j] = d_o * o * (T(1) - o);             // o = sigmoid(a_o)
      dcr[j] = dc_total * f;                     // dL/dc_{t-1}
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

// GRU fused step kernels; the equations are in gru_cell.h.
#include "rnnkit/layers/gru_cell.h"

#include <cmath>

#include "activations.h"

namespace rnnkit {

using detail::sigmoid;
namespace {

bool is_active(const uint8_t* active, int64_t b) { return active == nullptr || active[b] != 0; }

}  // namespace

template <class T>
void gru_step_forward(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* h,
                      const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    T* x = xg + b * g3;
    const T* r_h = hh + b * g3;
    const T* hp = h_prev + b * hidden;
    T* hb = h + b * hidden;
    if (!is_active(active, b)) {
      for (int64_t j = 0; j < hidden; ++j) hb[j] = hp[j];
      continue;
    }
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = sigmoid(x[j] + r_h[j]);
      const T z = sigmoid(x[hidden + j] + r_h[hidden + j]);
      const T n = std::tanh(x[2 * hidden + j] + r * r_h[2 * hidden + j]);  // reset applied after W_hn h + b_hn
      x[j] = r;
      x[hidden + j] = z;
      x[2 * hidden + j] = n;
      hb[j] = (T(1) - z) * n + z * hp[j];
    }
  }
}

template <class T>
void gru_step_backward(int64_t batch, int64_t hidden, const T* xg, const T* hh, const T* h_prev, const T* dh, T* dxg,
                       T* dhh, T* dh_prev, const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    T* dx = dxg + b * g3;
    T* dr_h = dhh + b * g3;
    const T* dhb = dh + b * hidden;
    T* dhp = dh_prev + b * hidden;
    if (!is_active(active, b)) {  // h_t = h_{t-1}
      for (int64_t j = 0; j < g3; ++j) dx[j] = dr_h[j] = T(0);
      for (int64_t j = 0; j < hidden; ++j) dhp[j] = dhb[j];
      continue;
    }
    const T* act = xg + b * g3;
    const T* hn = hh + b * g3 + 2 * hidden;
    const T* hp = h_prev + b * hidden;
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = act[j], z = act[hidden + j], n = act[2 * hidden + j];
      const T dn = dhb[j] * (T(1) - z);               // h_t = (1 - z) * n + z * h_{t-1}
      const T dz = dhb[j] * (hp[j] - n);
      const T da_n = dn * (T(1) - n * n);             // n = tanh(x_n + r * hn)
      const T dr = da_n * hn[j];
      dx[j] = dr * r * (T(1) - r);                    // r = sigmoid(x_r + hh_r)
      dx[hidden + j] = dz * z * (T(1) - z);           // z = sigmoid(x_z + hh_z)
      dx[2 * hidden + j] = da_n;
      dr_h[j] = dx[j];
      dr_h[hidden + j] = dx[hidden + j];
      dr_h[2 * hidden + j] = da_n * r;                // through r * hn
      dhp[j] = dhb[j] * z;
    }
  }
}

template <class T>
void gru_before_step_forward_gates(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* rh) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    T* x = xg + b * g3;
    const T* r_h = hh + b * g3;
    const T* hp = h_prev + b * hidden;
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = sigmoid(x[j] + r_h[j]);
      x[j] = r;
      x[hidden + j] = sigmoid(x[hidden + j] + r_h[hidden + j]);
      rh[b * hidden + j] = r * hp[j];  // the reset applied before W_hn
    }
  }
}

template <class T>
void gru_before_step_forward_output(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* h,
                                    const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    T* x = xg + b * g3;
    const T* hp = h_prev + b * hidden;
    T* hb = h + b * hidden;
    if (!is_active(active, b)) {
      for (int64_t j = 0; j < hidden; ++j) hb[j] = hp[j];
      continue;
    }
    for (int64_t j = 0; j < hidden; ++j) {
      const T z = x[hidden + j];
      const T n = std::tanh(x[2 * hidden + j] + hh[b * g3 + 2 * hidden + j]);
      x[2 * hidden + j] = n;
      hb[j] = (T(1) - z) * n + z * hp[j];
    }
  }
}

template <class T>
void gru_before_step_backward_output(int64_t batch, int64_t hidden, const T* xg, const T* h_prev, const T* dh, T* dxg,
                                     T* dhh, T* dh_prev, const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    T* dx = dxg + b * g3;
    T* dr_h = dhh + b * g3;
    const T* dhb = dh + b * hidden;
    T* dhp = dh_prev + b * hidden;
    if (!is_active(active, b)) {
      for (int64_t j = 0; j < g3; ++j) dx[j] = dr_h[j] = T(0);
      for (int64_t j = 0; j < hidden; ++j) dhp[j] = dhb[j];
      continue;
    }
    const T* act = xg + b * g3;
    const T* hp = h_prev + b * hidden;
    for (int64_t j = 0; j < hidden; ++j) {
      const T z = act[hidden + j], n = act[2 * hidden + j];
      const T da_n = dhb[j] * (T(1) - z) * (T(1) - n * n);  // h_t = (1 - z) n + z h_{t-1}; n = tanh(x_n + hn)
      dx[hidden + j] = dhb[j] * (hp[j] - n) * z * (T(1) - z);
      dx[2 * hidden + j] = da_n;
      dr_h[2 * hidden + j] = da_n;  // hn = W_hn (r * h) + b_hn
      dhp[j] = dhb[j] * z;
    }
  }
}

template <class T>
void gru_before_step_backward_gates(int64_t batch, int64_t hidden, const T* xg, const T* h_prev, const T* drh, T* dxg,
                                    T* dhh, T* dh_prev, const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    if (!is_active(active, b)) continue;  // zeroed by the output phase
    const T* act = xg + b * g3;
    const T* hp = h_prev + b * hidden;
    T* dx = dxg + b * g3;
    T* dr_h = dhh + b * g3;
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = act[j];
      const T d = drh[b * hidden + j];
      dx[j] = d * hp[j] * r * (T(1) - r);  // rh = r * h_{t-1}, r = sigmoid(x_r + hh_r)
      dr_h[j] = dx[j];
      dr_h[hidden + j] = dx[hidden + j];
      dh_prev[b * hidden + j] += d * r;
    }
  }
}

#define RNNKIT_GRU_INSTANTIATE(T)                                                                                  \
  template void gru_step_forward<T>(int64_t, int64_t, T*, const T*, const T*, T*, const uint8_t*);                \
  template void gru_step_backward<T>(int64_t, int64_t, const T*, const T*, const T*, const T*, T*, T*, T*,         \
                                     const uint8_t*);                                                              \
  template void gru_before_step_forward_gates<T>(int64_t, int64_t, T*, const T*, const T*, T*);                    \
  template void gru_before_step_forward_output<T>(int64_t, int64_t, T*, const T*, const T*, T*, const uint8_t*);  \
  template void gru_before_step_backward_output<T>(int64_t, int64_t, const T*, const T*, const T*, T*, T*, T*,     \
                                                   const uint8_t*);                                                \
  template void gru_before_step_backward_gates<T>(int64_t, int64_t, const T*, const T*, const T*, T*, T*, T*,      \
                                                  const uint8_t*);
RNNKIT_GRU_INSTANTIATE(float)
RNNKIT_GRU_INSTANTIATE(double)
#undef RNNKIT_GRU_INSTANTIATE

}  // namespace rnnkit

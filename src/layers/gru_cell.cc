// GRU fused step kernels; the equations are in gru_cell.h.
#include "rnnkit/layers/gru_cell.h"

#include <cmath>

#include "activations.h"

namespace rnnkit {

using detail::sigmoid;
using detail::tanh;
namespace {

bool is_active(const uint8_t* active, int64_t b) { return active == nullptr || active[b] != 0; }

}  // namespace

template <class T>
RNNKIT_KERNEL void gru_step_forward(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* h,
                      const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    const T* hp = h_prev + b * hidden;
    T* hb = h + b * hidden;
    if (!is_active(active, b)) {
      for (int64_t j = 0; j < hidden; ++j) hb[j] = hp[j];
      continue;
    }
    T* xr = xg + b * g3;  // x-side pre-activations in, gate values out
    T* xz = xr + hidden;
    T* xn = xz + hidden;
    const T* hr = hh + b * g3;  // W_hh h + b_hh
    const T* hz = hr + hidden;
    const T* hn = hz + hidden;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = sigmoid(xr[j] + hr[j]);
      const T z = sigmoid(xz[j] + hz[j]);
      const T n = tanh(xn[j] + r * hn[j]);  // reset applied after W_hn h + b_hn
      xr[j] = r;
      xz[j] = z;
      xn[j] = n;
      hb[j] = (T(1) - z) * n + z * hp[j];
    }
  }
}

template <class T>
RNNKIT_KERNEL void gru_step_backward(int64_t batch, int64_t hidden, const T* xg, const T* hh, const T* h_prev, const T* dh, T* dxg,
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
    const T* rs = xg + b * g3;  // gate values r, z, n from forward
    const T* zs = rs + hidden;
    const T* ns = zs + hidden;
    const T* hn = hh + b * g3 + 2 * hidden;
    const T* hp = h_prev + b * hidden;
    const T* dhr = dhb;
    T* dxr = dx;
    T* dxz = dx + hidden;
    T* dxn = dx + 2 * hidden;
    T* dhhr = dr_h;
    T* dhhz = dr_h + hidden;
    T* dhhn = dr_h + 2 * hidden;
    T* dhpr = dhp;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = rs[j], z = zs[j], n = ns[j];
      const T dn = dhr[j] * (T(1) - z);               // h_t = (1 - z) * n + z * h_{t-1}
      const T dz = dhr[j] * (hp[j] - n);
      const T da_n = dn * (T(1) - n * n);             // n = tanh(x_n + r * hn)
      const T dr = da_n * hn[j];
      const T da_r = dr * r * (T(1) - r);             // r = sigmoid(x_r + hh_r)
      const T da_z = dz * z * (T(1) - z);             // z = sigmoid(x_z + hh_z)
      dxr[j] = da_r;
      dxz[j] = da_z;
      dxn[j] = da_n;
      dhhr[j] = da_r;
      dhhz[j] = da_z;
      dhhn[j] = da_n * r;                             // through r * hn
      dhpr[j] = dhr[j] * z;
    }
  }
}

template <class T>
RNNKIT_KERNEL void gru_before_step_forward_gates(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* rh) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    T* xr = xg + b * g3;
    T* xz = xr + hidden;
    const T* hr = hh + b * g3;
    const T* hz = hr + hidden;
    const T* hp = h_prev + b * hidden;
    T* rhb = rh + b * hidden;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = sigmoid(xr[j] + hr[j]);
      xr[j] = r;
      xz[j] = sigmoid(xz[j] + hz[j]);
      rhb[j] = r * hp[j];  // the reset applied before W_hn
    }
  }
}

template <class T>
RNNKIT_KERNEL void gru_before_step_forward_output(int64_t batch, int64_t hidden, T* xg, const T* hh, const T* h_prev, T* h,
                                    const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    const T* hp = h_prev + b * hidden;
    T* hb = h + b * hidden;
    if (!is_active(active, b)) {
      for (int64_t j = 0; j < hidden; ++j) hb[j] = hp[j];
      continue;
    }
    const T* zs = xg + b * g3 + hidden;
    T* xn = xg + b * g3 + 2 * hidden;
    const T* hn = hh + b * g3 + 2 * hidden;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T z = zs[j];
      const T n = tanh(xn[j] + hn[j]);
      xn[j] = n;
      hb[j] = (T(1) - z) * n + z * hp[j];
    }
  }
}

template <class T>
RNNKIT_KERNEL void gru_before_step_backward_output(int64_t batch, int64_t hidden, const T* xg, const T* h_prev, const T* dh, T* dxg,
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
    const T* zs = xg + b * g3 + hidden;
    const T* ns = zs + hidden;
    const T* hp = h_prev + b * hidden;
    const T* dhr = dhb;
    T* dxz = dx + hidden;
    T* dxn = dx + 2 * hidden;
    T* dhhn = dr_h + 2 * hidden;
    T* dhpr = dhp;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T z = zs[j], n = ns[j];
      const T da_n = dhr[j] * (T(1) - z) * (T(1) - n * n);  // h_t = (1 - z) n + z h_{t-1}; n = tanh(x_n + hn)
      dxz[j] = dhr[j] * (hp[j] - n) * z * (T(1) - z);
      dxn[j] = da_n;
      dhhn[j] = da_n;  // hn = W_hn (r * h) + b_hn
      dhpr[j] = dhr[j] * z;
    }
  }
}

template <class T>
RNNKIT_KERNEL void gru_before_step_backward_gates(int64_t batch, int64_t hidden, const T* xg, const T* h_prev, const T* drh, T* dxg,
                                    T* dhh, T* dh_prev, const uint8_t* active) {
  const int64_t g3 = 3 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    if (!is_active(active, b)) continue;  // zeroed by the output phase
    const T* rs = xg + b * g3;
    const T* hp = h_prev + b * hidden;
    const T* drhb = drh + b * hidden;
    T* dxr = dxg + b * g3;
    const T* dxz = dxr + hidden;  // written by the output phase
    T* dhhr = dhh + b * g3;
    T* dhhz = dhhr + hidden;
    T* dhp = dh_prev + b * hidden;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < hidden; ++j) {
      const T r = rs[j];
      const T d = drhb[j];
      const T da_r = d * hp[j] * r * (T(1) - r);  // rh = r * h_{t-1}, r = sigmoid(x_r + hh_r)
      dxr[j] = da_r;
      dhhr[j] = da_r;
      dhhz[j] = dxz[j];
      dhp[j] += d * r;
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

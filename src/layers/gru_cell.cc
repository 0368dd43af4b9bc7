// The GRU cell policies: their fused step kernels and per-step products. The equations, and the
// F and B line numbers the comments refer to, are in gru_cell.h.
#include "rnnkit/layers/gru_cell.h"

#include "cell_support.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

using detail::clip;
using detail::inside;

bool is_active(const uint8_t* active, int64_t b) { return active == nullptr || active[b] != 0; }

void require_gru(const RecurrentSpec& spec, const char* policy) {
  if (spec.cell != CellKind::gru) throw Error(std::string(policy) + ": the cell is " + cell_name(spec.cell));
}

// Calls run(gate, act, clipped) with the functors of the options' gate and cell activations and
// std::true_type / std::false_type for gate clipping: each combination is its own kernel.
template <class T, class Run>
void dispatch(const CellOptions& o, Run run) {
  detail::with_gate<T>(o.recurrent_activation, [&](auto gate) {
    detail::with_activation<T>(o.activation, [&](auto act) {
      detail::with_flag(o.gate_clip > 0.0, [&](auto clipped) { run(gate, act, clipped); });
    });
  });
}

// ---- reset after ----

template <class T>
struct AfterForwardRows {
  int64_t batch, hidden;
  T* xg;            // [B, 3H]: (x_r, x_z, x_n) in, (r, z, n) out
  const T* hh;      // [B, 3H]: h_{t-1} W_hh^T
  const T* b_hh;    // [3H]
  T* pre;           // [B, 3H] with a gate clip
  const T* h_prev;  // [B, H]
  T* h;             // [B, H]
  T gate_clip;
  const uint8_t* active;
};

template <class T, class Gate, class Act, bool kClip>
RNNKIT_KERNEL void gru_after_forward_rows(const AfterForwardRows<T>& s, Gate gate, Act act) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    if (!is_active(s.active, b)) continue;  // the driver keeps h
    T* xr = s.xg + b * 3 * H;
    T* xz = xr + H;
    T* xn = xr + 2 * H;
    const T* hr = s.hh + b * 3 * H;
    const T* hz = hr + H;
    const T* hn = hr + 2 * H;
    T* pr = kClip ? s.pre + b * 3 * H : nullptr;
    T* pz = pr + (kClip ? H : 0);
    T* pn = pr + (kClip ? 2 * H : 0);
    const T* br = s.b_hh;
    const T* bz = br + H;
    const T* bn = br + 2 * H;
    const T* hp = s.h_prev + b * H;
    T* hb = s.h + b * H;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      // Each load is written where its value is used: loading hn early (a value live across the
      // two sigmoids) made GCC's AVX-512 code 3x slower (measured on the Xeon, config A).
      T ar = xr[j] + (hr[j] + br[j]), az = xz[j] + (hz[j] + bz[j]);  // F1 (its bias), F2
      if constexpr (kClip) {
        pr[j] = ar;
        pz[j] = az;
        ar = clip(ar, G);
        az = clip(az, G);
      }
      const T r = gate.value(ar);  // F2
      const T z = gate.value(az);
      T an = xn[j] + r * (hn[j] + bn[j]);  // F3: the reset applied after W_hn h + b_hn
      if constexpr (kClip) {
        pn[j] = an;
        an = clip(an, G);
      }
      const T n = act.value(an);
      xr[j] = r;
      xz[j] = z;
      xn[j] = n;
      hb[j] = (T(1) - z) * n + z * hp[j];  // F4
    }
  }
}

template <class T>
struct AfterBackwardRows {
  int64_t batch, hidden;
  const T* xg;      // [B, 3H]: (r, z, n)
  const T* hh;      // [B, 3H]: h_{t-1} W_hh^T
  const T* b_hn;    // [H]
  const T* pre;     // [B, 3H] with a gate clip
  const T* h_prev;  // [B, H]
  const T* dh;      // [B, H]
  T* dxg;           // [B, 3H]
  T* dhh;           // [B, 3H]
  T* dh_prev;       // [B, H]: the direct path dh z
  T gate_clip;
  const uint8_t* active;
};

template <class T, class Gate, class Act, bool kClip>
RNNKIT_KERNEL void gru_after_backward_rows(const AfterBackwardRows<T>& s, Gate gate, Act act) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    T* dx = s.dxg + b * 3 * H;
    T* dr_h = s.dhh + b * 3 * H;
    T* dhp = s.dh_prev + b * H;
    if (!is_active(s.active, b)) {
      for (int64_t j = 0; j < 3 * H; ++j) dx[j] = dr_h[j] = T(0);
      for (int64_t j = 0; j < H; ++j) dhp[j] = T(0);
      continue;
    }
    const T* rs = s.xg + b * 3 * H;
    const T* zs = rs + H;
    const T* ns = rs + 2 * H;
    const T* hn = s.hh + b * 3 * H + 2 * H;
    const T* bn = s.b_hn;
    const T* pr = kClip ? s.pre + b * 3 * H : nullptr;
    const T* pz = pr + (kClip ? H : 0);
    const T* pn = pr + (kClip ? 2 * H : 0);
    const T* hp = s.h_prev + b * H;
    const T* dhb = s.dh + b * H;
    T* dxr = dx;
    T* dxz = dx + H;
    T* dxn = dx + 2 * H;
    T* dhhr = dr_h;
    T* dhhz = dr_h + H;
    T* dhhn = dr_h + 2 * H;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      const T r = rs[j], z = zs[j], n = ns[j], d = dhb[j];
      const T dn = d * (T(1) - z);  // B1 (F4)
      const T dz = d * (hp[j] - n);
      T da_n = dn * act.derivative(n);  // B2 (F3)
      if constexpr (kClip) da_n *= inside(pn[j], G);
      const T dr = da_n * (hn[j] + bn[j]);
      T da_r = dr * gate.derivative(r);  // B3 (F2)
      T da_z = dz * gate.derivative(z);
      if constexpr (kClip) {
        da_r *= inside(pr[j], G);
        da_z *= inside(pz[j], G);
      }
      dxr[j] = da_r;
      dxz[j] = da_z;
      dxn[j] = da_n;
      dhhr[j] = da_r;
      dhhz[j] = da_z;
      dhhn[j] = da_n * r;
      dhp[j] = d * z;
    }
  }
}

// ---- reset before ----

template <class T>
struct BeforeGateRows {
  int64_t batch, hidden;
  T* xg;            // [B, 3H]: r, z blocks: pre-activations in (after F1), (r, z) out
  T* pre;           // [B, 3H] with a gate clip
  const T* h_prev;  // [B, H]
  T* rh;            // [B, H]
  T gate_clip;
};

template <class T, class Gate, class Act, bool kClip>
RNNKIT_KERNEL void gru_before_gates_rows(const BeforeGateRows<T>& s, Gate gate, Act /*act*/) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    T* xr = s.xg + b * 3 * H;
    T* xz = xr + H;
    T* pr = kClip ? s.pre + b * 3 * H : nullptr;
    T* pz = pr + (kClip ? H : 0);
    const T* hp = s.h_prev + b * H;
    T* rhb = s.rh + b * H;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      T ar = xr[j], az = xz[j];
      if constexpr (kClip) {
        pr[j] = ar;
        pz[j] = az;
        ar = clip(ar, G);
        az = clip(az, G);
      }
      const T r = gate.value(ar);  // F2
      xr[j] = r;
      xz[j] = gate.value(az);
      rhb[j] = r * hp[j];  // F3: the reset applied before W_hn
    }
  }
}

template <class T>
struct BeforeOutputRows {
  int64_t batch, hidden;
  T* xg;  // [B, 3H]: n block: pre-activation in (after F4), n out
  T* pre;
  const T* h_prev;
  T* h;
  T gate_clip;
  const uint8_t* active;
};

template <class T, class Gate, class Act, bool kClip>
RNNKIT_KERNEL void gru_before_output_rows(const BeforeOutputRows<T>& s, Gate /*gate*/, Act act) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    if (!is_active(s.active, b)) continue;
    const T* zs = s.xg + b * 3 * H + H;
    T* xn = s.xg + b * 3 * H + 2 * H;
    T* pn = kClip ? s.pre + b * 3 * H + 2 * H : nullptr;
    const T* hp = s.h_prev + b * H;
    T* hb = s.h + b * H;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      const T z = zs[j];
      T an = xn[j];
      if constexpr (kClip) {
        pn[j] = an;
        an = clip(an, G);
      }
      const T n = act.value(an);  // F5
      xn[j] = n;
      hb[j] = (T(1) - z) * n + z * hp[j];  // F6
    }
  }
}

template <class T>
struct BeforeOutputBackwardRows {
  int64_t batch, hidden;
  const T* xg;  // (r, z, n)
  const T* pre;
  const T* h_prev;
  const T* dh;
  T* dxg;      // writes the z and n blocks (all three blocks zero on inactive rows)
  T* dh_prev;  // dh z
  T gate_clip;
  const uint8_t* active;
};

template <class T, class Gate, class Act, bool kClip>
RNNKIT_KERNEL void gru_before_output_backward_rows(const BeforeOutputBackwardRows<T>& s, Gate gate, Act act) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    T* dx = s.dxg + b * 3 * H;
    T* dhp = s.dh_prev + b * H;
    if (!is_active(s.active, b)) {
      for (int64_t j = 0; j < 3 * H; ++j) dx[j] = T(0);
      for (int64_t j = 0; j < H; ++j) dhp[j] = T(0);
      continue;
    }
    const T* zs = s.xg + b * 3 * H + H;
    const T* ns = zs + H;
    const T* pz = kClip ? s.pre + b * 3 * H + H : nullptr;
    const T* pn = pz + (kClip ? H : 0);
    const T* hp = s.h_prev + b * H;
    const T* dhb = s.dh + b * H;
    T* dxz = dx + H;
    T* dxn = dx + 2 * H;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      const T z = zs[j], n = ns[j], d = dhb[j];
      T da_n = d * (T(1) - z) * act.derivative(n);    // B1 (F6, F5)
      T da_z = d * (hp[j] - n) * gate.derivative(z);  // B1 (F6, F2)
      if constexpr (kClip) {
        da_n *= inside(pn[j], G);
        da_z *= inside(pz[j], G);
      }
      dxz[j] = da_z;
      dxn[j] = da_n;
      dhp[j] = d * z;
    }
  }
}

template <class T>
struct BeforeGateBackwardRows {
  int64_t batch, hidden;
  const T* xg;  // (r, z, n)
  const T* pre;
  const T* h_prev;
  const T* drh;  // [B, H] = da_n W_hn
  T* dxg;        // writes the r block
  T* dh_prev;    // += drh r
  T gate_clip;
  const uint8_t* active;
};

template <class T, class Gate, class Act, bool kClip>
RNNKIT_KERNEL void gru_before_gates_backward_rows(const BeforeGateBackwardRows<T>& s, Gate gate, Act /*act*/) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    if (!is_active(s.active, b)) continue;  // zeroed by the output phase
    const T* rs = s.xg + b * 3 * H;
    const T* pr = kClip ? s.pre + b * 3 * H : nullptr;
    const T* hp = s.h_prev + b * H;
    const T* drhb = s.drh + b * H;
    T* dxr = s.dxg + b * 3 * H;
    T* dhp = s.dh_prev + b * H;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      const T r = rs[j], d = drhb[j];
      T da_r = d * hp[j] * gate.derivative(r);  // B3 (F3, F2)
      if constexpr (kClip) da_r *= inside(pr[j], G);
      dxr[j] = da_r;
      dhp[j] += d * r;
    }
  }
}

}  // namespace

// ---- GruResetAfterCell ----

template <class T>
GruResetAfterCell<T>::GruResetAfterCell(const RecurrentSpec& spec, const CellOptions& options)
    : hidden_(spec.hidden_size), options_(options), zeros_(static_cast<std::size_t>(3 * spec.hidden_size), T(0)) {
  require_gru(spec, "GRU (reset after) cell policy");
}

template <class T>
CellMemory GruResetAfterCell<T>::memory(int64_t steps, int64_t batch) const {
  using detail::aligned_count;
  const int64_t n = steps * batch * 3 * hidden_;
  return {aligned_count<T>(n) + (options_.gate_clip > 0.0 ? aligned_count<T>(n) : 0), aligned_count<T>(n)};
}

template <class T>
void GruResetAfterCell<T>::bind_kept(T* kept, int64_t steps, int64_t batch) {
  steps_ = steps;
  batch_ = batch;
  detail::Carver<T> carve(kept);
  hh_ = carve.take(steps * batch * 3 * hidden_);
  pre_ = options_.gate_clip > 0.0 ? carve.take(steps * batch * 3 * hidden_) : nullptr;
}

template <class T>
void GruResetAfterCell<T>::fold_recurrent_bias(MatrixView<T> /*xg_all*/, const CellParameters<T>& /*p*/) const {
  // b_hh is added in the fused pass (F1): b_hn cannot fold, being inside r * (...), and adding
  // b_hr, b_hz there costs less than a pass over all steps' xg.
}

template <class T>
void GruResetAfterCell<T>::forward_step(int64_t t, const CellParameters<T>& p, MatrixView<T> xg_t,
                                        MatrixView<const T> h_prev, MatrixView<T> h_t, const uint8_t* active) {
  const int64_t B = batch_, H = hidden_;
  const MatrixView<T> hh(hh_ + t * B * 3 * H, B, 3 * H);
  matmul(hh, h_prev, p.weight_hh.t());  // F1
  const AfterForwardRows<T> rows{B,
                                 H,
                                 xg_t.data(),
                                 hh.data(),
                                 p.bias_hh != nullptr ? p.bias_hh : zeros_.data(),
                                 pre_ != nullptr ? pre_ + t * B * 3 * H : nullptr,
                                 h_prev.data(),
                                 h_t.data(),
                                 detail::clip_bound<T>(options_.gate_clip),
                                 active};
  dispatch<T>(options_, [&](auto gate, auto act, auto clipped) {
    gru_after_forward_rows<T, decltype(gate), decltype(act), decltype(clipped)::value>(rows, gate, act);
  });
}

template <class T>
void GruResetAfterCell<T>::begin_backward(T* scratch, const T* /*d_state_n*/) {
  dhh_ = scratch;
}

template <class T>
void GruResetAfterCell<T>::backward_step(int64_t t, const CellParameters<T>& p, MatrixView<const T> xg_t,
                                         MatrixView<const T> h_prev, MatrixView<const T> /*h_t*/,
                                         MatrixView<const T> dh, MatrixView<T> dxg_t, MatrixView<T> dh_prev,
                                         const uint8_t* active) {
  const int64_t B = batch_, H = hidden_;
  const MatrixView<T> dhh(dhh_ + t * B * 3 * H, B, 3 * H);
  const AfterBackwardRows<T> rows{B,
                                  H,
                                  xg_t.data(),
                                  hh_ + t * B * 3 * H,
                                  p.bias_hh != nullptr ? p.bias_hh + 2 * H : zeros_.data(),
                                  pre_ != nullptr ? pre_ + t * B * 3 * H : nullptr,
                                  h_prev.data(),
                                  dh.data(),
                                  dxg_t.data(),
                                  dhh.data(),
                                  dh_prev.data(),
                                  detail::clip_bound<T>(options_.gate_clip),
                                  active};
  dispatch<T>(options_, [&](auto gate, auto act, auto clipped) {
    gru_after_backward_rows<T, decltype(gate), decltype(act), decltype(clipped)::value>(rows, gate, act);
  });
  matmul_add(dh_prev, dhh, p.weight_hh);  // B4 (F1)
}

template <class T>
void GruResetAfterCell<T>::end_backward(const CellParameters<T>& p, MatrixView<const T> /*dxg_all*/,
                                        MatrixView<const T> h_prev_all, T* /*d_state0*/) {
  const MatrixView<const T> dhh(dhh_, steps_ * batch_, 3 * hidden_);
  matmul_add(p.dweight_hh, dhh.t(), h_prev_all);  // B4: dW_hh += dhh^T h_{t-1}
  if (p.dbias_hh != nullptr) detail::add_column_sums(dhh, p.dbias_hh);
}

// ---- GruResetBeforeCell ----

template <class T>
GruResetBeforeCell<T>::GruResetBeforeCell(const RecurrentSpec& spec, const CellOptions& options)
    : hidden_(spec.hidden_size), options_(options) {
  require_gru(spec, "GRU (reset before) cell policy");
}

template <class T>
CellMemory GruResetBeforeCell<T>::memory(int64_t steps, int64_t batch) const {
  using detail::aligned_count;
  const int64_t tb = steps * batch;
  return {aligned_count<T>(tb * hidden_) + (options_.gate_clip > 0.0 ? aligned_count<T>(tb * 3 * hidden_) : 0),
          aligned_count<T>(batch * hidden_)};
}

template <class T>
void GruResetBeforeCell<T>::bind_kept(T* kept, int64_t steps, int64_t batch) {
  steps_ = steps;
  batch_ = batch;
  detail::Carver<T> carve(kept);
  rh_ = carve.take(steps * batch * hidden_);
  pre_ = options_.gate_clip > 0.0 ? carve.take(steps * batch * 3 * hidden_) : nullptr;
}

template <class T>
void GruResetBeforeCell<T>::fold_recurrent_bias(MatrixView<T> xg_all, const CellParameters<T>& p) const {
  if (p.bias_hh != nullptr) detail::add_to_rows(xg_all, p.bias_hh);  // F1, F4: all of b_hh adds linearly
}

template <class T>
void GruResetBeforeCell<T>::forward_step(int64_t t, const CellParameters<T>& p, MatrixView<T> xg_t,
                                         MatrixView<const T> h_prev, MatrixView<T> h_t, const uint8_t* active) {
  const int64_t B = batch_, H = hidden_;
  T* pre = pre_ != nullptr ? pre_ + t * B * 3 * H : nullptr;
  const T clip_g = detail::clip_bound<T>(options_.gate_clip);
  const MatrixView<T> rh(rh_ + t * B * H, B, H);
  matmul_add(xg_t.col_range(0, 2 * H), h_prev, p.weight_hh.row_range(0, 2 * H).t());  // F1
  const BeforeGateRows<T> gates{B, H, xg_t.data(), pre, h_prev.data(), rh.data(), clip_g};
  dispatch<T>(options_, [&](auto gate, auto act, auto clipped) {
    gru_before_gates_rows<T, decltype(gate), decltype(act), decltype(clipped)::value>(gates, gate, act);
  });                                                                             // F2, F3
  matmul_add(xg_t.col_range(2 * H, H), rh, p.weight_hh.row_range(2 * H, H).t());  // F4
  const BeforeOutputRows<T> output{B, H, xg_t.data(), pre, h_prev.data(), h_t.data(), clip_g, active};
  dispatch<T>(options_, [&](auto gate, auto act, auto clipped) {
    gru_before_output_rows<T, decltype(gate), decltype(act), decltype(clipped)::value>(output, gate, act);
  });  // F5, F6
}

template <class T>
void GruResetBeforeCell<T>::begin_backward(T* scratch, const T* /*d_state_n*/) {
  drh_ = scratch;
}

template <class T>
void GruResetBeforeCell<T>::backward_step(int64_t t, const CellParameters<T>& p, MatrixView<const T> xg_t,
                                          MatrixView<const T> h_prev, MatrixView<const T> /*h_t*/,
                                          MatrixView<const T> dh, MatrixView<T> dxg_t, MatrixView<T> dh_prev,
                                          const uint8_t* active) {
  const int64_t B = batch_, H = hidden_;
  const T* pre = pre_ != nullptr ? pre_ + t * B * 3 * H : nullptr;
  const T clip_g = detail::clip_bound<T>(options_.gate_clip);
  const BeforeOutputBackwardRows<T> output{
      B, H, xg_t.data(), pre, h_prev.data(), dh.data(), dxg_t.data(), dh_prev.data(), clip_g, active};
  dispatch<T>(options_, [&](auto gate, auto act, auto clipped) {
    gru_before_output_backward_rows<T, decltype(gate), decltype(act), decltype(clipped)::value>(output, gate, act);
  });  // B1
  const MatrixView<T> drh(drh_, B, H);
  matmul(drh, MatrixView<const T>(dxg_t).col_range(2 * H, H), p.weight_hh.row_range(2 * H, H));  // B2: da_n W_hn
  const BeforeGateBackwardRows<T> gates{
      B, H, xg_t.data(), pre, h_prev.data(), drh_, dxg_t.data(), dh_prev.data(), clip_g, active};
  dispatch<T>(options_, [&](auto gate, auto act, auto clipped) {
    gru_before_gates_backward_rows<T, decltype(gate), decltype(act), decltype(clipped)::value>(gates, gate, act);
  });                                                                                                    // B3
  matmul_add(dh_prev, MatrixView<const T>(dxg_t).col_range(0, 2 * H), p.weight_hh.row_range(0, 2 * H));  // B4
}

template <class T>
void GruResetBeforeCell<T>::end_backward(const CellParameters<T>& p, MatrixView<const T> dxg_all,
                                         MatrixView<const T> h_prev_all, T* /*d_state0*/) {
  const int64_t H = hidden_;
  matmul_add(p.dweight_hh.row_range(0, 2 * H), dxg_all.col_range(0, 2 * H).t(), h_prev_all);  // B4
  matmul_add(p.dweight_hh.row_range(2 * H, H), dxg_all.col_range(2 * H, H).t(),
             MatrixView<const T>(rh_, steps_ * batch_, H));  // B2: dW_hn += da_n^T rh
  if (p.dbias_hh != nullptr) detail::add_column_sums(dxg_all, p.dbias_hh);
}

template class GruResetAfterCell<float>;
template class GruResetAfterCell<double>;
template class GruResetBeforeCell<float>;
template class GruResetBeforeCell<double>;

}  // namespace rnnkit

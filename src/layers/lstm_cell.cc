// The LSTM cell policy: its fused step kernels and per-step products. The equations, and the
// F and B line numbers the comments refer to, are in lstm_cell.h.
#include "rnnkit/layers/lstm_cell.h"

#include <algorithm>

#include "cell_support.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

using detail::clip;
using detail::inside;

template <class T>
struct LstmForwardRows {
  int64_t batch, hidden;
  T* gates;                // [B, 4H]: a (after F1) on entry, (i, f, g, o) on exit
  T* pre;                  // [B, 4H] when clipping: (â_i, â_f, a_g, â_o) before their clips
  const T* c_prev;         // [B, H]
  T* c;                    // [B, H]
  T* m;                    // [B, H]: m_t (h_t itself without a projection)
  const T* peephole;       // [3, H]: rows i, f, o
  T gate_clip, cell_clip;  // +inf: none
  const uint8_t* active;
};

template <class T, class Gate, class Act, bool kPeephole, bool kClip>
RNNKIT_KERNEL void lstm_forward_rows(const LstmForwardRows<T>& s, Gate gate, Act act) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip, K = s.cell_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    const T* cp = s.c_prev + b * H;
    T* cb = s.c + b * H;
    T* mb = s.m + b * H;
    if (s.active != nullptr && !s.active[b]) {  // past the sequence's end: the state stands still
      for (int64_t j = 0; j < H; ++j) {
        cb[j] = cp[j];
        mb[j] = T(0);
      }
      continue;
    }
    T* ai = s.gates + b * 4 * H;
    T* af = ai + H;
    T* ag = ai + 2 * H;
    T* ao = ai + 3 * H;
    T* pi = kClip ? s.pre + b * 4 * H : nullptr;
    T* pf = pi + (kClip ? H : 0);
    T* pg = pi + (kClip ? 2 * H : 0);
    T* po = pi + (kClip ? 3 * H : 0);
    const T* wi = s.peephole;
    const T* wf = wi + (kPeephole ? H : 0);
    const T* wo = wi + (kPeephole ? 2 * H : 0);
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      T xi = ai[j], xf = af[j], xc = ag[j];
      if constexpr (kPeephole) {  // F2
        xi += wi[j] * cp[j];
        xf += wf[j] * cp[j];
      }
      if constexpr (kClip) {
        pi[j] = xi;
        pf[j] = xf;
        pg[j] = xc;
        xi = clip(xi, G);
        xf = clip(xf, G);
        xc = clip(xc, G);
      }
      const T i = gate.value(xi);  // F3
      const T f = gate.value(xf);
      const T g = act.value(xc);
      T c_t = f * cp[j] + i * g;                // F4
      if constexpr (kClip) c_t = clip(c_t, K);  // F5
      T xo = ao[j];
      if constexpr (kPeephole) xo += wo[j] * c_t;  // F6
      if constexpr (kClip) {
        po[j] = xo;
        xo = clip(xo, G);
      }
      const T o = gate.value(xo);  // F7
      ai[j] = i;
      af[j] = f;
      ag[j] = g;
      ao[j] = o;
      cb[j] = c_t;
      mb[j] = o * act.value(c_t);  // F8
    }
  }
}

template <class T>
struct LstmBackwardRows {
  int64_t batch, hidden;
  const T* gates;     // [B, 4H]: (i, f, g, o)
  const T* pre;       // [B, 4H] when clipping
  const T* c_prev;    // [B, H]
  const T* c;         // [B, H]
  const T* dm;        // [B, H]
  T* dc;              // [B, H]: dL/dc_t from later steps on entry, dL/dc_{t-1} on exit
  T* dgates;          // [B, 4H]: dL/d(a_i, a_f, a_g, a_o)
  const T* peephole;  // [3, H]
  T* dpeephole;       // [3, H], accumulated
  T gate_clip, cell_clip;
  const uint8_t* active;
};

template <class T, class Gate, class Act, bool kPeephole, bool kClip>
RNNKIT_KERNEL void lstm_backward_rows(const LstmBackwardRows<T>& s, Gate gate, Act act) {
  const int64_t H = s.hidden;
  const T G = s.gate_clip, K = s.cell_clip;
  for (int64_t b = 0; b < s.batch; ++b) {
    T* da = s.dgates + b * 4 * H;
    if (s.active != nullptr && !s.active[b]) {  // c_t = c_{t-1}: dc passes through, no gate gradient
      for (int64_t j = 0; j < 4 * H; ++j) da[j] = T(0);
      continue;
    }
    const T* is = s.gates + b * 4 * H;
    const T* fs = is + H;
    const T* gs = is + 2 * H;
    const T* os = is + 3 * H;
    const T* pi = kClip ? s.pre + b * 4 * H : nullptr;
    const T* pf = pi + (kClip ? H : 0);
    const T* pg = pi + (kClip ? 2 * H : 0);
    const T* po = pi + (kClip ? 3 * H : 0);
    const T* cp = s.c_prev + b * H;
    const T* cb = s.c + b * H;
    const T* dmb = s.dm + b * H;
    T* dcb = s.dc + b * H;
    T* dai = da;
    T* daf = da + H;
    T* dag = da + 2 * H;
    T* dao = da + 3 * H;
    const T* wi = s.peephole;
    const T* wf = wi + (kPeephole ? H : 0);
    const T* wo = wi + (kPeephole ? 2 * H : 0);
    T* dwi = s.dpeephole;
    T* dwf = dwi + (kPeephole ? H : 0);
    T* dwo = dwi + (kPeephole ? 2 * H : 0);
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < H; ++j) {
      const T i = is[j], f = fs[j], g = gs[j], o = os[j], c_prev = cp[j], c_t = cb[j], dm = dmb[j];
      const T ac = act.value(c_t);
      const T d_o = dm * ac;  // B2 (F8)
      T dc_t = dcb[j] + dm * o * act.derivative(ac);
      T da_o = d_o * gate.derivative(o);  // B3 (F7)
      if constexpr (kClip) da_o *= inside(po[j], G);
      if constexpr (kPeephole) {  // B4 (F6)
        dc_t += da_o * wo[j];
        dwo[j] += da_o * c_t;
      }
      if constexpr (kClip) dc_t *= inside(c_t, K);               // B5 (F5)
      const T di = dc_t * g, df = dc_t * c_prev, dg = dc_t * i;  // B6 (F4)
      T dc_prev = dc_t * f;
      T da_i = di * gate.derivative(i);  // B7 (F3)
      T da_f = df * gate.derivative(f);
      T da_g = dg * act.derivative(g);
      if constexpr (kClip) {
        da_i *= inside(pi[j], G);
        da_f *= inside(pf[j], G);
        da_g *= inside(pg[j], G);
      }
      if constexpr (kPeephole) {  // B8 (F2)
        dc_prev += da_i * wi[j] + da_f * wf[j];
        dwi[j] += da_i * c_prev;
        dwf[j] += da_f * c_prev;
      }
      dai[j] = da_i;
      daf[j] = da_f;
      dag[j] = da_g;
      dao[j] = da_o;
      dcb[j] = dc_prev;
    }
  }
}

// Calls run(gate, act, peep, clipped) with the functors of the options' gate and cell activations
// and std::true_type / std::false_type for peepholes and clipping: each combination is its own kernel.
template <class T, class Run>
void dispatch(const CellOptions& o, bool peepholes, bool clipping, Run run) {
  detail::with_gate<T>(o.recurrent_activation, [&](auto gate) {
    detail::with_activation<T>(o.activation, [&](auto act) {
      detail::with_flag(peepholes, [&](auto peep) {
        detail::with_flag(clipping, [&](auto clipped) { run(gate, act, peep, clipped); });
      });
    });
  });
}

}  // namespace

template <class T>
LstmCell<T>::LstmCell(const RecurrentSpec& spec, const CellOptions& options)
    : hidden_(spec.hidden_size), proj_(spec.proj_size), peepholes_(spec.peepholes), options_(options) {
  if (spec.cell != CellKind::lstm) throw Error(std::string("LSTM cell policy: the cell is ") + cell_name(spec.cell));
}

template <class T>
CellMemory LstmCell<T>::memory(int64_t steps, int64_t batch) const {
  using detail::aligned_count;
  const int64_t tb = steps * batch;
  CellMemory m;
  m.kept = aligned_count<T>((steps + 1) * batch * hidden_) + (proj_ > 0 ? aligned_count<T>(tb * hidden_) : 0) +
           (clipping() ? aligned_count<T>(tb * 4 * hidden_) : 0);
  m.scratch = 2 * aligned_count<T>(batch * hidden_) + (proj_ > 0 ? aligned_count<T>(tb * proj_) : 0);
  return m;
}

template <class T>
void LstmCell<T>::bind_kept(T* kept, int64_t steps, int64_t batch) {
  steps_ = steps;
  batch_ = batch;
  detail::Carver<T> carve(kept);
  c_ = carve.take((steps + 1) * batch * hidden_);
  m_ = proj_ > 0 ? carve.take(steps * batch * hidden_) : nullptr;
  pre_ = clipping() ? carve.take(steps * batch * 4 * hidden_) : nullptr;
}

template <class T>
void LstmCell<T>::fold_recurrent_bias(MatrixView<T> xg_all, const CellParameters<T>& p) const {
  if (p.bias_hh != nullptr) detail::add_to_rows(xg_all, p.bias_hh);  // F1: a = x W_ih^T + b_ih + b_hh + ...
}

template <class T>
void LstmCell<T>::begin_forward(const T* c0) {
  const int64_t n = batch_ * hidden_;
  if (c0 != nullptr) {
    std::copy(c0, c0 + n, c_);
  } else {
    std::fill(c_, c_ + n, T(0));
  }
}

template <class T>
void LstmCell<T>::forward_step(int64_t t, const CellParameters<T>& p, MatrixView<T> xg_t, MatrixView<const T> h_prev,
                               MatrixView<T> h_t, const uint8_t* active) {
  const int64_t B = batch_, H = hidden_;
  matmul_add(xg_t, h_prev, p.weight_hh.t());  // F1
  T* m = proj_ > 0 ? m_ + t * B * H : h_t.data();
  const LstmForwardRows<T> rows{B,
                                H,
                                xg_t.data(),
                                pre_ != nullptr ? pre_ + t * B * 4 * H : nullptr,
                                c_ + t * B * H,
                                c_ + (t + 1) * B * H,
                                m,
                                p.weight_peephole.data(),
                                detail::clip_bound<T>(options_.gate_clip),
                                detail::clip_bound<T>(options_.cell_clip),
                                active};
  dispatch<T>(options_, peepholes_, clipping(), [&](auto gate, auto act, auto peep, auto clipped) {
    lstm_forward_rows<T, decltype(gate), decltype(act), decltype(peep)::value, decltype(clipped)::value>(rows, gate,
                                                                                                         act);
  });
  if (proj_ > 0) {
    matmul(h_t, MatrixView<const T>(m, B, H), p.weight_hr.t());  // F9
    if (options_.proj_clip > 0.0) {
      const T q = detail::clip_bound<T>(options_.proj_clip);
      for (int64_t b = 0; b < B; ++b) {
        T* row = h_t.row(b);
        for (int64_t j = 0; j < proj_; ++j) row[j] = clip(row[j], q);
      }
    }
  }
}

template <class T>
void LstmCell<T>::final_state(T* c_n) const {
  const T* last = c_ + steps_ * batch_ * hidden_;
  std::copy(last, last + batch_ * hidden_, c_n);
}

template <class T>
void LstmCell<T>::begin_backward(T* scratch, const T* dc_n) {
  detail::Carver<T> carve(scratch);
  const int64_t n = batch_ * hidden_;
  dc_ = carve.take(n);
  dm_ = carve.take(n);
  dz_ = proj_ > 0 ? carve.take(steps_ * batch_ * proj_) : nullptr;
  if (dc_n != nullptr) {
    std::copy(dc_n, dc_n + n, dc_);
  } else {
    std::fill(dc_, dc_ + n, T(0));
  }
}

template <class T>
void LstmCell<T>::backward_step(int64_t t, const CellParameters<T>& p, MatrixView<const T> xg_t,
                                MatrixView<const T> /*h_prev*/, MatrixView<const T> h_t, MatrixView<const T> dh,
                                MatrixView<T> dxg_t, MatrixView<T> dh_prev, const uint8_t* active) {
  const int64_t B = batch_, H = hidden_;
  const T* dm = dh.data();
  if (proj_ > 0) {  // B1 (F9)
    T* dz = dz_ + t * B * proj_;
    const T q = detail::clip_bound<T>(options_.proj_clip);
    for (int64_t b = 0; b < B; ++b) {
      const bool on = active == nullptr || active[b] != 0;
      const T* dhb = dh.row(b);
      const T* hb = h_t.row(b);
      for (int64_t j = 0; j < proj_; ++j) dz[b * proj_ + j] = on ? dhb[j] * detail::inside(hb[j], q) : T(0);
    }
    matmul(MatrixView<T>(dm_, B, H), MatrixView<const T>(dz, B, proj_), p.weight_hr);  // dm = dz W_hr
    dm = dm_;
  }
  const LstmBackwardRows<T> rows{B,
                                 H,
                                 xg_t.data(),
                                 pre_ != nullptr ? pre_ + t * B * 4 * H : nullptr,
                                 c_ + t * B * H,
                                 c_ + (t + 1) * B * H,
                                 dm,
                                 dc_,
                                 dxg_t.data(),
                                 p.weight_peephole.data(),
                                 p.dweight_peephole.data(),
                                 detail::clip_bound<T>(options_.gate_clip),
                                 detail::clip_bound<T>(options_.cell_clip),
                                 active};
  dispatch<T>(options_, peepholes_, clipping(), [&](auto gate, auto act, auto peep, auto clipped) {
    lstm_backward_rows<T, decltype(gate), decltype(act), decltype(peep)::value, decltype(clipped)::value>(rows, gate,
                                                                                                          act);
  });
  matmul(dh_prev, dxg_t, p.weight_hh);  // B9 (F1): dh_{t-1} = da W_hh
}

template <class T>
void LstmCell<T>::end_backward(const CellParameters<T>& p, MatrixView<const T> dxg_all, MatrixView<const T> h_prev_all,
                               T* dc0) {
  matmul_add(p.dweight_hh, dxg_all.t(), h_prev_all);  // B9: dW_hh += da^T h_{t-1}
  if (p.dbias_hh != nullptr) detail::add_column_sums(dxg_all, p.dbias_hh);
  if (proj_ > 0) {  // B1: dW_hr += dz^T m
    const int64_t tb = steps_ * batch_;
    matmul_add(p.dweight_hr, MatrixView<const T>(dz_, tb, proj_).t(), MatrixView<const T>(m_, tb, hidden_));
  }
  std::copy(dc_, dc_ + batch_ * hidden_, dc0);
}

template class LstmCell<float>;
template class LstmCell<double>;

}  // namespace rnnkit

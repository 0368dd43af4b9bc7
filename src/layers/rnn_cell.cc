// The vanilla RNN cell policy: its step kernels and per-step products. The equations, and the
// F and B line numbers the comments refer to, are in rnn_cell.h.
#include "rnnkit/layers/rnn_cell.h"

#include "cell_support.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

template <class T>
struct RnnRows {
  int64_t batch, hidden;
  const T* a;   // [B, H]: pre-activations
  const T* h;   // backward: [B, H] h_t
  const T* dh;  // backward: [B, H]
  T* out;       // forward: h_t; backward: da
  T gate_clip;
  const uint8_t* active;
};

template <class T, class Act, bool kClip>
RNNKIT_KERNEL void rnn_forward_rows(const RnnRows<T>& s, Act act) {
  for (int64_t b = 0; b < s.batch; ++b) {
    if (s.active != nullptr && !s.active[b]) continue;  // the driver keeps h
    const T* ab = s.a + b * s.hidden;
    T* hb = s.out + b * s.hidden;
    const T G = s.gate_clip;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < s.hidden; ++j) hb[j] = act.value(kClip ? detail::clip(ab[j], G) : ab[j]);  // F2
  }
}

template <class T, class Act, bool kClip>
RNNKIT_KERNEL void rnn_backward_rows(const RnnRows<T>& s, Act act) {
  for (int64_t b = 0; b < s.batch; ++b) {
    T* da = s.out + b * s.hidden;
    if (s.active != nullptr && !s.active[b]) {
      for (int64_t j = 0; j < s.hidden; ++j) da[j] = T(0);
      continue;
    }
    const T* ab = s.a + b * s.hidden;
    const T* hb = s.h + b * s.hidden;
    const T* dhb = s.dh + b * s.hidden;
    const T G = s.gate_clip;
    RNNKIT_VECTORIZE
    for (int64_t j = 0; j < s.hidden; ++j) {
      T d = dhb[j] * act.derivative(hb[j]);  // B1 (F2)
      if constexpr (kClip) d *= detail::inside(ab[j], G);
      da[j] = d;
    }
  }
}

// Calls run(act, clipped) with the activation's functor and the clip flag as a type.
template <class T, class Run>
void dispatch(bool relu, bool clipping, Run run) {
  detail::with_activation<T>(relu ? CellActivation::relu : CellActivation::tanh,
                             [&](auto act) { detail::with_flag(clipping, [&](auto clipped) { run(act, clipped); }); });
}

}  // namespace

template <class T>
RnnCell<T>::RnnCell(const RecurrentSpec& spec, const CellOptions& options)
    : hidden_(spec.hidden_size), relu_(spec.cell == CellKind::rnn_relu), gate_clip_(options.gate_clip) {
  if (spec.cell != CellKind::rnn_tanh && spec.cell != CellKind::rnn_relu) {
    throw Error(std::string("RNN cell policy: the cell is ") + cell_name(spec.cell));
  }
}

template <class T>
CellMemory RnnCell<T>::memory(int64_t /*steps*/, int64_t /*batch*/) const {
  return {};  // a and h are the driver's
}

template <class T>
void RnnCell<T>::bind_kept(T* /*kept*/, int64_t /*steps*/, int64_t batch) {
  batch_ = batch;
}

template <class T>
void RnnCell<T>::fold_recurrent_bias(MatrixView<T> xg_all, const CellParameters<T>& p) const {
  if (p.bias_hh != nullptr) detail::add_to_rows(xg_all, p.bias_hh);  // F1
}

template <class T>
void RnnCell<T>::forward_step(int64_t /*t*/, const CellParameters<T>& p, MatrixView<T> xg_t, MatrixView<const T> h_prev,
                              MatrixView<T> h_t, const uint8_t* active) {
  matmul_add(xg_t, h_prev, p.weight_hh.t());  // F1
  const RnnRows<T> rows{batch_, hidden_, xg_t.data(), nullptr, nullptr, h_t.data(), detail::clip_bound<T>(gate_clip_),
                        active};
  dispatch<T>(relu_, gate_clip_ > 0.0,
              [&](auto act, auto clipped) { rnn_forward_rows<T, decltype(act), decltype(clipped)::value>(rows, act); });
}

template <class T>
void RnnCell<T>::begin_backward(T* /*scratch*/, const T* /*d_state_n*/) {}

template <class T>
void RnnCell<T>::backward_step(int64_t /*t*/, const CellParameters<T>& p, MatrixView<const T> xg_t,
                               MatrixView<const T> /*h_prev*/, MatrixView<const T> h_t, MatrixView<const T> dh,
                               MatrixView<T> dxg_t, MatrixView<T> dh_prev, const uint8_t* active) {
  const RnnRows<T> rows{
      batch_, hidden_, xg_t.data(), h_t.data(), dh.data(), dxg_t.data(), detail::clip_bound<T>(gate_clip_), active};
  dispatch<T>(relu_, gate_clip_ > 0.0, [&](auto act, auto clipped) {
    rnn_backward_rows<T, decltype(act), decltype(clipped)::value>(rows, act);
  });
  matmul(dh_prev, dxg_t, p.weight_hh);  // B2 (F1)
}

template <class T>
void RnnCell<T>::end_backward(const CellParameters<T>& p, MatrixView<const T> dxg_all, MatrixView<const T> h_prev_all,
                              T* /*d_state0*/) {
  matmul_add(p.dweight_hh, dxg_all.t(), h_prev_all);  // B2
  if (p.dbias_hh != nullptr) detail::add_column_sums(dxg_all, p.dbias_hh);
}

template class RnnCell<float>;
template class RnnCell<double>;

}  // namespace rnnkit

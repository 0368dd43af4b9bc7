// The naive reference recurrent layer; see reference_recurrent.h. Written from the forward
// equations in lstm_cell.h, gru_cell.h and rnn_cell.h alone, sharing no code with the cell
// policies: one sequence, one step and one unit at a time, in double.
#include "rnnkit/layers/reference_recurrent.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rnnkit {
namespace {

using Vec = std::vector<double>;

struct Matrix {
  int64_t rows = 0, cols = 0;
  Vec v;
  double at(int64_t r, int64_t c) const { return v[static_cast<std::size_t>(r * cols + c)]; }
};

Matrix read(const VariableStore& store, const std::string& name) {
  const Variable& var = store.at(name);
  Matrix m;
  m.rows = var.shape[0];
  m.cols = var.shape.size() > 1 ? var.shape[1] : 1;
  m.v.resize(static_cast<std::size_t>(var.numel));
  if (store.dtype() == DType::f32) {
    const auto view = store.value<float>(var);
    std::copy(view.data(), view.data() + var.numel, m.v.begin());
  } else {
    const auto view = store.value<double>(var);
    std::copy(view.data(), view.data() + var.numel, m.v.begin());
  }
  return m;
}

// y[r] = sum_c W[row0 + r, c] x[c] for r < n
Vec matvec(const Matrix& w, int64_t row0, int64_t n, const Vec& x) {
  Vec y(static_cast<std::size_t>(n), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < w.cols; ++c)
      y[static_cast<std::size_t>(r)] += w.at(row0 + r, c) * x[static_cast<std::size_t>(c)];
  }
  return y;
}

// The activations and clips of cell_options.h, straight from their definitions.
struct Math {
  const CellOptions& o;
  double sigma(double x) const {
    if (o.recurrent_activation.is_sigmoid()) return 1.0 / (1.0 + std::exp(-x));
    return std::min(1.0, std::max(0.0, o.recurrent_activation.alpha * x + o.recurrent_activation.beta));
  }
  double act(double x) const { return o.activation == CellActivation::tanh ? std::tanh(x) : std::max(x, 0.0); }
  static double clip(double x, double c) { return c > 0.0 ? std::min(c, std::max(-c, x)) : x; }
  double gate_clip(double x) const { return clip(x, o.gate_clip); }
};

struct Weights {
  Matrix w_ih, w_hh, b_ih, b_hh, w_hr, peephole;
  double bias_ih(std::size_t k) const { return b_ih.v.empty() ? 0.0 : b_ih.v[k]; }
  double bias_hh(std::size_t k) const { return b_hh.v.empty() ? 0.0 : b_hh.v[k]; }
  double p(std::size_t gate, std::size_t j) const {
    return peephole.v.empty() ? 0.0 : peephole.v[gate * (peephole.v.size() / 3) + j];
  }
};

// One LSTM step (lstm_cell.h, F1-F9): updates c and returns h.
Vec lstm_step(const Weights& w, const Math& m, const RecurrentSpec& spec, const Vec& x, const Vec& h, Vec& c) {
  const int64_t hidden = spec.hidden_size;
  const auto H = static_cast<std::size_t>(hidden);
  const Vec wx = matvec(w.w_ih, 0, 4 * hidden, x), uh = matvec(w.w_hh, 0, 4 * hidden, h);
  Vec out(H);
  for (std::size_t j = 0; j < H; ++j) {
    auto a = [&](std::size_t gate) {
      const std::size_t k = gate * H + j;
      return wx[k] + w.bias_ih(k) + uh[k] + w.bias_hh(k);
    };
    const double i = m.sigma(m.gate_clip(a(0) + w.p(0, j) * c[j]));
    const double f = m.sigma(m.gate_clip(a(1) + w.p(1, j) * c[j]));
    const double g = m.act(m.gate_clip(a(2)));
    const double c_t = Math::clip(f * c[j] + i * g, m.o.cell_clip);
    const double o = m.sigma(m.gate_clip(a(3) + w.p(2, j) * c_t));
    c[j] = c_t;
    out[j] = o * m.act(c_t);
  }
  if (spec.proj_size == 0) return out;
  Vec projected = matvec(w.w_hr, 0, spec.proj_size, out);
  for (double& v : projected) v = Math::clip(v, m.o.proj_clip);
  return projected;
}

// One GRU step in either reset form (gru_cell.h).
Vec gru_step(const Weights& w, const Math& m, const RecurrentSpec& spec, const Vec& x, const Vec& h) {
  const int64_t hidden = spec.hidden_size;
  const auto H = static_cast<std::size_t>(hidden);
  const Vec wx = matvec(w.w_ih, 0, 3 * hidden, x), uh = matvec(w.w_hh, 0, 3 * hidden, h);
  Vec r(H), z(H);
  for (std::size_t j = 0; j < H; ++j) {
    r[j] = m.sigma(m.gate_clip(wx[j] + w.bias_ih(j) + uh[j] + w.bias_hh(j)));
    z[j] = m.sigma(m.gate_clip(wx[H + j] + w.bias_ih(H + j) + uh[H + j] + w.bias_hh(H + j)));
  }
  Vec rh(H);
  for (std::size_t j = 0; j < H; ++j) rh[j] = r[j] * h[j];
  const Vec un_before = matvec(w.w_hh, 2 * hidden, hidden, rh);  // W_hn (r * h)
  Vec out(H);
  for (std::size_t j = 0; j < H; ++j) {
    const double recurrent = m.o.gru_reset == GruReset::after ? r[j] * (uh[2 * H + j] + w.bias_hh(2 * H + j))
                                                              : un_before[j] + w.bias_hh(2 * H + j);
    const double n = m.act(m.gate_clip(wx[2 * H + j] + w.bias_ih(2 * H + j) + recurrent));
    out[j] = (1.0 - z[j]) * n + z[j] * h[j];
  }
  return out;
}

Vec rnn_step(const Weights& w, const Math& m, const RecurrentSpec& spec, const Vec& x, const Vec& h) {
  const int64_t hidden = spec.hidden_size;
  const Vec wx = matvec(w.w_ih, 0, hidden, x), uh = matvec(w.w_hh, 0, hidden, h);
  Vec out(static_cast<std::size_t>(hidden));
  for (std::size_t j = 0; j < out.size(); ++j) {
    const double a = m.gate_clip(wx[j] + w.bias_ih(j) + uh[j] + w.bias_hh(j));
    out[j] = spec.cell == CellKind::rnn_relu ? std::max(a, 0.0) : std::tanh(a);
  }
  return out;
}

}  // namespace

RecurrentResult<double> reference_recurrent_forward(const VariableStore& store, const std::string& scope,
                                                    const RecurrentSpec& spec, const RecurrentLayerOptions& options,
                                                    TensorView<const double> input, std::span<const int64_t> lengths,
                                                    TensorView<const double> h0, TensorView<const double> c0) {
  const int64_t steps = options.batch_first ? input.dim(1) : input.dim(0);
  const int64_t batch = options.batch_first ? input.dim(0) : input.dim(1);
  const int64_t dirs = spec.directions(), hidden = spec.hidden_size, rw = spec.recurrent_width();
  const auto H = static_cast<std::size_t>(hidden);
  const Math math{options.cell};
  auto in_at = [&](int64_t t, int64_t b) -> const double* {
    return input.data() + (options.batch_first ? b * steps + t : t * batch + b) * input.dim(2);
  };
  RecurrentResult<double> result;
  const bool concat = options.merge == BidirectionalMerge::concat;
  const int64_t ow = concat ? dirs * rw : rw;
  result.output = Tensor<double>(options.batch_first ? Shape{batch, steps, ow} : Shape{steps, batch, ow});
  result.h_n = Tensor<double>({spec.num_layers * dirs, batch, rw});
  if (spec.cell == CellKind::lstm) result.c_n = Tensor<double>({spec.num_layers * dirs, batch, hidden});

  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths.empty() ? steps : lengths[static_cast<std::size_t>(b)];
    // This sequence's input, one vector per valid step; per direction (per-direction stacking
    // gives each direction its own stack), then each layer's output, both directions side by side.
    std::vector<Vec> seq(static_cast<std::size_t>(len));
    for (int64_t t = 0; t < len; ++t) seq[static_cast<std::size_t>(t)] = Vec(in_at(t, b), in_at(t, b) + input.dim(2));
    std::vector<Vec> below = seq;  // the previous layer's output, [len][D*R] (layer 0: the input)
    for (int64_t l = 0; l < spec.num_layers; ++l) {
      std::vector<Vec> next(static_cast<std::size_t>(len), Vec(static_cast<std::size_t>(dirs * rw), 0.0));
      for (int64_t d = 0; d < dirs; ++d) {
        const std::string base = (scope.empty() ? "" : scope + "/") + "l" + std::to_string(l) + (d ? "/bw/" : "/fw/");
        Weights w;
        w.w_ih = read(store, base + "weight_ih");
        w.w_hh = read(store, base + "weight_hh");
        if (spec.bias) {
          w.b_ih = read(store, base + "bias_ih");
          w.b_hh = read(store, base + "bias_hh");
        }
        if (spec.proj_size > 0) w.w_hr = read(store, base + "weight_hr");
        if (spec.peepholes) w.peephole = read(store, base + "weight_peephole");
        const int64_t row = l * dirs + d;
        Vec h(static_cast<std::size_t>(rw), 0.0), c(H, 0.0);
        if (h0.data() != nullptr) h.assign(h0.data() + (row * batch + b) * rw, h0.data() + (row * batch + b + 1) * rw);
        if (c0.data() != nullptr)
          c.assign(c0.data() + (row * batch + b) * hidden, c0.data() + (row * batch + b + 1) * hidden);
        for (int64_t k = 0; k < len; ++k) {
          const int64_t t = d == 0 ? k : len - 1 - k;  // the reverse direction starts at the last valid step
          Vec x = below[static_cast<std::size_t>(t)];
          if (l > 0 && spec.stacking == Stacking::per_direction) {  // only this direction's own output below
            x = Vec(x.begin() + d * rw, x.begin() + (d + 1) * rw);
          }
          if (spec.cell == CellKind::lstm) {
            h = lstm_step(w, math, spec, x, h, c);
          } else if (spec.cell == CellKind::gru) {
            h = gru_step(w, math, spec, x, h);
          } else {
            h = rnn_step(w, math, spec, x, h);
          }
          std::copy(h.begin(), h.end(), next[static_cast<std::size_t>(t)].begin() + d * rw);
        }
        std::copy(h.begin(), h.end(), result.h_n.data() + (row * batch + b) * rw);
        if (spec.cell == CellKind::lstm) std::copy(c.begin(), c.end(), result.c_n.data() + (row * batch + b) * hidden);
      }
      below = std::move(next);
    }
    for (int64_t t = 0; t < len; ++t) {
      double* dst = result.output.data() + (options.batch_first ? b * steps + t : t * batch + b) * ow;
      const Vec& both = below[static_cast<std::size_t>(t)];
      for (int64_t j = 0; j < ow; ++j) {
        const double fw = both[static_cast<std::size_t>(j)];
        const double bw = concat ? 0.0 : both[static_cast<std::size_t>(rw + j)];
        switch (options.merge) {
          case BidirectionalMerge::concat: dst[j] = fw; break;
          case BidirectionalMerge::sum: dst[j] = fw + bw; break;
          case BidirectionalMerge::mul: dst[j] = fw * bw; break;
          case BidirectionalMerge::ave: dst[j] = (fw + bw) / 2; break;
        }
      }
    }  // steps past the length stay zero
  }
  return result;
}

}  // namespace rnnkit

// The naive reference recurrent layer; see reference_recurrent.h.
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
    for (int64_t c = 0; c < w.cols; ++c) y[static_cast<std::size_t>(r)] += w.at(row0 + r, c) * x[static_cast<std::size_t>(c)];
  }
  return y;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

RecurrentResult<double> reference_recurrent_forward(const VariableStore& store, const std::string& scope,
                                                    const RecurrentSpec& spec, const RecurrentLayerOptions& options,
                                                    TensorView<const double> input, std::span<const int64_t> lengths,
                                                    TensorView<const double> h0, TensorView<const double> c0) {
  const int64_t steps = options.batch_first ? input.dim(1) : input.dim(0);
  const int64_t batch = options.batch_first ? input.dim(0) : input.dim(1);
  const int64_t dirs = spec.directions(), hidden = spec.hidden_size, rw = spec.recurrent_width();
  const std::size_t H = static_cast<std::size_t>(hidden);
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
    // This sequence's layer input, one vector per valid step.
    std::vector<Vec> seq(static_cast<std::size_t>(len));
    for (int64_t t = 0; t < len; ++t) seq[static_cast<std::size_t>(t)] = Vec(in_at(t, b), in_at(t, b) + input.dim(2));
    for (int64_t l = 0; l < spec.num_layers; ++l) {
      std::vector<Vec> next(static_cast<std::size_t>(len), Vec(static_cast<std::size_t>(dirs * rw), 0.0));
      for (int64_t d = 0; d < dirs; ++d) {
        const std::string base = (scope.empty() ? "" : scope + "/") + "l" + std::to_string(l) + (d ? "/bw/" : "/fw/");
        const Matrix w_ih = read(store, base + "weight_ih"), w_hh = read(store, base + "weight_hh");
        const Matrix b_ih = read(store, base + "bias_ih"), b_hh = read(store, base + "bias_hh");
        const Matrix w_hr = spec.proj_size > 0 ? read(store, base + "weight_hr") : Matrix{};
        const int64_t row = l * dirs + d;
        Vec h(static_cast<std::size_t>(rw), 0.0), c(H, 0.0);
        if (h0.data() != nullptr) h.assign(h0.data() + (row * batch + b) * rw, h0.data() + (row * batch + b + 1) * rw);
        if (c0.data() != nullptr) c.assign(c0.data() + (row * batch + b) * hidden, c0.data() + (row * batch + b + 1) * hidden);
        for (int64_t k = 0; k < len; ++k) {
          const int64_t t = d == 0 ? k : len - 1 - k;  // the reverse direction starts at the last valid step
          const Vec& x = seq[static_cast<std::size_t>(t)];
          Vec h_new(static_cast<std::size_t>(rw));
          if (spec.cell == CellKind::lstm) {
            const Vec wx = matvec(w_ih, 0, 4 * hidden, x), uh = matvec(w_hh, 0, 4 * hidden, h);
            Vec m(H);
            for (std::size_t j = 0; j < H; ++j) {
              auto a = [&](std::size_t gate) { return wx[gate * H + j] + b_ih.v[gate * H + j] + uh[gate * H + j] + b_hh.v[gate * H + j]; };
              const double i = sigmoid(a(0)), f = sigmoid(a(1)), g = std::tanh(a(2)), o = sigmoid(a(3));
              c[j] = f * c[j] + i * g;
              m[j] = o * std::tanh(c[j]);
            }
            h_new = spec.proj_size > 0 ? matvec(w_hr, 0, rw, m) : m;
          } else if (spec.cell == CellKind::gru) {
            const Vec wx = matvec(w_ih, 0, 3 * hidden, x), uh = matvec(w_hh, 0, 3 * hidden, h);
            Vec r(H), z(H);
            for (std::size_t j = 0; j < H; ++j) {
              r[j] = sigmoid(wx[j] + b_ih.v[j] + uh[j] + b_hh.v[j]);
              z[j] = sigmoid(wx[H + j] + b_ih.v[H + j] + uh[H + j] + b_hh.v[H + j]);
            }
            Vec rh(H);
            for (std::size_t j = 0; j < H; ++j) rh[j] = r[j] * h[j];
            const Vec un_before = matvec(w_hh, 2 * hidden, hidden, rh);  // W_hn (r * h)
            for (std::size_t j = 0; j < H; ++j) {
              const double recurrent = options.gru_reset == GruReset::after
                                           ? r[j] * (uh[2 * H + j] + b_hh.v[2 * H + j])
                                           : un_before[j] + b_hh.v[2 * H + j];
              const double n = std::tanh(wx[2 * H + j] + b_ih.v[2 * H + j] + recurrent);
              h_new[j] = (1.0 - z[j]) * n + z[j] * h[j];
            }
          } else {
            const Vec wx = matvec(w_ih, 0, hidden, x), uh = matvec(w_hh, 0, hidden, h);
            for (std::size_t j = 0; j < H; ++j) {
              const double a = wx[j] + b_ih.v[j] + uh[j] + b_hh.v[j];
              h_new[j] = spec.cell == CellKind::rnn_relu ? std::max(a, 0.0) : std::tanh(a);
            }
          }
          h = h_new;
          std::copy(h.begin(), h.end(), next[static_cast<std::size_t>(t)].begin() + d * rw);
        }
        std::copy(h.begin(), h.end(), result.h_n.data() + (row * batch + b) * rw);
        if (spec.cell == CellKind::lstm) std::copy(c.begin(), c.end(), result.c_n.data() + (row * batch + b) * hidden);
      }
      seq = std::move(next);
    }
    for (int64_t t = 0; t < len; ++t) {
      double* dst = result.output.data() + (options.batch_first ? b * steps + t : t * batch + b) * ow;
      const Vec& both = seq[static_cast<std::size_t>(t)];
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

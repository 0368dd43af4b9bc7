// The step Jacobian; see analysis/step_jacobian.h.
#include "rnnkit/analysis/step_jacobian.h"

#include <algorithm>

#include "rnnkit/analysis/weight_stats.h"
#include "rnnkit/core/error.h"

namespace rnnkit {

Tensor<double> step_jacobian(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory, int64_t t,
                             int64_t sequence) {
  const RecurrentSpec& spec = layer.spec();
  if (t < 1 || t > trajectory.steps() || sequence < 0 || sequence >= trajectory.batch()) {
    throw Error("step Jacobian: step " + std::to_string(t) + " of sequence " + std::to_string(sequence) +
                " is asked for; the trajectory has steps 1.." + std::to_string(trajectory.steps()) + " and " +
                std::to_string(trajectory.batch()) + " sequence(s)");
  }
  const bool lstm = spec.cell == CellKind::lstm;
  const int64_t L = spec.num_layers, R = spec.recurrent_width(), H = spec.hidden_size, I = spec.input_size;
  const int64_t B = trajectory.batch();
  const int64_t nh = L * R, n = nh + (lstm ? L * H : 0);
  // n copies of x_t and of the state s_{t-1} of the sequence.
  Tensor<double> x({1, n, I}), h0({L, n, R}), c0;
  const TensorView<const double> xt = trajectory.input_steps(t - 1, 1);
  const Tensor<double>& h_prev = trajectory.h[static_cast<std::size_t>(t - 1)];
  for (int64_t j = 0; j < n; ++j) {
    std::copy_n(xt.data() + sequence * I, I, x.data() + j * I);
    for (int64_t l = 0; l < L; ++l) std::copy_n(h_prev.data() + (l * B + sequence) * R, R, h0.data() + (l * n + j) * R);
  }
  if (lstm) {
    c0 = Tensor<double>({L, n, H});
    const Tensor<double>& c_prev = trajectory.c[static_cast<std::size_t>(t - 1)];
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t l = 0; l < L; ++l)
        std::copy_n(c_prev.data() + (l * B + sequence) * H, H, c0.data() + (l * n + j) * H);
    }
  }
  layer.forward(x.view(), {}, h0.view(), lstm ? c0.view() : TensorView<const double>{});
  // Copy j is seeded with e_j: its state gradient is row j of J.
  Tensor<double> d_h_n({L, n, R}), d_c_n, d_output({1, n, layer.output_size()});
  if (lstm) d_c_n = Tensor<double>({L, n, H});
  for (int64_t j = 0; j < n; ++j) {
    if (j < nh) {
      d_h_n[((j / R) * n + j) * R + j % R] = 1;
    } else {
      d_c_n[(((j - nh) / H) * n + j) * H + (j - nh) % H] = 1;
    }
  }
  const RecurrentGradients<double> g =
      layer.backward(d_output.view(), d_h_n.view(), lstm ? d_c_n.view() : TensorView<const double>{});
  layer.store().zero_grad();
  Tensor<double> jacobian({n, n});
  for (int64_t j = 0; j < n; ++j) {
    double* row = jacobian.data() + j * n;
    for (int64_t l = 0; l < L; ++l) std::copy_n(g.d_h0.data() + (l * n + j) * R, R, row + l * R);
    if (lstm) {
      for (int64_t l = 0; l < L; ++l) std::copy_n(g.d_c0.data() + (l * n + j) * H, H, row + nh + l * H);
    }
  }
  return jacobian;
}

std::vector<std::vector<double>> step_jacobian_norms(RecurrentLayer<double>& layer, const ProbeTrajectory& trajectory,
                                                     int64_t sequences) {
  sequences = std::clamp<int64_t>(sequences, 0, trajectory.batch());
  std::vector<std::vector<double>> norms(static_cast<std::size_t>(trajectory.steps()));
  for (int64_t t = 1; t <= trajectory.steps(); ++t) {
    for (int64_t b = 0; b < sequences; ++b) {
      const Tensor<double> j = step_jacobian(layer, trajectory, t, b);
      norms[static_cast<std::size_t>(t - 1)].push_back(largest_singular_value(j.view()));
    }
  }
  return norms;
}

}  // namespace rnnkit

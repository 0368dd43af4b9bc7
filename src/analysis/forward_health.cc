// Forward health; see analysis/forward_health.h.
#include "rnnkit/analysis/forward_health.h"

#include <cmath>

namespace rnnkit {
namespace {

constexpr double kSaturated = 0.99;

bool sigmoid_saturated(double v) { return v > kSaturated || v < 1 - kSaturated; }
bool tanh_saturated(double v) { return std::abs(v) > kSaturated; }

constexpr const char* kSigmoidRule = "sigmoid > 0.99 or < 0.01";
constexpr const char* kTanhRule = "|tanh| > 0.99";
constexpr const char* kReluRule = "relu = 0";

// The fraction of the [count] values at `values` (stride 1) that `saturated` says are.
template <class Predicate>
double fraction(const double* values, int64_t count, Predicate saturated) {
  int64_t n = 0;
  for (int64_t i = 0; i < count; ++i) n += saturated(values[i]) ? 1 : 0;
  return count ? static_cast<double>(n) / static_cast<double>(count) : 0.0;
}

}  // namespace

ForwardHealth measure_forward_health(const RecurrentSpec& spec, const ProbeTrajectory& trajectory,
                                     const CellOptions& options) {
  const int64_t T = trajectory.steps(), B = trajectory.batch(), L = spec.num_layers;
  const int64_t R = spec.recurrent_width(), H = spec.hidden_size;
  const std::string_view letters = gate_letters(spec.cell);
  const bool lstm = spec.cell == CellKind::lstm;
  const bool relu_cell = options.activation == CellActivation::relu;
  auto cell_saturated = [&](double v) { return relu_cell ? v == 0.0 : tanh_saturated(v); };
  ForwardHealth health;
  for (int64_t l = 0; l < L; ++l) {
    LayerHealth layer;
    if (lstm || spec.cell == CellKind::gru) {
      for (const char g : letters) {
        const bool tanh = g == 'g' || g == 'n';
        layer.saturation.push_back({std::string(1, g), tanh ? (relu_cell ? kReluRule : kTanhRule) : kSigmoidRule, {}});
      }
      if (lstm) {
        layer.saturation.push_back(relu_cell ? Saturation{"relu(c)", "relu(c) = 0", {}}
                                             : Saturation{"tanh(c)", "|tanh(c)| > 0.99", {}});
      }
    } else {
      const bool relu = spec.cell == CellKind::rnn_relu;
      layer.saturation.push_back({"h", relu ? kReluRule : kTanhRule, {}});
    }
    for (int64_t t = 1; t <= T; ++t) {
      const double* h = trajectory.h[static_cast<std::size_t>(t)].data() + l * B * R;
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < B * R; ++i) sum += h[i];
      const double mean = sum / static_cast<double>(B * R);
      for (int64_t i = 0; i < B * R; ++i) squares += (h[i] - mean) * (h[i] - mean);
      layer.state_mean.push_back(mean);
      layer.state_std.push_back(std::sqrt(squares / static_cast<double>(B * R)));
      if (lstm || spec.cell == CellKind::gru) {
        const int64_t width = static_cast<int64_t>(letters.size()) * H;
        const double* gates = trajectory.gates[static_cast<std::size_t>(t - 1)].data() + l * B * width;
        for (std::size_t k = 0; k < letters.size(); ++k) {
          const bool tanh = letters[k] == 'g' || letters[k] == 'n';
          int64_t n = 0;
          for (int64_t b = 0; b < B; ++b) {
            const double* block = gates + b * width + static_cast<int64_t>(k) * H;
            for (int64_t j = 0; j < H; ++j)
              n += (tanh ? cell_saturated(block[j]) : sigmoid_saturated(block[j])) ? 1 : 0;
          }
          layer.saturation[k].fraction.push_back(static_cast<double>(n) / static_cast<double>(B * H));
        }
        if (lstm) {
          const double* c = trajectory.c[static_cast<std::size_t>(t)].data() + l * B * H;
          layer.saturation.back().fraction.push_back(
              fraction(c, B * H, [&](double v) { return relu_cell ? !(v > 0.0) : tanh_saturated(std::tanh(v)); }));
        }
      } else if (spec.cell == CellKind::rnn_relu) {
        layer.saturation[0].fraction.push_back(fraction(h, B * R, [](double v) { return v == 0.0; }));
      } else {
        layer.saturation[0].fraction.push_back(fraction(h, B * R, tanh_saturated));
      }
    }
    health.layers.push_back(std::move(layer));
  }
  return health;
}

}  // namespace rnnkit

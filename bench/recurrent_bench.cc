// Benchmarks of the recurrent layer (float32) on the configurations, and the
// machine's sgemm peak, with Google Benchmark. Not a test: run it through
// bench/compare.py, which also times PyTorch on the same configurations and prints ratios.
//
// Configs (time-major, I = H):        A: T=100 B=32 H=128    B: T=50 B=64 H=512
//   C: T=25 B=64 H=1024    D: T=100 B=1 H=256    E: config B, 2 layers, bidirectional
// Names: recurrent/<cell>/<config>/<inference|training>/threads:<n>; counter `flops` is the
// nominal FLOP count per iteration (2*T*B*(I+H)*G*H per layer and direction; training 3x).
// variant/<name>/B/<mode>/threads:<n>: the cell variants on config B, to set beside the plain cell.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "custom_lstm/per_gate_lstm.h"
#include "rnnkit/rnnkit.h"

namespace {

struct BenchConfig {
  const char* name;
  int64_t steps, batch, size, layers;
  bool bidirectional;
};

constexpr BenchConfig kConfigs[] = {
    {"A", 100, 32, 128, 1, false}, {"B", 50, 64, 512, 1, false}, {"C", 25, 64, 1024, 1, false},
    {"D", 100, 1, 256, 1, false},  {"E", 50, 64, 512, 2, true},
};

double nominal_flops(const rnnkit::RecurrentSpec& spec, int64_t steps, int64_t batch) {
  double flops = 0;
  for (int64_t l = 0; l < spec.num_layers; ++l) {
    const int64_t per_step = 2 * batch * (spec.layer_input_size(l) + spec.hidden_size) * rnnkit::gate_count(spec.cell) *
                             spec.hidden_size * spec.directions();
    flops += static_cast<double>(per_step) * static_cast<double>(steps);
  }
  return flops;
}

// A variant of the plain layer: what changes in its spec and options.
struct Variant {
  const char* name;
  bool bias = true, peepholes = false;
  rnnkit::CellOptions cell;
};

void run_recurrent(benchmark::State& state, rnnkit::CellKind cell, BenchConfig c, bool training, int threads,
                   const Variant& variant) {
  rnnkit::set_threads(threads);
  const rnnkit::RecurrentSpec spec{.cell = cell,
                                   .input_size = c.size,
                                   .hidden_size = c.size,
                                   .num_layers = c.layers,
                                   .bidirectional = c.bidirectional,
                                   .bias = variant.bias,
                                   .peepholes = variant.peepholes};
  rnnkit::VariableStore store(1);
  {
    auto scope = store.scope("rnn");
    rnnkit::create_recurrent_variables(store, spec, {.preset = rnnkit::Preset::pytorch});
  }
  rnnkit::RecurrentLayer<float> layer(store, "rnn", spec, {.cell = variant.cell});
  rnnkit::Tensor<float> input({c.steps, c.batch, c.size});
  rnnkit::RandomStream random(7, "bench/input");
  for (float& v : input.storage()) v = static_cast<float>(random.uniform(-1, 1));
  rnnkit::Tensor<float> d_output({c.steps, c.batch, spec.directions() * c.size});
  for (float& v : d_output.storage()) v = static_cast<float>(random.uniform(-1, 1));
  for (auto _ : state) {
    rnnkit::RecurrentResult<float> result = layer.forward(input.view());
    benchmark::DoNotOptimize(result.output.data());
    if (training) {
      rnnkit::RecurrentGradients<float> grads = layer.backward(d_output.view());
      benchmark::DoNotOptimize(grads.d_input.data());
    }
  }
  const double flops = nominal_flops(spec, c.steps, c.batch) * (training ? 3.0 : 1.0);
  state.counters["flops"] = flops;
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The hand-written per-gate LSTM (examples/custom_lstm) on the tape, forward + backward:
// what the fused layer saves. Name: custom/per_gate_lstm/<config>/training/threads:<n>.
void run_custom_lstm(benchmark::State& state, BenchConfig c, int threads) {
  rnnkit::set_threads(threads);
  rnnkit::VariableStore store(1);
  rnnkit::Tape<float> tape(store);
  rnnkit::Tensor<float> input({c.steps, c.batch, c.size}), zeros({c.batch, c.size});
  rnnkit::RandomStream random(7, "bench/input");
  for (float& v : input.storage()) v = static_cast<float>(random.uniform(-1, 1));
  for (auto _ : state) {
    tape.clear();
    auto u = rnnkit::unroll(per_gate_lstm::cell(tape, c.size, c.size), tape.input(input.view(), true), {},
                            {tape.input(zeros.view()), tape.input(zeros.view())});
    tape.backward(rnnkit::mean(u.output));
    benchmark::DoNotOptimize(store.gradients<float>().data());
  }
  const rnnkit::RecurrentSpec spec{.cell = rnnkit::CellKind::lstm, .input_size = c.size, .hidden_size = c.size};
  const double flops = nominal_flops(spec, c.steps, c.batch) * 3.0;
  state.counters["flops"] = flops;
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Square sgemm C = A B, n = 1024: the peak the recurrent layer's GEMMs can approach.
void run_sgemm(benchmark::State& state, int threads) {
  rnnkit::set_threads(threads);
  const int64_t n = 1024;
  rnnkit::Tensor<float> a({n, n}), b({n, n}), c({n, n});
  rnnkit::RandomStream random(7, "bench/sgemm");
  for (float& v : a.storage()) v = static_cast<float>(random.uniform(-1, 1));
  for (float& v : b.storage()) v = static_cast<float>(random.uniform(-1, 1));
  for (auto _ : state) {
    rnnkit::gemm_nn(a.view(), b.view(), c.view());
    benchmark::DoNotOptimize(c.data());
  }
  const double flops = 2.0 * static_cast<double>(n * n * n);
  state.counters["flops"] = flops;
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (int threads : {1, 2}) {
    benchmark::RegisterBenchmark(("sgemm/1024/threads:" + std::to_string(threads)).c_str(), run_sgemm, threads)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    for (const BenchConfig& c : kConfigs) {
      if (c.layers == 1) {
        benchmark::RegisterBenchmark(
            (std::string("custom/per_gate_lstm/") + c.name + "/training/threads:" + std::to_string(threads)).c_str(),
            run_custom_lstm, c, threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
    const rnnkit::GateActivation hard = rnnkit::GateActivation::hard_sigmoid();
    const std::pair<rnnkit::CellKind, Variant> variants[] = {
        {rnnkit::CellKind::lstm, {"lstm_peepholes", true, true, {}}},
        {rnnkit::CellKind::lstm,
         {"lstm_hard_sigmoid_gate_clip", true, false, {.recurrent_activation = hard, .gate_clip = 3}}},
        {rnnkit::CellKind::lstm, {"lstm_no_bias_cell_clip", false, false, {.cell_clip = 3}}},
        {rnnkit::CellKind::gru, {"gru_reset_before", true, false, {.gru_reset = rnnkit::GruReset::before}}},
        {rnnkit::CellKind::gru, {"gru_no_bias_relu", false, false, {.activation = rnnkit::CellActivation::relu}}},
    };
    for (const auto& [cell, variant] : variants) {
      for (bool training : {false, true}) {
        const std::string name = std::string("variant/") + variant.name + "/B/" +
                                 (training ? "training" : "inference") + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), run_recurrent, cell, kConfigs[1], training, threads, variant)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
    for (rnnkit::CellKind cell : {rnnkit::CellKind::lstm, rnnkit::CellKind::gru}) {
      for (const BenchConfig& c : kConfigs) {
        for (bool training : {false, true}) {
          const std::string name = std::string("recurrent/") + rnnkit::cell_name(cell) + "/" + c.name + "/" +
                                   (training ? "training" : "inference") + "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), run_recurrent, cell, c, training, threads, Variant{"plain"})
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

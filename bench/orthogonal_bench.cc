// Benchmarks of the orthogonal initializer (src/init/orthogonal.h) on square H x H matrices:
// version 1 (unblocked Householder QR, rnnkit 0.1) up to H = 1024, version 2 (blocked) up to
// H = 4096; and version 2 on an LSTM's weight_hh [4H, H] for H = 1024 and 4096. Names:
// orthogonal/v<version>/<H>/threads:<n> and orthogonal/v2/<4H>x<H>/threads:<n>; counter
// `flops` is the nominal count of a Householder QR of [m, n] and the forming of its thin Q,
// 2 (2 m n^2 - 2/3 n^3). Run one alone with --benchmark_filter=orthogonal; not a test.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>

#include "rnnkit/rnnkit.h"

namespace {

void run_orthogonal(benchmark::State& state, int version, int64_t rows, int64_t cols, int threads) {
  rnnkit::set_threads(threads);
  const rnnkit::InitializerPtr init = rnnkit::parse_initializer("orthogonal(version=" + std::to_string(version) + ")");
  rnnkit::InitContext ctx;
  ctx.seed = 1;
  ctx.name = "bench/weight_hh";
  ctx.shape = {rows, cols};
  rnnkit::Tensor<double> out(ctx.shape);
  for (auto _ : state) {
    init->fill(out.view(), ctx);
    benchmark::DoNotOptimize(out.data());
  }
  const double m = static_cast<double>(std::max(rows, cols)), n = static_cast<double>(std::min(rows, cols));
  state.counters["flops"] =
      benchmark::Counter(4.0 * m * n * n - 4.0 / 3.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (int version : {1, 2}) {
    for (int64_t h : {256, 1024, 2048, 4096}) {
      if (version == 1 && h > 1024) continue;  // minutes per iteration beyond
      for (int threads : {1, 2}) {
        if (version == 1 && threads > 1) continue;  // version 1 runs on one thread
        const std::string name =
            "orthogonal/v" + std::to_string(version) + "/" + std::to_string(h) + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), run_orthogonal, version, h, h, threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(h >= 2048 ? 0.01 : 0.5);
      }
    }
  }
  for (int64_t h : {1024, 4096}) {
    for (int threads : {1, 2}) {
      const std::string name =
          "orthogonal/v2/" + std::to_string(4 * h) + "x" + std::to_string(h) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), run_orthogonal, 2, 4 * h, h, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(h >= 2048 ? 0.01 : 0.5);
    }
  }
  return true;
}();

}  // namespace

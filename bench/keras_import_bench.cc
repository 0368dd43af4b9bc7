// Benchmarks of reading a Keras .h5 file with libhdf5 in a separate process (what
// rnnkit::import_keras does; formats/keras_contents.h) against reading it in this process, so that
// the cost of the child (fork, limits, the pipe, decoding) shows. Files: the LSTM fixture
// (11 KiB) and LSTMs of I = H = 128, 512 and 1024 written by export_keras (float32). Names:
// keras_import/<process>/<file>; counter `bytes` is the file's size. Run alone with
// --benchmark_filter=keras_import; not a test.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "formats/keras_contents.h"
#include "rnnkit/rnnkit.h"

namespace {

using rnnkit::detail::Hdf5Process;

// The files exported_lstm wrote, removed when the program ends.
struct ExportedFiles {
  ~ExportedFiles() {
    std::error_code ignored;
    for (const std::string& path : paths) std::filesystem::remove(path, ignored);
  }
  std::vector<std::string> paths;
};
ExportedFiles exported_files;  // NOLINT: one per program, by design

// An LSTM of I = H = `size` exported to Keras in the temp directory, written once per run.
std::string exported_lstm(int64_t size) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("rnnkit-bench-keras-" + std::to_string(getpid()) + "-" + std::to_string(size) + ".h5"))
                               .string();
  if (std::filesystem::exists(path)) return path;
  exported_files.paths.push_back(path);
  rnnkit::RecurrentModel model{rnnkit::VariableStore(1), "lstm", {rnnkit::CellKind::lstm, size, size, 1, false, 0}, {}};
  {
    auto guard = model.store.scope("lstm");
    rnnkit::create_recurrent_variables(model.store, model.spec, {});
  }
  rnnkit::export_keras(model, path);
  return path;
}

void run_import(benchmark::State& state, Hdf5Process process, const std::string& path) {
  for (auto _ : state) {
    rnnkit::RecurrentModel model = rnnkit::detail::import_keras(path, path, {}, process);
    benchmark::DoNotOptimize(model.store.parameter_count());
  }
  state.counters["bytes"] = static_cast<double>(std::filesystem::file_size(path));
}

// Each file (path "": an exported LSTM of the size its name ends with) in each process.
void register_file(const std::string& name, const std::string& fixed_path) {
  for (const Hdf5Process process : {Hdf5Process::separate, Hdf5Process::this_one}) {
    const std::string label = process == Hdf5Process::separate ? "separate" : "this_one";
    benchmark::RegisterBenchmark(("keras_import/" + label + "/" + name).c_str(),
                                 [process, name, fixed_path](benchmark::State& state) {
                                   const std::string path =
                                       !fixed_path.empty() ? fixed_path : exported_lstm(std::stoll(name.substr(5)));
                                   run_import(state, process, path);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

const bool kRegistered = [] {
  register_file("fixture_lstm", std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/keras/lstm.h5");
  for (const char* name : {"lstm_128", "lstm_512", "lstm_1024"}) register_file(name, "");
  return true;
}();

}  // namespace

// PyTorch parity: the fixtures in tests/fixtures/recurrent (written by
// tests/fixtures/make_recurrent_fixtures.py with python3-torch, in float64) against
// rnnkit's layer: outputs, final states, and the gradients of the input, initial states
// and every parameter. CI needs no torch: the fixtures are committed.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/layers/recurrent_layer.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "test_support.h"

namespace rnnkit {
namespace {

// float64 on both sides; only the summation order of the GEMMs differs.
constexpr double kTorchTol64 = 1e-10;
// rnnkit in float32 against PyTorch in float64, values of order 1.
constexpr double kTorchTol32 = 5e-5;

std::vector<std::string> fixture_files() {
  std::vector<std::string> files;
  const std::filesystem::path dir = std::filesystem::path(RNNKIT_SOURCE_DIR) / "tests/fixtures/recurrent";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct Fixture {
  SafetensorsFile file;
  RecurrentSpec spec;
  RecurrentLayerOptions options;
  Tensor<double> get(const std::string& name) const { return file.to_double(file.at(name)); }
  bool has(const std::string& name) const { return file.find(name) != nullptr; }
};

Fixture load(const std::string& path) {
  Fixture f{SafetensorsFile::read(path), {}, {}};
  const nlohmann::json config = nlohmann::json::parse(f.file.metadata().at("config"));
  f.spec = RecurrentSpec::from_json(config.dump());
  f.options.batch_first = config.at("batch_first").get<bool>();
  return f;
}

std::vector<int64_t> lengths_of(const Fixture& f) {
  std::vector<int64_t> lengths;
  if (!f.has("lengths")) return lengths;
  const Tensor<double> values = f.get("lengths");
  for (double x : values.storage()) lengths.push_back(static_cast<int64_t>(x));
  return lengths;
}

template <class T>
VariableStore store_for(const Fixture& f) {
  VariableStore store(0, DTypeOf<T>::value);
  {
    auto scope = store.scope("rnn");
    create_recurrent_variables(store, f.spec);
  }
  const RestoreReport report = restore_checkpoint(store, f.file, {.include = {"rnn/**"}});  // strict
  EXPECT_EQ(report.loaded.size(), store.variables().size());
  return store;
}

// Fails on NaN too (test::max_abs_difference keeps it).
void expect_close(const Tensor<double>& expected, const double* got, int64_t n, double tol, const std::string& what) {
  ASSERT_EQ(expected.numel(), n) << what;
  const double worst = test::max_abs_difference(expected.data(), got, n);
  EXPECT_LE(worst, tol) << what << ": largest difference " << worst;
}

TEST(PytorchParity, FixturesExist) {
  EXPECT_GE(fixture_files().size(), 13u);
  int without_bias = 0;
  for (const std::string& path : fixture_files()) without_bias += load(path).spec.bias ? 0 : 1;
  EXPECT_EQ(without_bias, 4);  // nn.LSTM / GRU / RNN(bias=False)
}

TEST(PytorchParity, Float64ForwardAndGradients) {
  for (const std::string& path : fixture_files()) {
    SCOPED_TRACE(path);
    const Fixture f = load(path);
    VariableStore store = store_for<double>(f);
    RecurrentLayer<double> layer(store, "rnn", f.spec, f.options);
    const std::vector<int64_t> lengths = lengths_of(f);
    const Tensor<double> input = f.get("input");
    const Tensor<double> h0 = f.has("h0") ? f.get("h0") : Tensor<double>();
    const Tensor<double> c0 = f.has("c0") ? f.get("c0") : Tensor<double>();
    auto view = [](const Tensor<double>& t) { return t.numel() ? t.view() : TensorView<const double>(); };
    const auto y = layer.forward(input.view(), lengths, view(h0), view(c0));
    expect_close(f.get("output"), y.output.data(), y.output.numel(), kTorchTol64, "output");
    expect_close(f.get("h_n"), y.h_n.data(), y.h_n.numel(), kTorchTol64, "h_n");
    if (f.has("c_n")) expect_close(f.get("c_n"), y.c_n.data(), y.c_n.numel(), kTorchTol64, "c_n");

    store.zero_grad();
    const Tensor<double> r_out = f.get("r_output"), r_h = f.get("r_h_n");
    const Tensor<double> r_c = f.has("r_c_n") ? f.get("r_c_n") : Tensor<double>();
    const auto g = layer.backward(r_out.view(), r_h.view(), view(r_c));
    expect_close(f.get("grad/input"), g.d_input.data(), g.d_input.numel(), kTorchTol64, "grad/input");
    if (f.has("grad/h0")) expect_close(f.get("grad/h0"), g.d_h0.data(), g.d_h0.numel(), kTorchTol64, "grad/h0");
    if (f.has("grad/c0")) expect_close(f.get("grad/c0"), g.d_c0.data(), g.d_c0.numel(), kTorchTol64, "grad/c0");
    for (const Variable& v : store.variables()) {
      expect_close(f.get("grad/" + v.name), store.grad<double>(v).data(), v.numel, kTorchTol64, "grad/" + v.name);
    }
  }
}

TEST(PytorchParity, Float32Forward) {
  for (const std::string& path : fixture_files()) {
    SCOPED_TRACE(path);
    const Fixture f = load(path);
    VariableStore store = store_for<float>(f);
    RecurrentLayer<float> layer(store, "rnn", f.spec, f.options);
    auto narrow = [](const Tensor<double>& t) {
      Tensor<float> out(t.shape());
      for (int64_t i = 0; i < t.numel(); ++i) out[i] = static_cast<float>(t[i]);
      return out;
    };
    const std::vector<int64_t> lengths = lengths_of(f);
    const Tensor<float> input = narrow(f.get("input"));
    const Tensor<float> h0 = f.has("h0") ? narrow(f.get("h0")) : Tensor<float>();
    const Tensor<float> c0 = f.has("c0") ? narrow(f.get("c0")) : Tensor<float>();
    auto view = [](const Tensor<float>& t) { return t.numel() ? t.view() : TensorView<const float>(); };
    const auto y = layer.forward(input.view(), lengths, view(h0), view(c0));
    std::vector<double> out(y.output.storage().begin(), y.output.storage().end());
    expect_close(f.get("output"), out.data(), y.output.numel(), kTorchTol32, "output");
  }
}

}  // namespace
}  // namespace rnnkit

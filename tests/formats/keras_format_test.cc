// Keras 2 HDF5 weights: imported models compute what Keras' equations compute (fixtures from
// an independent numpy implementation), export writes Keras' layout back exactly, and bad
// files and choices get errors that name them.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/formats/keras.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;
using test::TempDir;

std::string fixture(const std::string& name) {
  return std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/keras/" + name;
}

struct Case {
  const char* name;
  RecurrentSpec spec;
  GruReset reset;
  KerasImportOptions options = {};  // what the weights do not say: the activations
};

std::vector<Case> cases() {
  const GateActivation keras2_hard = GateActivation::hard_sigmoid(0.2, 0.5);
  return {
      {"lstm", {CellKind::lstm, 3, 5, 1, false, 0}, GruReset::after},
      {"gru_bi", {CellKind::gru, 3, 5, 1, true, 0}, GruReset::after},
      {"gru_reset_before_2layers", {CellKind::gru, 3, 5, 2, false, 0}, GruReset::before},
      {"simple_rnn", {CellKind::rnn_tanh, 3, 5, 1, false, 0}, GruReset::after},
      {"model_lstm_bi_2layers_dense", {CellKind::lstm, 3, 5, 2, true, 0}, GruReset::after},
      {"lstm_no_bias_hard_sigmoid",
       {CellKind::lstm, 3, 5, 1, false, 0, false},
       GruReset::after,
       {.recurrent_activation = keras2_hard}},
      {"gru_no_bias_bi_relu",
       {CellKind::gru, 3, 5, 1, true, 0, false},
       GruReset::after,
       {.activation = CellActivation::relu, .gru_reset = GruReset::after}},
      {"gru_reset_before_hard_sigmoid_2layers",
       {CellKind::gru, 3, 5, 2, false, 0},
       GruReset::before,
       {.recurrent_activation = keras2_hard}},
  };
}

TEST(KerasFormat, ImportedLayersComputeKerasOutputs) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    RecurrentModel model = import_keras(fixture(std::string(c.name) + ".h5"), c.options);
    EXPECT_EQ(model.spec.to_json(), c.spec.to_json());
    EXPECT_EQ(model.options.cell.gru_reset, c.reset);
    EXPECT_EQ(model.store.dtype(), DType::f32);
    const SafetensorsFile io = SafetensorsFile::read(fixture(std::string(c.name) + ".io.safetensors"));
    RecurrentLayer<float> layer(model.store, model.scope, model.spec, model.options);
    const Tensor<float> x = io.to_float(io.at("input"));
    const RecurrentResult<float> y = layer.forward(x.view());
    auto said = [&](const char* key, const char* before) {  // fixtures older than the key used the defaults
      const auto it = io.metadata().find(key);
      return it == io.metadata().end() ? std::string(before) : it->second;
    };
    EXPECT_EQ(said("recurrent_activation", "sigmoid"),
              c.options.recurrent_activation.is_sigmoid() ? "sigmoid" : "hard_sigmoid");
    EXPECT_EQ(said("activation", "tanh"), cell_activation_name(c.options.activation));
    auto compare = [&](const char* name, const Tensor<float>& got) {
      const Tensor<double> want = io.to_double(io.at(name));
      ASSERT_EQ(got.shape(), want.shape()) << name;
      // float32 weights; numpy computed in float64, rnnkit in float32.
      EXPECT_LE(test::max_abs_difference(got.data(), want.data(), got.numel()), 2e-6) << name;
    };
    compare("output", y.output);
    compare("h_n", y.h_n);
    if (io.find("c_n") != nullptr) compare("c_n", y.c_n);
  }
}

TEST(KerasFormat, ImportThenExportWritesTheSourceWeightsExactly) {
  TempDir dir;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const std::string source = fixture(std::string(c.name) + ".h5");
    const RecurrentModel model = import_keras(source, c.options);
    export_keras(model, dir.file("out.h5"));
    const auto original = read_keras_weights(source);
    const auto exported = read_keras_weights(dir.file("out.h5"));
    std::size_t recurrent = 0;
    for (const auto& [name, values] : original) {
      if (name.rfind("dense/", 0) == 0) continue;  // not a recurrent layer: not exported
      ++recurrent;
      const auto it = exported.find(name);
      ASSERT_NE(it, exported.end()) << name;
      ASSERT_EQ(it->second.shape(), values.shape()) << name;
      EXPECT_EQ(std::memcmp(it->second.storage().data(), values.storage().data(), values.numel() * sizeof(double)), 0)
          << name;
    }
    EXPECT_EQ(exported.size(), recurrent);
    // And export then import gives back the model's variables bit for bit.
    const RecurrentModel again = import_keras(dir.file("out.h5"), c.options);
    for (const Variable& v : model.store.variables()) {
      const auto a = model.store.value<float>(v);
      const auto b = again.store.value<float>(again.store.at(v.name));
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)), 0) << v.name;
    }
  }
}

TEST(KerasFormat, LayersAreChosenByNameAndRecordTheirSource) {
  KerasImportOptions options;
  options.layers = {"bidirectional_1"};
  options.scope = "encoder";
  const RecurrentModel model = import_keras(fixture("model_lstm_bi_2layers_dense.h5"), options);
  EXPECT_EQ(model.spec.num_layers, 1);
  EXPECT_EQ(model.spec.input_size, 10);  // the first layer's two directions
  EXPECT_EQ(model.store.at("encoder/l0/bw/weight_hh").source,
            "keras " + fixture("model_lstm_bi_2layers_dense.h5") +
                ":bidirectional_1/bidirectional_1/backward_lstm_1/lstm_cell/recurrent_kernel:0");
}

TEST(KerasFormat, BadFilesAndChoicesAreNamed) {
  TempDir dir;
  std::ofstream(dir.file("text.h5")) << "not hdf5";
  EXPECT_NE(error_of([&] { import_keras(dir.file("text.h5")); }).find("not an HDF5 file"), std::string::npos);
  KerasImportOptions dense;
  dense.layers = {"dense"};
  EXPECT_NE(error_of([&] {
              import_keras(fixture("model_lstm_bi_2layers_dense.h5"), dense);
            }).find("no recurrent layer 'dense'; its recurrent layers are bidirectional, bidirectional_1"),
            std::string::npos);
  KerasImportOptions relu;
  relu.rnn_nonlinearity = CellKind::rnn_relu;
  EXPECT_NE(error_of([&] { import_keras(fixture("lstm.h5"), relu); }).find("only SimpleRNN has tanh or relu"),
            std::string::npos);
  KerasImportOptions mixed;
  mixed.layers = {"bidirectional_1", "bidirectional"};  // the second does not take 10 inputs
  EXPECT_NE(error_of([&] { import_keras(fixture("model_lstm_bi_2layers_dense.h5"), mixed); }).find("does not stack on"),
            std::string::npos);
  // A GRU without biases does not show its reset form; one with biases must not be told another.
  EXPECT_NE(error_of([&] {
              import_keras(fixture("gru_no_bias_bi_relu.h5"));
            }).find("a GRU without biases (use_bias=False) does not show its reset form"),
            std::string::npos);
  KerasImportOptions before;
  before.gru_reset = GruReset::before;
  EXPECT_NE(error_of([&] {
              import_keras(fixture("gru_bi.h5"), before);
            }).find("the GRU's bias has shape [2,15] (reset after), but reset before was given"),
            std::string::npos);
  KerasImportOptions hard;
  hard.recurrent_activation = GateActivation::hard_sigmoid();
  EXPECT_NE(error_of([&] { import_keras(fixture("simple_rnn.h5"), hard); }).find("a SimpleRNN has no gates"),
            std::string::npos);
  // What Keras' layers cannot compute is not exported.
  RecurrentModel clipped = import_keras(fixture("lstm.h5"));
  clipped.options.cell.cell_clip = 2.0;
  EXPECT_NE(error_of([&] {
              export_keras(clipped, dir.file("x.h5"));
            }).find("has a cell clip, which Keras' recurrent layers cannot compute"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

TEST(KerasFormat, TheCommandLineImportsExportsAndInspectShowsTheOrigin) {
  TempDir dir;
  const std::string source = fixture("gru_reset_before_2layers.h5");
  const auto imported = test::run_cli("import --from keras --scope enc " + source + " -o " + dir.file("m.safetensors"));
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  const auto table = test::run_cli("inspect " + dir.file("m.safetensors"));
  EXPECT_NE(table.output.find("from keras " + source + ":gru_1/gru_1/gru_cell/recurrent_kernel:0"), std::string::npos)
      << table.output;
  EXPECT_NE(table.output.find("\"format\":\"keras\""), std::string::npos);
  const auto exported = test::run_cli("export --to keras " + dir.file("m.safetensors") + " -o " + dir.file("back.h5"));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const auto back = read_keras_weights(dir.file("back.h5"));
  const auto original = read_keras_weights(source);
  ASSERT_EQ(back.size(), original.size());
  for (const auto& [name, values] : original) EXPECT_EQ(back.at(name).storage(), values.storage()) << name;
  const auto bad = test::run_cli("import --from keras --prefix x. " + source + " -o " + dir.file("x.safetensors"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

}  // namespace
}  // namespace rnnkit

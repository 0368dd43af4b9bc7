// PyTorch state_dicts (tests/fixtures/pytorch, written by make_recurrent_fixtures.py from
// real nn.LSTM / nn.GRU / nn.RNN modules): the architecture inferred from names and shapes,
// the imported layer computing PyTorch's outputs, export giving back the exact tensors, and
// named errors for what is not a recurrent state_dict.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "formats/fixture_outputs.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/pytorch.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;

std::string fixture(const std::string& name) {
  return (std::filesystem::path(RNNKIT_SOURCE_DIR) / "tests/fixtures/pytorch" / name).string();
}

struct Case {
  const char* name;
  PytorchImportOptions options;
  RecurrentSpec expected;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"encoder_lstm_proj_bi_2layers", {.prefix = "encoder.rnn."}, {CellKind::lstm, 3, 5, 2, true, 2}},
      {"gru_bi", {}, {CellKind::gru, 3, 5, 1, true, 0}},
      {"rnn_relu_2layers", {.rnn_nonlinearity = CellKind::rnn_relu}, {CellKind::rnn_relu, 3, 5, 2, false, 0}},
      {"lstm_float64", {.scope = "pretrained/lstm"}, {CellKind::lstm, 3, 5, 1, false, 0}},
      // nn.LSTM(..., bias=False), nn.GRU(..., bias=False): no bias tensors
      {"lstm_no_bias_bi_2layers", {}, {CellKind::lstm, 3, 5, 2, true, 0, false}},
      {"gru_no_bias", {.prefix = "encoder.rnn."}, {CellKind::gru, 3, 5, 1, false, 0, false}},
  };
  return all;
}

TEST(PytorchFormat, ImportInfersTheArchitectureAndComputesPytorchsOutputs) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const SafetensorsFile file = SafetensorsFile::read(fixture(std::string(c.name) + ".safetensors"));
    const RecurrentSpec spec = infer_pytorch_recurrent_spec(file, c.options);
    EXPECT_EQ(spec.to_json(), c.expected.to_json());
    RecurrentModel model = import_pytorch(file, c.options);
    EXPECT_EQ(model.scope, c.options.scope.empty() ? cell_name(spec.cell) : c.options.scope);
    const SafetensorsFile io = SafetensorsFile::read(fixture(std::string(c.name) + ".io.safetensors"));
    if (model.store.dtype() == DType::f64) {
      test::expect_forward_matches<double>(model, io, 1e-12);  // PyTorch computed in float64 too
    } else {
      test::expect_forward_matches<float>(model, io, 1e-5);  // both float32, different summation orders
    }
    const Variable& w = model.store.at(model.scope + "/l0/fw/weight_hh");
    EXPECT_EQ(w.source, "pytorch " + file.origin() + ":" + c.options.prefix + "weight_hh_l0");
  }
}

TEST(PytorchFormat, ExportGivesBackTheOriginalTensorsBitForBit) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const SafetensorsFile file = SafetensorsFile::read(fixture(std::string(c.name) + ".safetensors"));
    const RecurrentModel model = import_pytorch(file, c.options);
    const std::vector<SafetensorsTensor> exported = export_pytorch(model, c.options.prefix);
    std::size_t recurrent_tensors = 0;
    for (const SafetensorsEntry& e : file.entries())
      recurrent_tensors += e.name.rfind(c.options.prefix, 0) == 0 ? 1 : 0;
    EXPECT_EQ(exported.size(), recurrent_tensors);
    for (const SafetensorsTensor& t : exported) {
      const SafetensorsEntry& original = file.at(t.name);
      EXPECT_EQ(t.dtype, original.dtype) << t.name;
      EXPECT_EQ(t.shape, original.shape) << t.name;
      const std::span<const std::byte> bytes = file.bytes(original);
      ASSERT_EQ(t.data.size(), bytes.size()) << t.name;
      EXPECT_EQ(std::memcmp(t.data.data(), bytes.data(), bytes.size()), 0) << t.name;
    }
  }
}

// A copy of a fixture's tensors with some dropped, renamed or replaced.
std::string altered(const test::TempDir& dir, const std::string& fixture_name,
                    const std::function<bool(std::string&, Tensor<float>&)>& edit) {
  const SafetensorsFile file = SafetensorsFile::read(fixture(fixture_name + ".safetensors"));
  std::vector<std::string> names;
  std::vector<Tensor<float>> values;
  for (const SafetensorsEntry& e : file.entries()) {
    std::string name = e.name;
    Tensor<float> value = file.to_float(e);
    if (edit(name, value)) {
      names.push_back(name);
      values.push_back(std::move(value));
    }
  }
  std::vector<SafetensorsTensor> tensors;
  for (std::size_t i = 0; i < names.size(); ++i) tensors.push_back(safetensors_tensor(names[i], values[i].view()));
  const std::string path = dir.file("altered.safetensors");
  write_safetensors(path, tensors, {});
  return path;
}

TEST(PytorchFormat, WhatIsNotARecurrentStateDictIsNamed) {
  test::TempDir dir;
  auto import_error = [](const std::string& path, PytorchImportOptions options = {}) {
    return error_of([&] { import_pytorch(SafetensorsFile::read(path), options); });
  };
  const std::string prefixed = fixture("encoder_lstm_proj_bi_2layers.safetensors");
  EXPECT_NE(import_error(prefixed).find("the tensors are under prefix 'encoder.rnn.': pass --prefix encoder.rnn."),
            std::string::npos);
  EXPECT_NE(import_error(fixture("gru_bi.safetensors"), {.rnn_nonlinearity = CellKind::rnn_relu})
                .find("a nonlinearity was given, but the module is an gru"),
            std::string::npos);
  const std::string missing =
      altered(dir, "gru_bi", [](std::string& name, Tensor<float>&) { return name != "bias_hh_l0_reverse"; });
  EXPECT_NE(import_error(missing).find("missing tensor 'bias_hh_l0_reverse'"), std::string::npos);
  const std::string stranger = altered(dir, "gru_bi", [](std::string& name, Tensor<float>&) {
    if (name == "bias_hh_l0") name = "bias_hh_l0_extra";
    return true;
  });
  EXPECT_NE(import_error(stranger).find("'bias_hh_l0_extra' is not a parameter of nn.LSTM, nn.GRU or nn.RNN"),
            std::string::npos);
  const std::string misshapen = altered(dir, "gru_bi", [](std::string& name, Tensor<float>& t) {
    if (name == "weight_ih_l0_reverse") t = Tensor<float>({15, 4});
    return true;
  });
  EXPECT_NE(import_error(misshapen).find("'weight_ih_l0_reverse' has shape [15,4], expected [15,3]"),
            std::string::npos);
  const std::string two_gates = altered(dir, "rnn_relu_2layers", [](std::string& name, Tensor<float>& t) {
    if (name.rfind("weight_hh_l0", 0) == 0) t = Tensor<float>({10, 5});
    return true;
  });
  EXPECT_NE(import_error(two_gates).find("2 gate blocks of H=5, expected 4 (LSTM), 3 (GRU) or 1 (RNN)"),
            std::string::npos);
  const std::string orphan = altered(dir, "gru_bi", [](std::string& name, Tensor<float>&) {
    if (name == "bias_hh_l0") name = "bias_hh_l1";  // half a second layer
    return true;
  });
  EXPECT_NE(import_error(orphan).find("missing tensor 'bias_hh_l0'"), std::string::npos);
  const std::string gap = altered(dir, "rnn_relu_2layers", [](std::string& name, Tensor<float>&) {
    if (name.find("_l1") != std::string::npos) name.replace(name.find("_l1"), 3, "_l2");
    return true;
  });
  EXPECT_NE(import_error(gap).find("missing tensor 'weight_ih_l1'"), std::string::npos);
  const std::string half_biased =
      altered(dir, "lstm_no_bias_bi_2layers", [](std::string&, Tensor<float>&) { return true; });
  {  // layer 1 with biases where layer 0 has none
    const SafetensorsFile file = SafetensorsFile::read(half_biased);
    std::vector<Tensor<float>> values;
    std::vector<SafetensorsTensor> tensors;
    for (const SafetensorsEntry& e : file.entries()) values.push_back(file.to_float(e));
    values.emplace_back(Shape{20});
    for (std::size_t i = 0; i < file.entries().size(); ++i)
      tensors.push_back(safetensors_tensor(file.entries()[i].name, values[i].view()));
    tensors.push_back(safetensors_tensor("bias_ih_l1", values.back().view()));
    write_safetensors(dir.file("half.safetensors"), tensors, {});
  }
  EXPECT_NE(
      import_error(dir.file("half.safetensors")).find("'bias_ih_l1' is a bias, but layer 0 has none (bias=False)"),
      std::string::npos);
}

TEST(PytorchFormat, ExportRefusesWhatPytorchCannotExpress) {
  const SafetensorsFile file = SafetensorsFile::read(fixture("gru_bi.safetensors"));
  RecurrentModel model = import_pytorch(file, {});
  model.options.cell.gru_reset = GruReset::before;
  EXPECT_NE(error_of([&] { export_pytorch(model, ""); }).find("PyTorch's nn.GRU applies it after"), std::string::npos);
  model.options.cell.gru_reset = GruReset::after;
  model.options.merge = BidirectionalMerge::sum;
  EXPECT_NE(error_of([&] { export_pytorch(model, ""); }).find("merges its directions by sum"), std::string::npos);
  model.options.merge = BidirectionalMerge::concat;
  model.options.cell.recurrent_activation = GateActivation::hard_sigmoid();
  EXPECT_NE(
      error_of([&] {
        export_pytorch(model, "");
      }).find("has recurrent_activation hard_sigmoid(alpha=0.2, beta=0.5), which nn.LSTM / nn.GRU / nn.RNN cannot"),
      std::string::npos);
  model.options.cell = {.gate_clip = 3.0};
  EXPECT_NE(error_of([&] { export_pytorch(model, ""); }).find("has a gate clip"), std::string::npos);
  EXPECT_EQ(pytorch_parameter_name("weight_hr", 2, true), "weight_hr_l2_reverse");
}

}  // namespace
}  // namespace rnnkit

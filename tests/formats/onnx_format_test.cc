// ONNX: models PyTorch exported import and compute PyTorch's outputs; export passes the ONNX
// checker, imports back bit for bit and writes the source's W, R, B values; unsupported
// attributes are errors that name the node and the attribute.
#include "rnnkit/formats/onnx.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "rnnkit/checkpoint/safetensors.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;
using test::TempDir;

std::string fixture(const std::string& name) { return std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/onnx/" + name; }

onnx::ModelProto load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromIstream(&in)) << path;
  return m;
}

void save(const onnx::ModelProto& m, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  m.SerializeToOstream(&out);
}

// The float values of each recurrent node's W, R, B, in node order.
std::vector<std::vector<float>> recurrent_weights(const onnx::ModelProto& m) {
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : m.graph().initializer()) inits[t.name()] = &t;
  std::vector<std::vector<float>> out;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "LSTM" && n.op_type() != "GRU" && n.op_type() != "RNN") continue;
    for (int i = 1; i <= 3; ++i) {
      const std::string& raw = inits.at(n.input(i))->raw_data();
      std::vector<float> v(raw.size() / 4);
      std::memcpy(v.data(), raw.data(), raw.size());
      out.push_back(v);
    }
  }
  return out;
}

const char* const kFixtures[] = {"lstm_bi_2layers", "gru_bi_2layers", "rnn_relu_bi_2layers"};

TEST(OnnxFormat, PytorchExportsImportAndComputePytorchsOutputs) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    RecurrentModel model = import_onnx(fixture(std::string(name) + ".onnx"));
    EXPECT_EQ(model.spec.num_layers, 2);
    EXPECT_TRUE(model.spec.bidirectional);
    EXPECT_EQ(model.options.cell.gru_reset, GruReset::after);  // PyTorch writes linear_before_reset = 1
    const SafetensorsFile io = SafetensorsFile::read(fixture(std::string(name) + ".io.safetensors"));
    RecurrentLayer<float> layer(model.store, model.scope, model.spec, model.options);
    const Tensor<float> x = io.to_float(io.at("input"));
    const RecurrentResult<float> y = layer.forward(x.view());
    auto compare = [&](const char* what, const Tensor<float>& got) {
      const Tensor<double> want = io.to_double(io.at(what));
      ASSERT_EQ(got.shape(), want.shape()) << what;
      for (int64_t i = 0; i < got.numel(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << what << " " << i;
    };
    compare("output", y.output);
    compare("h_n", y.h_n);
    if (io.find("c_n") != nullptr) compare("c_n", y.c_n);
  }
  EXPECT_EQ(import_onnx(fixture("rnn_relu_bi_2layers.onnx")).spec.cell, CellKind::rnn_relu);
}

TEST(OnnxFormat, ExportPassesTheCheckerAndGivesBackTheWeights) {
  TempDir dir;
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const std::string source = fixture(std::string(name) + ".onnx");
    const RecurrentModel model = import_onnx(source);
    export_onnx(model, dir.file("out.onnx"));
    EXPECT_EQ(error_of([&] { check_onnx_model(dir.file("out.onnx")); }), "");
    EXPECT_EQ(recurrent_weights(load(dir.file("out.onnx"))), recurrent_weights(load(source)));
    const RecurrentModel again = import_onnx(dir.file("out.onnx"));
    for (const Variable& v : model.store.variables()) {
      const auto a = model.store.value<float>(v);
      const auto b = again.store.value<float>(again.store.at(v.name));
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)), 0) << v.name;
    }
  }
}

TEST(OnnxFormat, UnsupportedAttributesNameTheNodeAndTheAttribute) {
  TempDir dir;
  struct Case {
    const char* attribute;
    const char* expected;
  };
  for (const Case& c : {Case{"clip", "attribute clip is not supported (cell clipping)"},
                        Case{"input_forget", "attribute input_forget is not supported"},
                        Case{"layout", "attribute layout is not supported (batch-first layout 1)"},
                        Case{"activation_alpha", "attribute activation_alpha is not supported"}}) {
    onnx::ModelProto m = load(fixture("lstm_bi_2layers.onnx"));
    for (auto& n : *m.mutable_graph()->mutable_node()) {
      if (n.op_type() != "LSTM") continue;
      auto* a = n.add_attribute();
      a->set_name(c.attribute);
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(1);
      break;
    }
    save(m, dir.file("bad.onnx"));
    const std::string message = error_of([&] { import_onnx(dir.file("bad.onnx")); });
    EXPECT_NE(message.find("node '/LSTM': " + std::string(c.expected)), std::string::npos) << message;
  }
  onnx::ModelProto reverse = load(fixture("gru_bi_2layers.onnx"));
  for (auto& n : *reverse.mutable_graph()->mutable_node()) {
    for (auto& a : *n.mutable_attribute()) {
      if (a.name() == "direction") a.set_s("reverse");
    }
  }
  save(reverse, dir.file("reverse.onnx"));
  EXPECT_NE(error_of([&] { import_onnx(dir.file("reverse.onnx")); }).find("direction 'reverse' is not supported"),
            std::string::npos);
  std::ofstream(dir.file("text.onnx")) << "definitely not protobuf";
  EXPECT_NE(error_of([&] { import_onnx(dir.file("text.onnx")); }).find("not an ONNX model"), std::string::npos);
  OnnxImportOptions missing;
  missing.nodes = {"nope"};
  EXPECT_NE(error_of([&] { import_onnx(fixture("gru_bi_2layers.onnx"), missing); })
                .find("no LSTM, GRU or RNN node named 'nope'; its recurrent nodes are '/GRU', '/GRU_1'"),
            std::string::npos);
}

TEST(OnnxFormat, TheDefaultGruOfOnnxResetsBeforeTheProduct) {
  TempDir dir;
  onnx::ModelProto m = load(fixture("gru_bi_2layers.onnx"));
  for (auto& n : *m.mutable_graph()->mutable_node()) {
    auto* attrs = n.mutable_attribute();
    for (int i = 0; i < attrs->size(); ++i) {
      if (attrs->Get(i).name() == "linear_before_reset") {
        attrs->DeleteSubrange(i, 1);
        break;
      }
    }
  }
  save(m, dir.file("before.onnx"));
  const RecurrentModel model = import_onnx(dir.file("before.onnx"));
  EXPECT_EQ(model.options.cell.gru_reset, GruReset::before);
  export_onnx(model, dir.file("out.onnx"));
  EXPECT_EQ(import_onnx(dir.file("out.onnx")).options.cell.gru_reset, GruReset::before);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// Exporters also write weights as Constant nodes instead of initializers: the same model
// with every initializer moved into a Constant node imports to the same bits.
TEST(OnnxFormat, WeightsInConstantNodesImportLikeInitializers) {
  TempDir dir;
  onnx::ModelProto m = load(fixture("lstm_bi_2layers.onnx"));
  onnx::GraphProto& g = *m.mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (const onnx::TensorProto& t : g.initializer()) {
    onnx::NodeProto* c = nodes.Add();
    c->set_op_type("Constant");
    c->add_output(t.name());
    onnx::AttributeProto* value = c->add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::TENSOR);
    *value->mutable_t() = t;
  }
  for (const onnx::NodeProto& n : g.node()) *nodes.Add() = n;
  g.clear_initializer();
  *g.mutable_node() = nodes;
  save(m, dir.file("constants.onnx"));
  const RecurrentModel a = import_onnx(fixture("lstm_bi_2layers.onnx"));
  const RecurrentModel b = import_onnx(dir.file("constants.onnx"));
  for (const Variable& v : a.store.variables()) {
    const auto x = a.store.value<float>(v);
    const auto y = b.store.value<float>(b.store.at(v.name));
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.numel() * sizeof(float)), 0) << v.name;
  }
}

}  // namespace
}  // namespace rnnkit

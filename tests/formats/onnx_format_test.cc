// ONNX: models PyTorch exported import and compute PyTorch's outputs; export passes the ONNX
// checker, imports back bit for bit and writes the source's W, R, B values; unsupported
// attributes are errors that name the node and the attribute.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/formats/onnx.h"
#include "rnnkit/layers/recurrent_variables.h"
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
  for (const Case& c :
       {Case{"input_forget", "attribute input_forget is not supported (input and forget gates coupled)"},
        Case{"layout", "attribute layout is not supported (batch-first layout 1)"}}) {
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
  // Activations rnnkit does not compute, or not in that place, or not the same per direction.
  for (const auto& [functions, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"Sigmoid", "Tanh", "Tanh", "LeakyRelu", "Tanh", "Tanh"},
            "activation LeakyRelu as f (the gates) is not supported"},
           {{"Sigmoid", "HardSigmoid", "Tanh", "Sigmoid", "Tanh", "Tanh"},
            "activation HardSigmoid as g or h is not supported"},
           {{"Sigmoid", "Tanh", "Relu", "Sigmoid", "Tanh", "Relu"}, "activations Relu and Tanh differ"},
           {{"Sigmoid", "Tanh", "Tanh"},
            "attribute activations has 3 functions, expected 6 (f, g, h per direction)"}}) {
    onnx::ModelProto m = load(fixture("lstm_bi_2layers.onnx"));
    for (auto& n : *m.mutable_graph()->mutable_node()) {
      if (n.op_type() != "LSTM") continue;
      auto* a = n.add_attribute();
      a->set_name("activations");
      a->set_type(onnx::AttributeProto::STRINGS);
      for (const std::string& f : functions) a->add_strings(f);
      break;
    }
    save(m, dir.file("bad.onnx"));
    const std::string message = error_of([&] { import_onnx(dir.file("bad.onnx")); });
    EXPECT_NE(message.find("node '/LSTM': " + expected), std::string::npos) << message;
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
  EXPECT_NE(error_of([&] {
              import_onnx(fixture("gru_bi_2layers.onnx"), missing);
            }).find("no LSTM, GRU or RNN node named 'nope'; its recurrent nodes are '/GRU', '/GRU_1'"),
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

namespace rnnkit {
namespace {

// A peephole LSTM without biases, with HardSigmoid gates and a clip, exported: P in ONNX's order
// (i, o, f) at input 7, no B, the activations with their alpha and beta, clip; imported back to
// the same spec, options and bits. (ONNX Runtime runs these exports: tests/interop/onnxruntime_test.js.)
TEST(OnnxFormat, PeepholesClipActivationsAndNoBiasAreWrittenAsOnnxHasThem) {
  TempDir dir;
  RecurrentModel model{VariableStore(3),
                       "enc",
                       {.cell = CellKind::lstm,
                        .input_size = 2,
                        .hidden_size = 3,
                        .bidirectional = true,
                        .bias = false,
                        .peepholes = true},
                       {.cell = {.recurrent_activation = GateActivation::hard_sigmoid(0.25, 0.4),
                                 .activation = CellActivation::relu,
                                 .gate_clip = 2.5}}};
  {
    auto scope = model.store.scope("enc");
    create_recurrent_variables(model.store, model.spec);
  }
  // Label the backward peepholes: rows i, f, o = 10s, 20s, 30s.
  const TensorView<float> p = model.store.value<float>(model.store.at("enc/l0/bw/weight_peephole"));
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t j = 0; j < 3; ++j) p[r * 3 + j] = static_cast<float>(10 * (r + 1) + j);
  }
  export_onnx(model, dir.file("m.onnx"));
  EXPECT_EQ(error_of([&] { check_onnx_model(dir.file("m.onnx")); }), "");
  const onnx::ModelProto m = load(dir.file("m.onnx"));
  const onnx::NodeProto* lstm = nullptr;
  for (const auto& n : m.graph().node()) lstm = n.op_type() == "LSTM" ? &n : lstm;
  ASSERT_NE(lstm, nullptr);
  ASSERT_EQ(lstm->input_size(), 8);
  EXPECT_EQ(lstm->input(3), "");  // no B
  std::map<std::string, const onnx::AttributeProto*> attributes;
  for (const auto& a : lstm->attribute()) attributes[a.name()] = &a;
  ASSERT_EQ(attributes.count("activations"), 1u);
  const std::vector<std::string> functions(attributes["activations"]->strings().begin(),
                                           attributes["activations"]->strings().end());
  EXPECT_EQ(functions, (std::vector<std::string>{"HardSigmoid", "Relu", "Relu", "HardSigmoid", "Relu", "Relu"}));
  EXPECT_EQ(std::vector<float>(attributes["activation_alpha"]->floats().begin(),
                               attributes["activation_alpha"]->floats().end()),
            (std::vector<float>{0.25f, 0.25f}));
  EXPECT_EQ(std::vector<float>(attributes["activation_beta"]->floats().begin(),
                               attributes["activation_beta"]->floats().end()),
            (std::vector<float>{0.4f, 0.4f}));
  EXPECT_EQ(attributes["clip"]->f(), 2.5f);
  for (const auto& t : m.graph().initializer()) {
    if (t.name() != lstm->input(7)) continue;
    std::vector<float> values(t.raw_data().size() / 4);
    std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());
    ASSERT_EQ(values.size(), 18u);  // [D=2, 3H]
    EXPECT_EQ(std::vector<float>(values.begin() + 9, values.end()),
              (std::vector<float>{10, 11, 12, 30, 31, 32, 20, 21, 22}));  // backward: i, o, f
  }
  const RecurrentModel back = import_onnx(dir.file("m.onnx"), {.scope = "enc"});
  EXPECT_EQ(back.spec, model.spec);
  EXPECT_EQ(back.options.cell, model.options.cell);
  for (const Variable& v : model.store.variables()) {
    const auto a = model.store.value<float>(v);
    const auto b = back.store.value<float>(back.store.at(v.name));
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)), 0) << v.name;
  }
  EXPECT_NE(back.store.at("enc/l0/bw/weight_peephole").source.find("(i, o, f as i, f, o)"), std::string::npos);
  // What ONNX has no place for.
  RecurrentModel cell_clip = import_onnx(dir.file("m.onnx"));
  cell_clip.options.cell.cell_clip = 1.0;
  EXPECT_NE(error_of([&] { export_onnx(cell_clip, dir.file("x.onnx")); }).find("clips its cell state (cell_clip)"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// A tensor's dims are a claim checked against the values the file holds before allocating
// (dims [1, 20000, 20000] over no data would take 3 GB); data in an external file is refused.
TEST(OnnxFormat, TensorsClaimingMoreThanTheyHoldAreRefused) {
  TempDir dir;
  auto first_lstm_w = [](onnx::ModelProto& m) -> onnx::TensorProto& {
    for (const auto& n : m.graph().node()) {
      if (n.op_type() != "LSTM") continue;
      for (auto& t : *m.mutable_graph()->mutable_initializer()) {
        if (t.name() == n.input(1)) return t;
      }
    }
    throw std::runtime_error("no LSTM W");
  };
  onnx::ModelProto huge = load(fixture("lstm_bi_2layers.onnx"));
  onnx::TensorProto& w = first_lstm_w(huge);
  const std::string name = w.name();
  w.clear_dims();
  for (const int64_t d : {1, 20000, 20000}) w.add_dims(d);
  w.clear_raw_data();
  save(huge, dir.file("huge.onnx"));
  std::string message = error_of([&] { import_onnx(dir.file("huge.onnx")); });
  EXPECT_NE(message.find("tensor '" + name + "' has dims [1,20000,20000] (400000000 values) but holds 0 values"),
            std::string::npos)
      << message;

  onnx::ModelProto overflow = load(fixture("lstm_bi_2layers.onnx"));
  onnx::TensorProto& o = first_lstm_w(overflow);
  o.clear_dims();
  for (const int64_t d : {int64_t{1} << 40, int64_t{1} << 40}) o.add_dims(d);
  save(overflow, dir.file("overflow.onnx"));
  message = error_of([&] { import_onnx(dir.file("overflow.onnx")); });
  EXPECT_NE(message.find("expected non-negative extents of an int64 size"), std::string::npos) << message;

  onnx::ModelProto external = load(fixture("lstm_bi_2layers.onnx"));
  onnx::TensorProto& e = first_lstm_w(external);
  e.clear_raw_data();
  e.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* location = e.add_external_data();
  location->set_key("location");
  location->set_value("../../../../etc/passwd");
  save(external, dir.file("external.onnx"));
  message = error_of([&] { import_onnx(dir.file("external.onnx")); });
  EXPECT_NE(message.find("tensor '" + name + "' keeps its data in an external file"), std::string::npos) << message;

  onnx::ModelProto twice = load(fixture("lstm_bi_2layers.onnx"));
  *twice.mutable_graph()->add_initializer() = first_lstm_w(twice);
  save(twice, dir.file("twice.onnx"));
  message = error_of([&] { import_onnx(dir.file("twice.onnx")); });
  EXPECT_NE(message.find("two initializers are named '" + name + "'"), std::string::npos) << message;
}

}  // namespace
}  // namespace rnnkit

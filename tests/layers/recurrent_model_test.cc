// Recurrent layers as checkpoints: the model description (format version 2) round trip with
// every option; descriptions newer than this rnnkit, or with keys it does not know, refused;
// and checkpoints written by the release before the cell options (tests/fixtures/legacy,
// written by rnnkit 0.1.0 at commit 8a6407b with tests/fixtures/legacy/make_inputs.py) loading
// unchanged and computing what that release computed.
#include "rnnkit/layers/recurrent_model.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;

std::string legacy(const std::string& name) {
  return (std::filesystem::path(RNNKIT_SOURCE_DIR) / "tests/fixtures/legacy" / name).string();
}

// The old release's forward outputs, recomputed in float32. On the CPU that wrote them (an
// AVX-512 Xeon) they agree bit for bit; another CPU's sgemm kernels round in other places.
constexpr double kOldRelease32 = 2e-6;

TEST(RecurrentModel, CheckpointsOfTheReleaseBeforeLoadAndComputeWhatItComputed) {
  struct Legacy {
    const char* model;
    const char* io;
    RecurrentSpec spec;
    RecurrentLayerOptions options;
  };
  const std::vector<Legacy> files = {
      {"lstm_proj_bi_2layers", "lstm", {CellKind::lstm, 3, 5, 2, true, 2}, {}},
      {"gru_before_bi_sum",
       "gru",
       {CellKind::gru, 3, 4, 2, true, 0},
       {.cell = {.gru_reset = GruReset::before}, .merge = BidirectionalMerge::sum}},
      {"rnn_relu", "rnn", {CellKind::rnn_relu, 3, 4, 1, false, 0}, {}},
  };
  for (const Legacy& f : files) {
    SCOPED_TRACE(f.model);
    const std::string path = legacy(std::string(f.model) + ".safetensors");
    const SafetensorsFile file = SafetensorsFile::read(path);
    EXPECT_EQ(file.metadata().at("rnnkit.model").find("format_version"), std::string::npos);  // version 1
    RecurrentModel model = load_recurrent_model(path);
    EXPECT_EQ(model.spec, f.spec);
    EXPECT_EQ(model.options, f.options);
    const SafetensorsFile in = SafetensorsFile::read(legacy(std::string("input_") + f.io + ".safetensors"));
    const SafetensorsFile old = SafetensorsFile::read(legacy(std::string("out_") + f.io + ".safetensors"));
    std::vector<int64_t> lengths;
    if (const SafetensorsEntry* e = in.find("lengths")) {
      const Tensor<double> values = in.to_double(*e);
      for (double v : values.storage()) lengths.push_back(static_cast<int64_t>(v));
    }
    const Tensor<float> x = in.to_float(in.at("input"));
    const Tensor<float> h0 = in.find("h0") ? in.to_float(in.at("h0")) : Tensor<float>();
    const Tensor<float> c0 = in.find("c0") ? in.to_float(in.at("c0")) : Tensor<float>();
    auto view = [](const Tensor<float>& t) { return t.numel() > 0 ? t.view() : TensorView<const float>(); };
    RecurrentLayer<float> layer(model.store, model.scope, model.spec, model.options);
    const RecurrentResult<float> y = layer.forward(x.view(), lengths, view(h0), view(c0));
    for (const auto& [name, got] :
         {std::pair{"output", &y.output}, std::pair{"h_n", &y.h_n}, std::pair{"c_n", &y.c_n}}) {
      if (old.find(name) == nullptr) continue;
      const Tensor<float> want = old.to_float(old.at(name));
      ASSERT_EQ(got->shape(), want.shape()) << name;
      EXPECT_LE(test::max_abs_difference(got->data(), want.data(), want.numel()), kOldRelease32) << name;
    }
  }
}

TEST(RecurrentModel, DescriptionRoundTripsEveryOption) {
  const RecurrentSpec spec{.cell = CellKind::lstm,
                           .input_size = 3,
                           .hidden_size = 6,
                           .num_layers = 2,
                           .bidirectional = true,
                           .proj_size = 2,
                           .bias = false,
                           .peepholes = true,
                           .stacking = Stacking::per_direction};
  const RecurrentLayerOptions options{.cell = {.recurrent_activation = GateActivation::hard_sigmoid(1.0 / 6, 0.5),
                                               .activation = CellActivation::relu,
                                               .gate_clip = 3.0,
                                               .cell_clip = 1.5,
                                               .proj_clip = 0.25},
                                      .merge = BidirectionalMerge::ave,
                                      .dropout = 0.125};
  const std::string json = recurrent_model_json("enc", spec, options, "tf1");
  EXPECT_NE(json.find("\"format_version\":2"), std::string::npos) << json;
  const RecurrentDescription d = parse_recurrent_model_json(json, "here");
  EXPECT_EQ(d.scope, "enc");
  EXPECT_EQ(d.spec, spec);
  EXPECT_EQ(d.options, options);
  EXPECT_EQ(d.preset, "tf1");
  const RecurrentSpec gru{.cell = CellKind::gru, .input_size = 2, .hidden_size = 3};
  const RecurrentLayerOptions before{.cell = {.gru_reset = GruReset::before}};
  EXPECT_EQ(parse_recurrent_model_json(recurrent_model_json("g", gru, before), "here").options, before);

  // Through a checkpoint: the variables (weight_peephole among them, no biases) and the options.
  test::TempDir dir;
  VariableStore store(3);
  {
    auto scope = store.scope("enc");
    create_recurrent_variables(store, spec);
  }
  save_checkpoint(store, dir.file("m.safetensors"), {.model_json = json});
  const RecurrentModel m = load_recurrent_model(dir.file("m.safetensors"));
  EXPECT_EQ(m.options, options);
  EXPECT_NE(m.store.find("enc/l1/bw/weight_peephole"), nullptr);
  EXPECT_EQ(m.store.find("enc/l0/fw/bias_ih"), nullptr);
}

TEST(RecurrentModel, NewerOrUnknownDescriptionsAreRefusedByName) {
  const RecurrentSpec spec{.cell = CellKind::lstm, .input_size = 3, .hidden_size = 6};
  std::string json = recurrent_model_json("lstm", spec);
  std::string newer = json;
  newer.replace(newer.find("\"format_version\":2"), 18, "\"format_version\":3");
  EXPECT_NE(error_of([&] {
              parse_recurrent_model_json(newer, "model 'x'");
            }).find("model 'x': the model description has format version 3, newer than this rnnkit reads (up to 2)"),
            std::string::npos);
  std::string unknown = json;
  unknown.replace(unknown.find("\"type\""), 6, "\"input_forget\":true,\"type\"");
  EXPECT_NE(error_of([&] {
              parse_recurrent_model_json(unknown, "m");
            }).find("unknown key 'input_forget' for model format version 2"),
            std::string::npos);
  // Version 1 (no format_version) knows no cell options: a hard_sigmoid there is not read as sigmoid.
  const std::string v1 = R"({"layers":[{"type":"recurrent","scope":"s","spec":{"cell":"gru","input_size":2,)"
                         R"("hidden_size":3},"recurrent_activation":"hard_sigmoid"}]})";
  EXPECT_NE(error_of([&] {
              parse_recurrent_model_json(v1, "m");
            }).find("unknown key 'recurrent_activation' for model format version 1"),
            std::string::npos);
  const std::string bad_clip = R"({"format_version":2,"layers":[{"type":"recurrent","scope":"s","spec":{"cell":"gru",)"
                               R"("input_size":2,"hidden_size":3},"cell_clip":2}]})";
  EXPECT_NE(
      error_of([&] { parse_recurrent_model_json(bad_clip, "m"); }).find("m: cell_clip clips an LSTM's cell state"),
      std::string::npos);
  const std::string bad_type = R"({"format_version":2,"layers":[{"type":"recurrent","scope":"s","spec":{"cell":"lstm",)"
                               R"("input_size":2,"hidden_size":3},"gate_clip":"3"}]})";
  EXPECT_NE(
      error_of([&] { parse_recurrent_model_json(bad_type, "m"); }).find("gate_clip must be a number, found \"3\""),
      std::string::npos);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// The example in docs/checkpoint-format.md is a description this rnnkit reads.
TEST(RecurrentModel, TheDocumentedDescriptionParses) {
  const std::string doc = test::read_text(std::string(RNNKIT_SOURCE_DIR) + "/docs/checkpoint-format.md");
  const std::size_t begin = doc.find("```json\n", doc.find("## The model description"));
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = doc.find("```", begin + 8);
  const RecurrentDescription d = parse_recurrent_model_json(doc.substr(begin + 8, end - begin - 8), "docs");
  EXPECT_EQ(d.spec.hidden_size, 64);
  EXPECT_EQ(d.preset, "keras");
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// Found by fuzz/model_description_fuzz: a duplicated "type" key whose last value is an object.
TEST(RecurrentModel, AValueOfAnUnexpectedTypeIsAnErrorNotACrash) {
  const std::string text =
      test::read_text(std::string(RNNKIT_SOURCE_DIR) + "/fuzz/corpus-model/duplicate_type_key.json");
  EXPECT_NE(
      test::error_of([&] { parse_recurrent_model_json(text, "m"); }).find("the layer must have type \"recurrent\""),
      std::string::npos);
  EXPECT_NE(test::error_of([] {
              parse_recurrent_model_json(R"({"layers":[{"type":"recurrent","scope":"s","spec":[1]}]})", "m");
            }).find("m: recurrent layer description: expected a JSON object"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit

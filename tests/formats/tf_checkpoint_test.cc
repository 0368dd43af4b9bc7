// TensorFlow checkpoints: fixtures written by an independent Python writer
// (tests/fixtures/tf_checkpoint_io.py, protobuf by python3-protobuf) import into models that
// compute what numpy's cell equations compute on the stored values; the real files in
// ../shared/realfiles/ open (skipped, saying so, without that folder); export writes a bundle
// that reads back bit for bit. Hostile files: tf_checkpoint_hostile_test.cc.
#include "rnnkit/formats/tf_checkpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "formats/fixture_outputs.h"
#include "rnnkit/analysis/inspect.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/formats/tf_import.h"
#include "test_support.h"

namespace rnnkit {
namespace {

std::string fixture(const std::string& name) {
  return std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/tf-checkpoints/" + name;
}

std::string realfile(const std::string& name) {
  return (std::filesystem::path(RNNKIT_SOURCE_DIR).parent_path() / "shared" / "realfiles" / name).string();
}

bool have_realfiles() { return std::filesystem::is_directory(realfile("")); }

struct Case {
  const char* name;
  std::string path;  // what a user points at
  RecurrentSpec spec;
  bool keras = false;
  TfCheckpointFormat format = TfCheckpointFormat::bundle;
};

std::vector<Case> cases() {
  const RecurrentSpec peephole_proj{
      .cell = CellKind::lstm, .input_size = 3, .hidden_size = 5, .num_layers = 1, .proj_size = 2, .peepholes = true};
  return {
      {"gru_stacked_sliced_2shards",
       fixture("gru_stacked_sliced_2shards/model.ckpt"),
       {CellKind::gru, 3, 5, 2, false, 0}},
      {"lstm_bidirectional_float16",
       fixture("lstm_bidirectional_float16/model.ckpt.index"),
       {CellKind::lstm, 3, 5, 1, true, 0}},
      {"lstm_block_cell_bfloat16",
       fixture("lstm_block_cell_bfloat16/model.ckpt.data-00000-of-00001"),
       {CellKind::lstm, 3, 5, 1, false, 0}},
      {"lstm_peephole_proj_float64_state", fixture("lstm_peephole_proj_float64_state"), peephole_proj},
      {"gru_weights_biases_tf1_1", fixture("gru_weights_biases_tf1_1/model.ckpt"), {CellKind::gru, 3, 5, 1, false, 0}},
      {"v1_gru_multi",
       fixture("v1_gru_multi/model.ckpt"),
       {CellKind::gru, 3, 5, 2, false, 0},
       false,
       TfCheckpointFormat::v1},
      {"keras_gru_object_graph", fixture("keras_gru_object_graph"), {CellKind::gru, 3, 5, 1, false, 0}, true},
      {"cudnn_compatible_gru_bidirectional",
       fixture("cudnn_compatible_gru_bidirectional"),
       {CellKind::gru, 3, 5, 1, true, 0}},
      {"cudnn_compatible_lstm", fixture("cudnn_compatible_lstm/model.ckpt"), {CellKind::lstm, 3, 5, 1, false, 0}},
      {"tf0_lstmcell_peephole_proj_birnn",
       fixture("tf0_lstmcell_peephole_proj_birnn"),
       {.cell = CellKind::lstm,
        .input_size = 3,
        .hidden_size = 5,
        .num_layers = 1,
        .bidirectional = true,
        .proj_size = 2,
        .peepholes = true},
       false,
       TfCheckpointFormat::v1},
      {"keras_lstm_in_tf1_graph", fixture("keras_lstm_in_tf1_graph"), {CellKind::lstm, 3, 5, 1, false, 0}, true},
      {"keras_stacked_bidirectional_object_graph",
       fixture("keras_stacked_bidirectional_object_graph"),
       {CellKind::lstm, 3, 5, 2, true, 0},
       true},
  };
}

TEST(TfCheckpoint, FixturesOfAnIndependentWriterComputeTheirCellsEquations) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const TfCheckpoint checkpoint = TfCheckpoint::open(c.path);
    EXPECT_EQ(checkpoint.format(), c.format);
    const SafetensorsFile io = SafetensorsFile::read(fixture(std::string(c.name) + ".io.safetensors"));
    TfImportOptions options;
    if (const auto p = io.metadata().find("prefix"); p != io.metadata().end()) options.tf1.prefix = p->second;
    TfImport imported = import_tf_checkpoint(checkpoint, options);
    EXPECT_EQ(imported.model.spec.to_json(), c.spec.to_json());
    EXPECT_EQ(imported.keras_cells, c.keras);
    if (c.keras || std::string(c.name).rfind("cudnn", 0) == 0) {
      if (c.spec.cell == CellKind::gru) {
        EXPECT_EQ(imported.model.options.cell.gru_reset, GruReset::after);
      }
    } else if (c.spec.cell == CellKind::gru) {
      EXPECT_EQ(imported.model.options.cell.gru_reset, GruReset::before);  // TF1's GRUCell
    }
    if (!c.keras && c.spec.cell == CellKind::lstm) {  // the cell's own default (CudnnCompatibleLSTMCell: 0)
      EXPECT_EQ(imported.forget_bias, std::stod(io.metadata().at("forget_bias")));
    }
    if (imported.model.store.dtype() == DType::f64) {
      test::expect_forward_matches<double>(imported.model, io, 1e-12);
    } else {
      test::expect_forward_matches<float>(imported.model, io, 2e-6);
    }
  }
}

TEST(TfCheckpoint, NamesRolesAndSlicesAreThoseTheWriterGave) {
  const TfCheckpoint sliced = TfCheckpoint::open(fixture("gru_stacked_sliced_2shards"));
  const TfVariable* kernel = sliced.find("rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel");
  ASSERT_NE(kernel, nullptr);
  EXPECT_EQ(kernel->slices, 2u);
  EXPECT_EQ(kernel->shape, (Shape{10, 10}));
  EXPECT_EQ(kernel->role, TfVariableRole::weight);
  EXPECT_EQ(sliced.find("rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel/Adam_1")->role,
            TfVariableRole::optimizer_slot);
  EXPECT_EQ(sliced.find("global_step")->role, TfVariableRole::counter);
  EXPECT_EQ(sliced.find("global_step")->dtype, "I64");

  const TfCheckpoint keras = TfCheckpoint::open(fixture("keras_gru_object_graph"));
  EXPECT_TRUE(keras.object_based());
  EXPECT_EQ(keras.prefix(), fixture("keras_gru_object_graph/variables/variables"));
  const TfVariable* recurrent = keras.find("gru/gru_cell/recurrent_kernel");
  ASSERT_NE(recurrent, nullptr);
  EXPECT_EQ(recurrent->key, "layer_with_weights-0/cell/recurrent_kernel/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(keras.find(recurrent->key), recurrent);  // the raw key finds it too
  for (const TfVariable& v : keras.variables()) {
    if (v.key.find(".OPTIMIZER_SLOT") != std::string::npos) {
      EXPECT_EQ(v.role, TfVariableRole::optimizer_slot) << v.key;
    }
  }
  EXPECT_EQ(keras.find("_CHECKPOINTABLE_OBJECT_GRAPH")->role, TfVariableRole::object_graph);

  // The state file records an absolute path of the writer's machine: found beside it, and said.
  const TfCheckpoint state = TfCheckpoint::open(fixture("lstm_peephole_proj_float64_state"));
  EXPECT_EQ(state.prefix(), fixture("lstm_peephole_proj_float64_state/model.ckpt-1000"));
  EXPECT_NE(state.resolution().find("/home/someone/train/model.ckpt-1000"), std::string::npos) << state.resolution();
}

TEST(TfCheckpoint, AKerasLayerIsChosenByItsNameOrByItsRawKey) {
  const TfCheckpoint keras = TfCheckpoint::open(fixture("keras_gru_object_graph"));
  for (const char* prefix : {"gru/", "layer_with_weights-0/"}) {
    TfImportOptions options;
    options.tf1.prefix = prefix;
    EXPECT_EQ(import_tf_checkpoint(keras, options).model.spec.hidden_size, 5) << prefix;
  }
  TfImportOptions none;
  none.tf1.prefix = "lstm/";
  const std::string message = test::error_of([&] { import_tf_checkpoint(keras, none); });
  EXPECT_NE(message.find("no floating-point weights under 'lstm/'"), std::string::npos) << message;
  EXPECT_NE(message.find("gru/"), std::string::npos) << message;
}

TEST(TfCheckpoint, TwoModelsInOneFileNeedAPrefixAndTheErrorListsThem) {
  const TfCheckpoint both = TfCheckpoint::open(fixture("lstm_peephole_proj_float64_state"));
  const std::string message = test::error_of([&] { import_tf_checkpoint(both); });
  EXPECT_NE(message.find("'decoder/rnn/'"), std::string::npos) << message;
  EXPECT_NE(message.find("'encoder/rnn/'"), std::string::npos) << message;
  EXPECT_NE(message.find("--prefix"), std::string::npos) << message;
}

TEST(TfCheckpoint, ExportedBundlesReadBackBitForBit) {
  // Exported with the names and float type it came with, every tensor equals the
  // checkpoint's: the forget bias folded into bias_hh comes back out exactly, in float32 too.
  for (const char* name :
       {"lstm_bidirectional_float16", "gru_stacked_sliced_2shards", "lstm_peephole_proj_float64_state"}) {
    SCOPED_TRACE(name);
    const TfCheckpoint original = TfCheckpoint::open(fixture(name));
    TfImportOptions options;
    if (std::string(name) == "lstm_peephole_proj_float64_state") options.tf1.prefix = "encoder/";
    const TfImport imported = import_tf_checkpoint(original, options);
    const auto exported = export_tf1(imported.model, imported.forget_bias, imported.cell_paths);
    test::TempDir dir;
    std::vector<Tensor<double>> f64;
    std::vector<Tensor<float>> f32;
    std::vector<TfBundleTensor> tensors;
    f64.reserve(exported.size());
    f32.reserve(exported.size());
    for (const auto& [tensor_name, values] : exported) {
      const TfVariable* was = original.find(tensor_name);
      ASSERT_NE(was, nullptr) << tensor_name;
      if (was->dtype == "F64") {
        f64.push_back(values);
        tensors.push_back(
            {tensor_name, values.shape(), true, std::as_bytes(std::span<const double>(f64.back().storage()))});
      } else {
        Tensor<float> f(values.shape());
        for (int64_t i = 0; i < values.numel(); ++i) f[i] = static_cast<float>(values[i]);
        f32.push_back(std::move(f));
        tensors.push_back(
            {tensor_name, values.shape(), false, std::as_bytes(std::span<const float>(f32.back().storage()))});
      }
    }
    write_tf_bundle(dir.file("back"), tensors);
    const TfCheckpoint back = TfCheckpoint::open(dir.file("back"));
    ASSERT_EQ(back.variables().size(), exported.size());
    for (const TfVariable& v : back.variables()) {
      const TfVariable* was = original.find(v.name);
      ASSERT_NE(was, nullptr) << v.name;
      EXPECT_EQ(v.shape, was->shape) << v.name;
      const Tensor<double> a = back.values(v), b = original.values(*was);
      EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(double) * a.numel()), 0) << v.name << ": not bit for bit";
    }
  }
}

TEST(TfCheckpoint, TheCommandLineReadsWhatUsersPointAt) {
  test::TempDir dir;
  const std::string out = dir.file("m.safetensors");
  // A folder with a state file, a .data shard, a SavedModel.
  for (const std::string& path :
       {fixture("lstm_peephole_proj_float64_state") + " --prefix encoder/",
        fixture("lstm_block_cell_bfloat16/model.ckpt.data-00000-of-00001"), fixture("keras_gru_object_graph")}) {
    const test::CommandResult r = test::run_cli("import --from tf " + path + " -o " + out);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("read the checkpoint"), std::string::npos) << r.output;
  }
  const test::CommandResult keras =
      test::run_cli("import --from tf " + fixture("keras_gru_object_graph") + " -o " + out);
  EXPECT_NE(keras.output.find("tf.keras cells"), std::string::npos) << keras.output;
  EXPECT_NE(keras.output.find("optimizer slot"), std::string::npos) << keras.output;
  // tf1 stays an alias.
  EXPECT_EQ(test::run_cli("import --from tf1 " + fixture("gru_weights_biases_tf1_1") + " -o " + out).exit_code, 0);
  // export --to tf -o PREFIX writes a checkpoint that imports back to the same weights.
  ASSERT_EQ(
      test::run_cli("import --from tf --dtype f64 " + fixture("gru_stacked_sliced_2shards") + " -o " + out).exit_code,
      0);
  const test::CommandResult exported = test::run_cli("export --to tf " + out + " -o " + dir.file("model.ckpt"));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_NE(exported.output.find("a TensorFlow checkpoint"), std::string::npos) << exported.output;
  const std::string again = dir.file("again.safetensors");
  ASSERT_EQ(test::run_cli("import --from tf --dtype f64 " + dir.file("model.ckpt") + " -o " + again).exit_code, 0);
  const SafetensorsFile a = SafetensorsFile::read(out), b = SafetensorsFile::read(again);
  ASSERT_EQ(a.entries().size(), b.entries().size());
  for (const SafetensorsEntry& e : a.entries()) {
    const Tensor<double> x = a.to_double(e), y = b.to_double(b.at(e.name));
    EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(double) * x.numel()), 0) << e.name;
  }
  // The names of the cells, as the checkpoint had them.
  const TfCheckpoint written = TfCheckpoint::open(dir.file("model.ckpt"));
  EXPECT_NE(written.find("rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel"), nullptr);
}

TEST(TfCheckpoint, WrittenBundlesReadInLevelDbAndProtobufAsTheSafetensorsExport) {
  // Readers that are not rnnkit's: LevelDB's table reader for the .index, python3-protobuf's
  // parsing (of the messages in tests/fixtures/tf_checkpoint.proto) for its entries, and the
  // data's checksums, dtypes and bits against the same model's safetensors export.
  for (const std::string& source :
       {fixture("gru_stacked_sliced_2shards"), fixture("lstm_bidirectional_float16"),
        fixture("lstm_peephole_proj_float64_state") + " --prefix encoder/", fixture("v1_gru_multi/model.ckpt")}) {
    SCOPED_TRACE(source);
    test::TempDir dir;
    ASSERT_EQ(test::run_cli("import --from tf " + source + " -o " + dir.file("m.safetensors")).exit_code, 0);
    ASSERT_EQ(test::run_cli("export --to tf " + dir.file("m.safetensors") + " -o " + dir.file("model.ckpt")).exit_code,
              0);
    ASSERT_EQ(
        test::run_cli("export --to tf " + dir.file("m.safetensors") + " -o " + dir.file("vars.safetensors")).exit_code,
        0);
    const test::CommandResult check =
        test::run_shell(std::string("/usr/bin/python3 ") + RNNKIT_SOURCE_DIR + "/tests/interop/tf_bundle_check.py " +
                        RNNKIT_LEVELDB_DUMP_PATH + " " + dir.file("model.ckpt") + " " + dir.file("vars.safetensors"));
    EXPECT_EQ(check.exit_code, 0) << check.output;
  }
}

TEST(TfCheckpoint, InspectShowsEveryVariableAndTheGatesInRnnkitsOrder) {
  const test::CommandResult r = test::run_cli("inspect " + fixture("gru_stacked_sliced_2shards"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* text : {"rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel", "  [r]", "  [z]",
                           "(optimizer slot) partitioned in 2 slices", "(counter)", "crc32c of all"}) {
    EXPECT_NE(r.output.find(text), std::string::npos) << text << "\n" << r.output;
  }
  // The stats of a gate block are those of the columns TF keeps it in: u of gates/kernel is z.
  const TfCheckpoint c = TfCheckpoint::open(fixture("gru_stacked_sliced_2shards"));
  const InspectReport report = inspect_tf_checkpoint(c);
  const auto row = std::find_if(report.rows.begin(), report.rows.end(), [](const InspectRow& x) {
    return x.name == "rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel";
  });
  ASSERT_NE(row, report.rows.end());
  ASSERT_EQ(row->gates.size(), 2u);
  EXPECT_EQ(row->gates[1].gate, 'z');
  const Tensor<double> kernel = c.values(*c.find(row->name));  // [I + H, 2H]: columns H..2H are u
  double sum = 0.0;
  for (int64_t r0 = 0; r0 < kernel.dim(0); ++r0) {
    for (int64_t j = 5; j < 10; ++j) sum += kernel[r0 * 10 + j];
  }
  EXPECT_NEAR(row->gates[1].stats.mean, sum / static_cast<double>(kernel.dim(0) * 5), 1e-15);
  // --verify reads every tensor against its crc32c.
  const test::CommandResult verify = test::run_cli("inspect --verify " + fixture("lstm_bidirectional_float16"));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("match their crc32c"), std::string::npos) << verify.output;
}

TEST(TfCheckpoint, RealFilesOpenWithTheirNamesShapesAndRoles) {
  if (!have_realfiles()) GTEST_SKIP() << "../shared/realfiles/ is absent: the real TensorFlow files are not tested";
  struct Real {
    std::string path;
    TfCheckpointFormat format;
    std::size_t variables;
    const char* kernel;
    Shape shape;
  };
  const std::vector<Real> files = {
      {realfile("tf1_pooja-basiclstm/model"), TfCheckpointFormat::bundle, 14, "rnn/basic_lstm_cell/kernel", {6, 20}},
      {realfile("tf1_aplain-basiclstm-weights/model.ckpt"),
       TfCheckpointFormat::bundle,
       6,
       "rnn/basic_lstm_cell/weights",
       {160, 320}},
      {realfile("tf2_eparracho-lstm/training_1/cp.ckpt.index"),
       TfCheckpointFormat::bundle,
       24,
       "lstm_2/lstm_cell/kernel",
       {11, 256}},
      {realfile("tfv1format_karo-basiclstm/save/model.ckpt"),
       TfCheckpointFormat::v1,
       20,
       "RNN/BasicLSTMCell/Linear/Matrix",
       {256, 512}},
  };
  for (const Real& f : files) {
    SCOPED_TRACE(f.path);
    const TfCheckpoint c = TfCheckpoint::open(f.path);
    EXPECT_EQ(c.format(), f.format);
    EXPECT_EQ(c.variables().size(), f.variables);
    const TfVariable* kernel = c.find(f.kernel);
    ASSERT_NE(kernel, nullptr);
    EXPECT_EQ(kernel->shape, f.shape);
    EXPECT_EQ(kernel->role, TfVariableRole::weight);
    for (const TfVariable& v : c.variables()) {  // every checksum verifies
      if (v.dtype != "STRING") {
        EXPECT_NO_THROW(c.values(v)) << v.name;
      }
    }
    const TfImport imported = import_tf_checkpoint(c);
    EXPECT_EQ(imported.model.spec.cell, CellKind::lstm);
    if (imported.keras_cells) continue;
    // Export gives back every tensor of the cell bit for bit (under today's names).
    for (const auto& [name, values] : export_tf1(imported.model, imported.forget_bias, imported.cell_paths)) {
      const TfVariable* original = nullptr;
      for (const TfVariable& v : c.variables()) {
        if (canonical_tf1_name(v.name) == name) original = &v;
      }
      ASSERT_NE(original, nullptr) << name;
      const Tensor<double> was = c.values(*original);
      ASSERT_EQ(values.shape(), was.shape()) << name;
      for (int64_t i = 0; i < values.numel(); ++i) {
        ASSERT_EQ(static_cast<float>(values[i]), static_cast<float>(was[i])) << name << " [" << i << "]";
      }
    }
  }
}

}  // namespace
}  // namespace rnnkit

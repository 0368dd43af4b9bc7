// TensorFlow 1 cell variables: imported models compute what TF1's cell equations compute
// (fixtures from an independent numpy implementation, in .npz, compressed .npz and
// safetensors files), export writes the TF1 names and values back, and what cannot be
// converted is an error that says why.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "formats/fixture_outputs.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/formats/tf1.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;

std::string fixture(const std::string& name) { return std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/tf1/" + name; }

struct Case {
  const char* name;
  const char* file;
  RecurrentSpec spec;
  Tf1ImportOptions options;
};

std::vector<Case> cases() {
  Tf1ImportOptions half;
  half.forget_bias = 0.5;
  Tf1ImportOptions encoder;
  encoder.prefix = "encoder/";
  Tf1ImportOptions clips;  // LSTMCell(cell_clip=0.3, proj_clip=0.15): not in the variables, so told
  clips.cell_clip = 0.3;
  clips.proj_clip = 0.15;
  Tf1ImportOptions relu;
  relu.activation = CellActivation::relu;
  const RecurrentSpec peephole_proj{
      .cell = CellKind::lstm, .input_size = 3, .hidden_size = 5, .num_layers = 2, .proj_size = 2, .peepholes = true};
  const RecurrentSpec peephole_per_direction{.cell = CellKind::lstm,
                                             .input_size = 3,
                                             .hidden_size = 5,
                                             .num_layers = 2,
                                             .bidirectional = true,
                                             .peepholes = true,
                                             .stacking = Stacking::per_direction};
  const RecurrentSpec gru_per_direction{.cell = CellKind::gru,
                                        .input_size = 3,
                                        .hidden_size = 5,
                                        .num_layers = 3,
                                        .bidirectional = true,
                                        .stacking = Stacking::per_direction};
  return {
      {"lstm_peephole_proj_clips_2layers", "lstm_peephole_proj_clips_2layers.safetensors", peephole_proj, clips},
      {"lstm_peephole_per_direction_2layers", "lstm_peephole_per_direction_2layers.npz", peephole_per_direction, {}},
      {"gru_relu_per_direction_3layers", "gru_relu_per_direction_3layers.npz", gru_per_direction, relu},
      {"lstm_multi_2layers", "lstm_multi_2layers.npz", {CellKind::lstm, 3, 5, 2, false, 0}, {}},
      {"lstm_proj", "lstm_proj.safetensors", {CellKind::lstm, 3, 5, 1, false, 2}, half},
      {"gru_bidirectional", "gru_bidirectional.npz", {CellKind::gru, 3, 5, 1, true, 0}, {}},
      {"rnn_stack_bidirectional_2layers",
       "rnn_stack_bidirectional_2layers.npz",
       {CellKind::rnn_tanh, 3, 5, 2, true, 0},
       {}},
      {"basic_lstm_float64_with_others",
       "basic_lstm_float64_with_others.safetensors",
       {CellKind::lstm, 3, 5, 1, false, 0},
       encoder},
  };
}

TEST(Tf1Format, ImportedCellsComputeTf1Outputs) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto variables = read_tf1_variables(fixture(c.file));
    Tf1Import imported = import_tf1(variables, c.file, c.options);
    EXPECT_EQ(imported.model.spec.to_json(), c.spec.to_json());
    const SafetensorsFile io = SafetensorsFile::read(fixture(std::string(c.name) + ".io.safetensors"));
    if (const auto clip = io.metadata().find("cell_clip"); clip != io.metadata().end()) {  // what the fixture used
      EXPECT_EQ(std::stod(clip->second), c.options.cell_clip);
      EXPECT_EQ(std::stod(io.metadata().at("proj_clip")), c.options.proj_clip);
      EXPECT_EQ(io.metadata().at("activation"), cell_activation_name(c.options.activation));
    }
    if (imported.model.store.dtype() == DType::f64) {
      test::expect_forward_matches<double>(imported.model, io, 1e-13);
    } else {
      test::expect_forward_matches<float>(imported.model, io, 2e-6);
    }
    if (c.spec.cell == CellKind::gru) {
      EXPECT_EQ(imported.model.options.cell.gru_reset, GruReset::before);
    }
  }
}

TEST(Tf1Format, ImportThenExportGivesBackTheVariables) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto variables = read_tf1_variables(fixture(c.file));
    Tf1ImportOptions options = c.options;
    options.dtype = DType::f64;  // float64 keeps b + forget_bias - forget_bias exact for these values
    const Tf1Import imported = import_tf1(variables, c.file, options);
    const auto exported = export_tf1(imported.model, imported.forget_bias, imported.cell_paths);
    for (const auto& [name, values] : exported) {
      const auto it = variables.find(name);
      ASSERT_NE(it, variables.end()) << name;
      EXPECT_EQ(values.shape(), it->second.values.shape()) << name;
      EXPECT_EQ(values.storage(), it->second.values.storage()) << name;
    }
    std::size_t cell_variables = 0;
    for (const auto& [name, array] : variables)
      cell_variables += name.rfind(c.options.prefix, 0) == 0 && name.find("_cell/") != std::string::npos;
    EXPECT_EQ(exported.size(), cell_variables);
  }
}

TEST(Tf1Format, ForgetBiasIsFoldedIntoTheForgetBlock) {
  const auto variables = read_tf1_variables(fixture("lstm_multi_2layers.npz"));
  Tf1ImportOptions none;
  none.forget_bias = 0.0;
  none.dtype = DType::f64;
  Tf1ImportOptions two = none;
  two.forget_bias = 2.0;
  const Tf1Import a = import_tf1(variables, "x", none), b = import_tf1(variables, "x", two);
  // Into bias_hh (zero for TF's one bias), so that TF's bias stays exact in bias_ih.
  const auto ha = a.model.store.value<double>(a.model.store.at("lstm/l1/fw/bias_hh"));
  const auto hb = b.model.store.value<double>(b.model.store.at("lstm/l1/fw/bias_hh"));
  for (int64_t j = 0; j < 20; ++j) {
    EXPECT_EQ(ha[j], 0.0) << j;
    EXPECT_EQ(hb[j], j >= 5 && j < 10 ? 2.0 : 0.0) << j;  // rows of f (i, f, g, o)
  }
  const auto ia = a.model.store.value<double>(a.model.store.at("lstm/l1/fw/bias_ih"));
  const auto ib = b.model.store.value<double>(b.model.store.at("lstm/l1/fw/bias_ih"));
  for (int64_t j = 0; j < 20; ++j) EXPECT_EQ(ia[j], ib[j]) << j;
}

// Found by npz_fuzz: a GRU whose gates/kernel and candidate/kernel have different row counts
// was joined past the end of the shorter one.
TEST(Tf1Format, GruKernelsOfDifferentRowCountsAreAnError) {
  const auto variables =
      read_npz(std::string(RNNKIT_SOURCE_DIR) + "/fuzz/corpus-npz/gru_kernels_of_different_rows.npz");
  EXPECT_NE(error_of([&] { import_tf1(variables, "x", {}); }).find("have different row counts"), std::string::npos);
}

TEST(Tf1Format, ANonFiniteForgetBiasIsRefusedBothWays) {
  const auto variables = read_tf1_variables(fixture("lstm_multi_2layers.npz"));
  Tf1ImportOptions nan;
  nan.forget_bias = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(error_of([&] { import_tf1(variables, "x", nan); }).find("forget_bias nan is not a finite number"),
            std::string::npos);
  const Tf1Import ok = import_tf1(variables, "x", {});
  EXPECT_NE(error_of([&] {
              export_tf1(ok.model, std::numeric_limits<double>::infinity(), ok.cell_paths);
            }).find("export to TF1: forget_bias inf is not a finite number"),
            std::string::npos);
}

TEST(Tf1Format, DefaultNamesAreTf1s) {
  RecurrentSpec bi{CellKind::gru, 3, 4, 2, true, 0};
  EXPECT_EQ(default_tf1_cell_paths(bi).at(3), "stack_bidirectional_rnn/cell_1/bidirectional_rnn/bw/gru_cell/");
  bi.stacking = Stacking::per_direction;
  EXPECT_EQ(default_tf1_cell_paths(bi).at(3), "bidirectional_rnn/bw/multi_rnn_cell/cell_1/gru_cell/");
  RecurrentSpec multi{CellKind::lstm, 3, 4, 2, false, 0};
  EXPECT_EQ(default_tf1_cell_paths(multi).at(1), "rnn/multi_rnn_cell/cell_1/lstm_cell/");
}

TEST(Tf1Format, WhatCannotBeConvertedIsNamed) {
  const auto others = read_tf1_variables(fixture("basic_lstm_float64_with_others.safetensors"));
  EXPECT_NE(error_of([&] {
              import_tf1(others, "f");
            }).find("cells of several models, under 'decoder/rnn/', 'encoder/rnn/': choose one with --prefix"),
            std::string::npos);
  Tf1ImportOptions missing;
  missing.prefix = "nothing/";
  EXPECT_NE(error_of([&] { import_tf1(others, "f", missing); }).find("cells found elsewhere: decoder/rnn/lstm_cell/"),
            std::string::npos);
  const std::map<std::string, NpyArray> per_direction =
      read_tf1_variables(fixture("lstm_peephole_per_direction_2layers.npz"));
  // Stackings mixed: the forward direction stacked inside bidirectional_rnn, the backward around it.
  std::map<std::string, NpyArray> mixed;
  for (const auto& [name, array] : per_direction) {
    const std::string bw = "bidirectional_rnn/bw/multi_rnn_cell/";
    if (name.rfind(bw, 0) != 0) {
      mixed[name] = array;
      continue;
    }
    const std::string rest = name.substr(bw.size());  // cell_k/lstm_cell/...
    const std::size_t slash = rest.find('/');
    mixed["multi_rnn_cell/" + rest.substr(0, slash) + "/bidirectional_rnn/bw" + rest.substr(slash)] = array;
  }
  EXPECT_NE(error_of([&] { import_tf1(mixed, "f"); }).find("stack their layers differently"), std::string::npos);
  std::map<std::string, NpyArray> half_peepholes = per_direction;
  half_peepholes.erase("bidirectional_rnn/fw/multi_rnn_cell/cell_1/lstm_cell/w_o_diag");
  EXPECT_NE(error_of([&] {
              import_tf1(half_peepholes, "f");
            }).find("peepholes need all of w_i_diag, w_f_diag and w_o_diag; found 2 of them"),
            std::string::npos);
  Tf1ImportOptions gru_clip;
  gru_clip.cell_clip = 1.0;
  EXPECT_NE(error_of([&] {
              import_tf1(read_tf1_variables(fixture("gru_bidirectional.npz")), "f", gru_clip);
            }).find("cell_clip clips an LSTM's cell state"),
            std::string::npos);
  const Tf1Import lstm = import_tf1(per_direction, "f");
  RecurrentModel hard{
      VariableStore(0), "x", lstm.model.spec, {.cell = {.recurrent_activation = GateActivation::hard_sigmoid()}}};
  EXPECT_NE(error_of([&] { export_tf1(hard); }).find("TF1's LSTMCell and GRUCell gates are sigmoid"),
            std::string::npos);
  const Tf1Import gru = import_tf1(read_tf1_variables(fixture("gru_bidirectional.npz")), "f");
  RecurrentModel after{VariableStore(0), "x", gru.model.spec, {}};
  EXPECT_EQ(error_of([&] { export_tf1(gru.model); }), "");
  after.options.cell.gru_reset = GruReset::after;
  EXPECT_NE(error_of([&] { export_tf1(after); }).find("TF1's GRUCell applies it before"), std::string::npos);
}

TEST(Npz, MalformedArchivesAreNamedNotCrashed) {
  test::TempDir dir;
  std::ifstream in(fixture("gru_bidirectional.npz"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 200u);
  // Every truncation and a byte flipped at every position: an Error or a valid result, never a crash.
  int errors = 0;
  for (std::size_t n = 0; n < bytes.size(); n += 7) {
    std::ofstream(dir.file("cut.npz"), std::ios::binary) << bytes.substr(0, n);
    errors += error_of([&] { read_npz(dir.file("cut.npz")); }).empty() ? 0 : 1;
  }
  EXPECT_GT(errors, 0);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
    std::ofstream(dir.file("flip.npz"), std::ios::binary) << flipped;
    try {
      read_npz(dir.file("flip.npz"));
    } catch (const Error&) {
    }
  }
  std::ofstream(dir.file("text.npz")) << "hello";
  EXPECT_NE(error_of([&] { read_npz(dir.file("text.npz")); }).find("not a ZIP archive"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// Through the command line: import as float64, export: the same names, types and bits as the
// TF1 file; inspect says where each value came from.
TEST(Tf1Format, TheCommandLineRoundTripIsExact) {
  test::TempDir dir;
  const std::string source = fixture("lstm_multi_2layers.npz");
  const auto imported = test::run_cli("import --from tf1 --dtype f64 " + source + " -o " + dir.file("m.safetensors"));
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  const auto table = test::run_cli("inspect " + dir.file("m.safetensors"));
  EXPECT_NE(table.output.find("from tf1 " + source + ":rnn/multi_rnn_cell/cell_1/lstm_cell/kernel (recurrent rows)"),
            std::string::npos)
      << table.output;
  const auto exported =
      test::run_cli("export --to tf1 " + dir.file("m.safetensors") + " -o " + dir.file("back.safetensors"));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const auto original = read_tf1_variables(source);
  const auto back = read_tf1_variables(dir.file("back.safetensors"));
  ASSERT_EQ(back.size(), original.size());
  for (const auto& [name, array] : original) {
    ASSERT_EQ(back.count(name), 1u) << name;
    EXPECT_EQ(back.at(name).dtype, array.dtype) << name;
    EXPECT_EQ(back.at(name).values.storage(), array.values.storage()) << name;
  }
  const auto wrong = test::run_cli("import --from tf1 --layer x " + source + " -o " + dir.file("x.safetensors"));
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
}

}  // namespace
}  // namespace rnnkit

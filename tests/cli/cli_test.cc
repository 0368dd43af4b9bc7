// The rnnkit command: init and inspect end to end, and bad input that gets a clear
// message, a non-zero exit code and no output file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/layers/recurrent_model.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::run_cli;

TEST(Cli, InitThenInspectShowsInitializersAndGateRows) {
  test::TempDir dir;
  const std::string out = dir.file("gru.safetensors");
  const auto init = run_cli(
      "init --cell gru --input-size 3 --hidden-size 5 --layers 2 --bidirectional --seed 9 "
      "--recurrent-init 'per_gate(orthogonal)' --bias-init 'chrono(t_max=20)' -o " +
      out);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_NE(init.output.find("gru/l1/bw/weight_ih [15,10]"), std::string::npos) << init.output;

  const auto table = run_cli("inspect " + out);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("per_gate(init=orthogonal(gain=1.0, version=2))"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("chrono(t_max=20.0)"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("  [z]"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("rnnkit.seed: 9"), std::string::npos) << table.output;

  const auto json = run_cli("inspect --json " + out);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const nlohmann::json j = nlohmann::json::parse(json.output);
  ASSERT_EQ(j["variables"].size(), 16u);
  const nlohmann::json& hh = j["variables"][1];
  EXPECT_EQ(hh["name"], "gru/l0/fw/weight_hh");
  ASSERT_EQ(hh["gates"].size(), 3u);
  for (const auto& gate : hh["gates"])
    EXPECT_NEAR(gate["sigma_max"].get<double>(), 1.0, 1e-5);  // each block orthogonal
  const nlohmann::json& bias = j["variables"][2];
  EXPECT_EQ(bias["gates"][0]["gate"], "r");
  EXPECT_EQ(bias["gates"][0]["max"], 0.0);                // chrono: reset gate bias zero
  EXPECT_GE(bias["gates"][1]["min"].get<double>(), 0.0);  // update gate bias log(U(1, 19)) >= 0
}

TEST(Cli, SameSeedSameBytesAndScopeKeysTheValues) {
  test::TempDir dir;
  const std::string args = "init --cell lstm --input-size 4 --hidden-size 3 --seed 5 ";
  ASSERT_EQ(run_cli(args + "-o " + dir.file("a.safetensors")).exit_code, 0);
  ASSERT_EQ(run_cli(args + "--threads 1 -o " + dir.file("b.safetensors")).exit_code, 0);
  ASSERT_EQ(run_cli(args + "--scope other -o " + dir.file("c.safetensors")).exit_code, 0);
  EXPECT_EQ(test::read_text(dir.file("a.safetensors")), test::read_text(dir.file("b.safetensors")));
  const SafetensorsFile a = SafetensorsFile::read(dir.file("a.safetensors"));
  const SafetensorsFile c = SafetensorsFile::read(dir.file("c.safetensors"));
  EXPECT_NE(a.to_float(a.at("lstm/l0/fw/weight_ih")).storage(), c.to_float(c.at("other/l0/fw/weight_ih")).storage());
}

TEST(Cli, EveryPresetAndCellInitializes) {
  test::TempDir dir;
  for (const char* cell : {"lstm", "gru", "rnn_tanh", "rnn_relu"}) {
    for (const char* preset : {"pytorch", "keras", "tf1"}) {
      const auto r = run_cli(std::string("init --cell ") + cell + " --input-size 3 --hidden-size 4 --preset " + preset +
                             " -o " + dir.file("x.safetensors"));
      EXPECT_EQ(r.exit_code, 0) << cell << " " << preset << ": " << r.output;
    }
  }
  const auto proj =
      run_cli("init --cell lstm --input-size 3 --hidden-size 6 --proj-size 2 -o " + dir.file("p.safetensors"));
  EXPECT_EQ(proj.exit_code, 0) << proj.output;
  EXPECT_NE(proj.output.find("lstm/l0/fw/weight_hr [2,6]"), std::string::npos) << proj.output;
}

struct BadCase {
  std::string args;
  std::string message;
  int exit_code;
};

TEST(Cli, BadInputGetsAClearErrorAndNoOutputFile) {
  test::TempDir dir;
  const std::string out = dir.file("out.safetensors");
  const std::vector<BadCase> cases = {
      {"init --cell lstm --input-size 3 --hidden-size 4 --recurrent-init 'orthogonal(gian=2)' -o " + out,
       "--recurrent-init: orthogonal: unknown argument 'gian'; valid arguments: gain, version", 1},
      {"init --cell gru --input-size 3 --hidden-size 4 --forget-bias 1 -o " + out, "has no forget gate", 1},
      {"init --cell gru --input-size 3 --hidden-size 4 --proj-size 2 -o " + out, "proj_size is for LSTM only", 1},
      {"init --cell lstm --input-size 3 --hidden-size 4 --proj-size 4 -o " + out, "smaller than hidden_size", 1},
      {"init --cell lstm --input-size 3 --hidden-size 4 --bias-init 'chrono(t_max=10)' --kernel-init "
       "'chrono(t_max=10)' -o " +
           out,
       "chrono", 1},
      {"init --cell lstm --input-size 3 --hidden-size 4 --kernel-init 'orthogonal(' -o " + out, "--kernel-init", 1},
      {"init --cell transformer --input-size 3 --hidden-size 4 -o " + out, "--cell", 2},
      {"init --cell lstm --input-size 0 --hidden-size 4 -o " + out, "--input-size", 2},
      {"init --cell lstm --input-size x --hidden-size 4 -o " + out, "--input-size", 2},
      {"init --cell lstm --input-size 3 -o " + out, "--hidden-size", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 --threads 0 -o " + out, "--threads", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 --forget-bias nan -o " + out,
       "--forget-bias: 'nan' is not a finite number", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 --forget-bias -inf -o " + out, "not a finite number", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 --cell-clip nan -o " + out,
       "--cell-clip: 'nan' is not a finite number", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 --gate-clip inf -o " + out, "not a finite number", 2},
      {"import --from tf1 --forget-bias nan " + out + " -o " + out, "--forget-bias: 'nan' is not a finite number", 2},
      {"export --to tf1 --forget-bias inf " + out + " -o " + out, "--forget-bias: 'inf' is not a finite number", 2},
      {"init --cell lstm --input-size 3 --hidden-size 4 -o " + dir.file("no/such/dir/x.safetensors"), "no/such/dir", 1},
      {"inspect " + dir.file("missing.safetensors"), "missing.safetensors", 1},
      {"", "subcommand", 2},
  };
  for (const BadCase& c : cases) {
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
  }
}

TEST(Cli, InspectNamesACorruptFile) {
  test::TempDir dir;
  const std::string path = dir.file("corrupt.safetensors");
  ASSERT_EQ(run_cli("init --cell rnn_tanh --input-size 2 --hidden-size 2 -o " + path).exit_code, 0);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  const auto r = run_cli("inspect " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("corrupt.safetensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("data section"), std::string::npos) << r.output;
}

// A byte flipped inside one tensor's data: reading refuses the file naming that tensor;
// --verify lists every tensor with its status and exits 1; a file from another writer has
// nothing to verify against and says so.
TEST(Cli, InspectVerifyListsEveryTensorAndNamesTheDamagedOne) {
  test::TempDir dir;
  const std::string path = dir.file("lstm.safetensors");
  ASSERT_EQ(run_cli("init --cell lstm --input-size 3 --hidden-size 4 -o " + path).exit_code, 0);
  const auto clean = run_cli("inspect --verify " + path);
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_NE(clean.output.find("all 4 tensors match their recorded crc32c"), std::string::npos) << clean.output;
  EXPECT_NE(run_cli("inspect " + path).output.find("checksums: crc32c of all 4 tensors as recorded"),
            std::string::npos);

  const SafetensorsFile file = SafetensorsFile::read(path);
  const SafetensorsEntry& hh = file.at("lstm/l0/fw/weight_hh");
  std::size_t section = 0;  // the data section is the end of the file
  for (const SafetensorsEntry& e : file.entries()) section = std::max<std::size_t>(section, e.end);
  std::string bytes = test::read_text(path);
  const std::size_t at = bytes.size() - section + hh.begin + 5;
  bytes[at] = static_cast<char>(bytes[at] ^ 0x04);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  const auto refused = run_cli("inspect " + path);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("1 of 4 tensors fail the checksums"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("tensor 'lstm/l0/fw/weight_hh': its data reads crc32c"), std::string::npos);
  const auto listed = run_cli("inspect --verify " + path);
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_NE(listed.output.find("FAIL  tensor 'lstm/l0/fw/weight_hh'"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("ok    tensor 'lstm/l0/fw/weight_ih'"), std::string::npos) << listed.output;
  const auto json = run_cli("inspect --verify --json " + path + " 2>/dev/null");
  EXPECT_EQ(json.exit_code, 1);
  const nlohmann::json j = nlohmann::json::parse(json.output);
  EXPECT_EQ(j["checksums"]["failures"], 1);
  int mismatches = 0;
  for (const auto& t : j["checksums"]["tensors"]) mismatches += t["status"] == "mismatch" ? 1 : 0;
  EXPECT_EQ(mismatches, 1);

  const std::string foreign = std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/pytorch/gru_bi.safetensors";
  const auto unverified = run_cli("inspect --verify " + foreign);
  EXPECT_EQ(unverified.exit_code, 0) << unverified.output;
  EXPECT_NE(unverified.output.find("none recorded"), std::string::npos) << unverified.output;
}

TEST(Cli, InspectInfersGatesForPytorchStateDicts) {
  test::TempDir dir;
  Tensor<float> ih({12, 2}, 0.5f), hh({12, 3}, 0.25f), b({12}, 1.0f);
  write_safetensors(dir.file("torch.safetensors"),
                    {safetensors_tensor("rnn.weight_ih_l0", ih.view()),
                     safetensors_tensor("rnn.weight_hh_l0", hh.view()), safetensors_tensor("rnn.bias_ih_l0", b.view())},
                    {});
  const auto r = run_cli("inspect --json " + dir.file("torch.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  for (const auto& v : j["variables"]) {
    EXPECT_TRUE(v["init"].is_null());
    ASSERT_EQ(v["gates"].size(), 4u) << v["name"];
    EXPECT_EQ(v["gates"][3]["gate"], "o");
  }
}

TEST(Cli, HelpAndVersion) {
  EXPECT_EQ(run_cli("--help").exit_code, 0);
  const auto init_help = run_cli("init --help");
  EXPECT_EQ(init_help.exit_code, 0);
  EXPECT_NE(init_help.output.find("--recurrent-init"), std::string::npos);
  EXPECT_NE(run_cli("--version").output.find("rnnkit 0."), std::string::npos);
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// rnnkit forward gives what the library's layer gives on the same checkpoint and input.
TEST(CliForward, MatchesTheLayerAndWritesPytorchShapes) {
  test::TempDir dir;
  const std::string model = dir.file("m.safetensors");
  ASSERT_EQ(run_cli("init --cell lstm --input-size 3 --hidden-size 4 --layers 2 --bidirectional --seed 2 -o " + model)
                .exit_code,
            0);
  Tensor<float> x({5, 2, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(std::sin(static_cast<double>(i)));
  Tensor<double> lengths({2}, std::vector<double>{5, 3});
  write_safetensors(dir.file("in.safetensors"),
                    {safetensors_tensor("input", x.view()), safetensors_tensor("lengths", lengths.view())}, {});
  const auto r = run_cli("forward " + model + " " + dir.file("in.safetensors") + " -o " + dir.file("out.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const SafetensorsFile out = SafetensorsFile::read(dir.file("out.safetensors"));
  EXPECT_EQ(out.at("output").shape, (Shape{5, 2, 8}));
  EXPECT_EQ(out.at("h_n").shape, (Shape{4, 2, 4}));
  EXPECT_EQ(out.at("c_n").shape, (Shape{4, 2, 4}));

  RecurrentModel m = load_recurrent_model(model);
  RecurrentLayer<float> layer(m.store, m.scope, m.spec, m.options);
  const std::vector<int64_t> lens = {5, 3};
  const auto y = layer.forward(x.view(), lens);
  EXPECT_EQ(out.to_float(out.at("output")).storage(), y.output.storage());
  EXPECT_EQ(out.to_float(out.at("h_n")).storage(), y.h_n.storage());
  for (int64_t t = 3; t < 5; ++t) {  // sequence 1 (length 3) is zero-padded
    for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(y.output[(t * 2 + 1) * 8 + j], 0.0f);
  }
}

TEST(CliForward, KerasMergeModeIsRecordedAndApplied) {
  test::TempDir dir;
  const std::string model = dir.file("m.safetensors");
  ASSERT_EQ(
      run_cli("init --cell gru --input-size 3 --hidden-size 4 --bidirectional --merge ave --gru-reset before -o " +
              model)
          .exit_code,
      0);
  const RecurrentModel m = load_recurrent_model(model);
  EXPECT_EQ(m.options.merge, BidirectionalMerge::ave);
  EXPECT_EQ(m.options.cell.gru_reset, GruReset::before);
  Tensor<float> x({5, 2, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(std::cos(static_cast<double>(i)));
  write_safetensors(dir.file("in.safetensors"), {safetensors_tensor("input", x.view())}, {});
  const auto r = run_cli("forward " + model + " " + dir.file("in.safetensors") + " -o " + dir.file("out.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(SafetensorsFile::read(dir.file("out.safetensors")).at("output").shape, (Shape{5, 2, 4}));
  const auto bad =
      run_cli("init --cell gru --input-size 3 --hidden-size 4 --merge sum -o " + dir.file("x.safetensors"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("--merge sum needs --bidirectional"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
}

TEST(CliForward, BadInputIsAnErrorAndLeavesNoOutput) {
  test::TempDir dir;
  const std::string model = dir.file("m.safetensors"), out = dir.file("out.safetensors");
  ASSERT_EQ(run_cli("init --cell gru --input-size 3 --hidden-size 4 -o " + model).exit_code, 0);
  Tensor<float> wrong({5, 2, 7}), ok({5, 2, 3}), c0({1, 2, 4});
  Tensor<double> too_long({2}, std::vector<double>{6, 1});
  write_safetensors(dir.file("wrong.safetensors"), {safetensors_tensor("input", wrong.view())}, {});
  write_safetensors(dir.file("nothing.safetensors"), {safetensors_tensor("x", ok.view())}, {});
  write_safetensors(dir.file("lengths.safetensors"),
                    {safetensors_tensor("input", ok.view()), safetensors_tensor("lengths", too_long.view())}, {});
  write_safetensors(dir.file("c0.safetensors"),
                    {safetensors_tensor("input", ok.view()), safetensors_tensor("c0", c0.view())}, {});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"wrong.safetensors", "expected input size 3"},
      {"nothing.safetensors", "no tensor named 'input'"},
      {"lengths.safetensors", "lengths[0] is 6, expected a value in [1, 5]"},
      {"c0.safetensors", "only an LSTM has a cell state"},
  };
  for (const auto& [file, message] : cases) {
    const auto r = run_cli("forward " + model + " " + dir.file(file) + " -o " + out);
    EXPECT_EQ(r.exit_code, 1) << file << ": " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << file << ": " << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << file;
  }
  // NaN or infinity anywhere in input, h0 or c0 is refused, naming the tensor and the element.
  Tensor<float> nan_input({5, 2, 3}), h0({1, 2, 4});
  nan_input.storage()[1 * 6 + 1 * 3 + 2] = std::numeric_limits<float>::quiet_NaN();
  h0.storage()[5] = -std::numeric_limits<float>::infinity();
  write_safetensors(dir.file("nan.safetensors"), {safetensors_tensor("input", nan_input.view())}, {});
  write_safetensors(dir.file("inf_h0.safetensors"),
                    {safetensors_tensor("input", ok.view()), safetensors_tensor("h0", h0.view())}, {});
  for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{
           {"nan.safetensors", "tensor 'input' holds nan at [1, 1, 2]"},
           {"inf_h0.safetensors", "tensor 'h0' holds -inf at [0, 1, 1]"}}) {
    const auto r = run_cli("forward " + model + " " + dir.file(file) + " -o " + out);
    EXPECT_EQ(r.exit_code, 1) << file << ": " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << file << ": " << r.output;
    EXPECT_NE(r.output.find("--allow-nonfinite"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << file;
  }
  // Asked for, the NaN flows through: the batch entry that held it is NaN, the other is not.
  ASSERT_EQ(run_cli("forward --allow-nonfinite " + model + " " + dir.file("nan.safetensors") + " -o " + out).exit_code,
            0);
  const SafetensorsFile y = SafetensorsFile::read(out);
  const Tensor<float> h_n = y.to_float(y.at("h_n"));
  EXPECT_TRUE(std::isnan(h_n.storage()[4])) << "batch entry 1";
  EXPECT_TRUE(std::isfinite(h_n.storage()[0])) << "batch entry 0";
  std::filesystem::remove(out);

  const auto not_a_model =
      run_cli("forward " + dir.file("wrong.safetensors") + " " + dir.file("wrong.safetensors") + " -o " + out);
  EXPECT_EQ(not_a_model.exit_code, 1);
  EXPECT_NE(not_a_model.output.find("no rnnkit.model metadata"), std::string::npos) << not_a_model.output;
}

TEST(CliConvert, ImportForwardExportRoundTripsAPytorchStateDict) {
  test::TempDir dir;
  const std::string fixtures = std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/pytorch/";
  const std::string source = fixtures + "encoder_lstm_proj_bi_2layers.safetensors";
  const std::string model = dir.file("m.safetensors"), back = dir.file("back.safetensors");
  const auto imported = run_cli("import --from pytorch --prefix encoder.rnn. --scope enc " + source + " -o " + model);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find("lstm layer 'enc'"), std::string::npos) << imported.output;
  EXPECT_NE(imported.output.find("I=3, H=5, P=2, 2 layer(s), bidirectional"), std::string::npos) << imported.output;
  // rnnkit forward gives PyTorch's numbers for PyTorch's inputs.
  const auto fwd = run_cli("forward " + model + " " + fixtures + "encoder_lstm_proj_bi_2layers.io.safetensors -o " +
                           dir.file("out.safetensors"));
  ASSERT_EQ(fwd.exit_code, 0) << fwd.output;
  const SafetensorsFile io = SafetensorsFile::read(fixtures + "encoder_lstm_proj_bi_2layers.io.safetensors");
  const SafetensorsFile out = SafetensorsFile::read(dir.file("out.safetensors"));
  for (const char* name : {"output", "h_n", "c_n"}) {
    const Tensor<float> want = io.to_float(io.at(name)), got = out.to_float(out.at(name));
    ASSERT_EQ(got.shape(), want.shape()) << name;
    for (int64_t i = 0; i < got.numel(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << name << " " << i;
  }
  // Export restores the original names (with the recorded prefix) and bytes.
  const auto exported = run_cli("export --to pytorch " + model + " -o " + back);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const SafetensorsFile original = SafetensorsFile::read(source), copy = SafetensorsFile::read(back);
  EXPECT_EQ(copy.entries().size(), original.entries().size() - 2);  // not the embedding and the head
  for (const SafetensorsEntry& e : copy.entries()) {
    const SafetensorsEntry& o = original.at(e.name);
    EXPECT_EQ(e.dtype, o.dtype);
    EXPECT_EQ(e.shape, o.shape);
    const auto a = copy.bytes(e), b = original.bytes(o);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << e.name;
  }
  const auto renamed = run_cli("export --to pytorch --prefix '' " + model + " -o " + dir.file("plain.safetensors"));
  ASSERT_EQ(renamed.exit_code, 0) << renamed.output;
  EXPECT_NE(SafetensorsFile::read(dir.file("plain.safetensors")).find("weight_hr_l1_reverse"), nullptr);
}

TEST(CliConvert, BadStateDictsGetNamedErrorsAndNoOutput) {
  test::TempDir dir;
  const std::string fixtures = std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/pytorch/";
  const std::string out = dir.file("out.safetensors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"import --from pytorch " + fixtures + "encoder_lstm_proj_bi_2layers.safetensors -o " + out,
       "pass --prefix encoder.rnn."},
      {"import --from pytorch --nonlinearity relu " + fixtures + "gru_bi.safetensors -o " + out,
       "only nn.RNN has tanh or relu"},
      {"import --from pytorch " + fixtures + "gru_bi.io.safetensors -o " + out, "no recurrent parameters"},
      {"import --from pytorch " + dir.file("absent.safetensors") + " -o " + out, "absent.safetensors"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 1) << args << ": " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << ": " << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  }
  EXPECT_EQ(run_cli("import --from caffe " + fixtures + "gru_bi.safetensors -o " + out).exit_code, 2);
  ASSERT_EQ(
      run_cli("init --cell gru --input-size 3 --hidden-size 4 --gru-reset before -o " + dir.file("tf.safetensors"))
          .exit_code,
      0);
  const auto r = run_cli("export --to pytorch " + dir.file("tf.safetensors") + " -o " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("applies its reset before the recurrent product"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace rnnkit

namespace rnnkit {
namespace {

// Thousands of threads (which crashed inside the BLAS) are capped at the CPUs the process may
// use, and the command says so.
TEST(Cli, ThreadsBeyondTheMachineAreCappedAndSaid) {
  test::TempDir dir;
  const auto r =
      test::run_cli("init --cell lstm --input-size 3 --hidden-size 4 --threads 4096 -o " + dir.file("m.safetensors"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("note: --threads 4096 is more than the "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" CPU(s) this process may use; computing with "), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rnnkit

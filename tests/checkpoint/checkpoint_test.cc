// Checkpoints: save and restore round trip, metadata, partial restore with globs and
// renames, strict and lenient modes, shape mismatches, dtype conversion.
#include "rnnkit/checkpoint/checkpoint.h"

#include <gtest/gtest.h>

#include "rnnkit/core/error.h"
#include "rnnkit/core/version.h"
#include "test_support.h"

namespace rnnkit {
namespace {

void build_pretrained(VariableStore& store) {
  auto s = store.scope("pretrain");
  auto l = store.scope("lstm");
  store.get_variable("l0/fw/weight_ih", {8, 3}, {.gate_letters = "ifgo"});
  store.get_variable("l0/fw/weight_hh", {8, 2}, {.initializer = parse_initializer("orthogonal")});
  store.get_variable("l0/fw/bias_ih", {8}, {.initializer = parse_initializer("gates(f=ones)"), .gate_letters = "ifgo"});
}

std::vector<float> values_of(VariableStore& store, const std::string& name) {
  const auto v = store.value<float>(store.at(name));
  return {v.span().begin(), v.span().end()};
}

TEST(Checkpoint, SaveRestoreRoundTripIsBitExact) {
  test::TempDir dir;
  VariableStore a(5);
  build_pretrained(a);
  a.set_trainable("**/bias_ih", false);
  save_checkpoint(a, dir.file("a.safetensors"), {.model_json = R"({"kind":"test"})"});

  VariableStore b(6);  // another seed: different values until restored
  build_pretrained(b);
  EXPECT_NE(values_of(a, "pretrain/lstm/l0/fw/weight_ih"), values_of(b, "pretrain/lstm/l0/fw/weight_ih"));
  const RestoreReport report = restore_checkpoint(b, dir.file("a.safetensors"));
  EXPECT_EQ(report.loaded.size(), 3u);
  EXPECT_TRUE(report.complete());
  for (const Variable& v : a.variables()) EXPECT_EQ(values_of(a, v.name), values_of(b, v.name)) << v.name;
  EXPECT_EQ(b.at("pretrain/lstm/l0/fw/weight_ih").source,
            "checkpoint " + dir.file("a.safetensors") + ":pretrain/lstm/l0/fw/weight_ih");

  const SafetensorsFile file = SafetensorsFile::read(dir.file("a.safetensors"));
  EXPECT_EQ(file.metadata().at("format"), "rnnkit");
  EXPECT_EQ(file.metadata().at("rnnkit.version"), kVersion);
  EXPECT_EQ(file.metadata().at("rnnkit.seed"), "5");
  EXPECT_EQ(file.metadata().at("rnnkit.model"), R"({"kind":"test"})");
  const auto info = stored_variable_info(file);
  EXPECT_EQ(info.at("pretrain/lstm/l0/fw/weight_hh").init_spec, "orthogonal(gain=1.0, version=2)");
  EXPECT_EQ(info.at("pretrain/lstm/l0/fw/bias_ih").gate_letters, "ifgo");
  EXPECT_FALSE(info.at("pretrain/lstm/l0/fw/bias_ih").trainable);
}

TEST(Checkpoint, PrefixRenameMovesWeightsIntoAnotherModel) {
  test::TempDir dir;
  VariableStore pre(1);
  build_pretrained(pre);
  pre.get_variable("pretrain/softmax/weight", {5, 2});
  save_checkpoint(pre, dir.file("pre.safetensors"));

  VariableStore model(2);
  {
    auto s = model.scope("classifier");
    auto e = model.scope("encoder");
    model.get_variable("l0/fw/weight_ih", {8, 3});
    model.get_variable("l0/fw/weight_hh", {8, 2});
    model.get_variable("l0/fw/bias_ih", {8});
  }
  model.get_variable("classifier/head/weight", {4, 2});
  const std::vector<float> head_before = values_of(model, "classifier/head/weight");

  RestoreOptions options;
  options.renames = {parse_rename("pretrain/lstm/=classifier/encoder/")};
  options.include = {"classifier/encoder/**"};
  const RestoreReport report = restore_checkpoint(model, dir.file("pre.safetensors"), options);
  EXPECT_TRUE(report.complete()) << report.summary();
  EXPECT_EQ(report.loaded.size(), 3u);
  EXPECT_EQ(report.skipped, std::vector<std::string>{"pretrain/softmax/weight"});
  EXPECT_EQ(values_of(model, "classifier/encoder/l0/fw/weight_hh"), values_of(pre, "pretrain/lstm/l0/fw/weight_hh"));
  EXPECT_EQ(values_of(model, "classifier/head/weight"), head_before);  // untouched
}

TEST(Checkpoint, StrictModeFailsWithoutChangingAnything) {
  test::TempDir dir;
  VariableStore pre(1);
  build_pretrained(pre);
  save_checkpoint(pre, dir.file("pre.safetensors"));

  VariableStore model(2);
  {
    auto s = model.scope("pretrain");
    auto l = model.scope("lstm");
    model.get_variable("l0/fw/weight_ih", {8, 3});
    model.get_variable("l0/fw/weight_hh", {8, 5});  // another shape
    model.get_variable("l0/fw/bias_hh", {8});       // not in the checkpoint
  }
  const std::vector<float> before = values_of(model, "pretrain/lstm/l0/fw/weight_ih");
  try {
    restore_checkpoint(model, dir.file("pre.safetensors"), {.renames = {{"nothing/", "matches/"}}});
    FAIL() << "strict restore should fail";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("nothing was loaded"), std::string::npos) << message;
    EXPECT_NE(message.find("missing in checkpoint: pretrain/lstm/l0/fw/bias_hh"), std::string::npos) << message;
    EXPECT_NE(message.find("not in the store: pretrain/lstm/l0/fw/bias_ih"), std::string::npos) << message;
    EXPECT_NE(message.find("is [8,2] F32, the variable is [8,5]"), std::string::npos) << message;
    EXPECT_NE(message.find("rename matched nothing: nothing/=matches/"), std::string::npos) << message;
  }
  EXPECT_EQ(values_of(model, "pretrain/lstm/l0/fw/weight_ih"), before);

  // Lenient: loads what fits, reports the rest.
  const RestoreReport report = restore_checkpoint(model, dir.file("pre.safetensors"), {.strict = false});
  EXPECT_EQ(report.loaded.size(), 1u);
  EXPECT_EQ(report.missing.size(), 1u);
  EXPECT_EQ(report.unexpected.size(), 1u);
  EXPECT_EQ(report.shape_mismatched.size(), 1u);
  EXPECT_EQ(values_of(model, "pretrain/lstm/l0/fw/weight_ih"), values_of(pre, "pretrain/lstm/l0/fw/weight_ih"));
}

TEST(Checkpoint, ExactRenamesExcludesAndCollisions) {
  test::TempDir dir;
  VariableStore pre(1);
  pre.get_variable("a", {2});
  pre.get_variable("b", {2});
  save_checkpoint(pre, dir.file("p.safetensors"));

  VariableStore model(2);
  model.get_variable("x", {2});
  model.get_variable("b", {2});
  const RestoreReport report =
      restore_checkpoint(model, dir.file("p.safetensors"), {.exclude = {"b"}, .renames = {{"a", "x"}}});
  EXPECT_EQ(report.loaded, (std::vector<std::pair<std::string, std::string>>{{"x", "a"}}));
  EXPECT_EQ(report.skipped, std::vector<std::string>{"b"});
  EXPECT_THROW(restore_checkpoint(model, dir.file("p.safetensors"), {.renames = {{"a", "b"}}}), Error);  // a and b -> b
  EXPECT_THROW(parse_rename("a/=b"), Error);
  EXPECT_THROW(parse_rename("noequals"), Error);
  EXPECT_THROW(parse_rename("=b"), Error);
}

TEST(Checkpoint, Float64CheckpointsLoadIntoFloat32Stores) {
  test::TempDir dir;
  VariableStore wide(3, DType::f64);
  wide.get_variable("w", {3, 3}, {.initializer = parse_initializer("orthogonal")});
  save_checkpoint(wide, dir.file("w.safetensors"));
  EXPECT_EQ(SafetensorsFile::read(dir.file("w.safetensors")).at("w").dtype, "F64");
  VariableStore narrow(3);
  narrow.get_variable("w", {3, 3}, {.initializer = parse_initializer("zeros")});
  restore_checkpoint(narrow, dir.file("w.safetensors"));
  for (int64_t i = 0; i < 9; ++i) {
    EXPECT_EQ(narrow.value<float>(narrow.at("w"))[i], static_cast<float>(wide.value<double>(wide.at("w"))[i]));
  }
}

TEST(Checkpoint, SaveSubsetByGlob) {
  test::TempDir dir;
  VariableStore store(1);
  build_pretrained(store);
  save_checkpoint(store, dir.file("s.safetensors"), {.include = {"**/weight_*"}});
  EXPECT_EQ(SafetensorsFile::read(dir.file("s.safetensors")).entries().size(), 2u);
}

}  // namespace
}  // namespace rnnkit

// A text task's text through the command line: train pins it; evaluate, sample and
// train --resume read it only where and as it was pinned, or from --text; a checkpoint that
// names another path (unpinned, or pinned to a device) makes rnnkit read nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "rnnkit/train/run_config.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::run_cli;

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string training_text() {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the cat sat on the mat and the dog lay by the door. ";
  return text;
}

std::string config_for(const std::string& text_path) {
  return "seed = 3\n[model]\nhidden_size = 8\nembedding_size = 4\n[task]\ntext = \"" + text_path +
         "\"\nsteps = 16\nbatch_size = 2\n[train]\nsteps = 4\nlog_every = 2\neval_every = 4\neval_batches = 1\n"
         "checkpoint_every = 2\n";
}

// The checkpoint again, with its run config's task text changed by `edit`.
void rewrite_run_config(const std::string& from, const std::string& to, void (*edit)(TaskConfig&)) {
  test::rewrite_metadata(from, to, "rnnkit.run_config", [&](const std::string& toml) {
    RunConfig config = parse_run_config(toml, from);
    edit(config.task);
    return run_config_to_toml(config);
  });
}

std::string loss_line(const std::string& output) {
  const std::size_t at = output.find("loss: ");
  return at == std::string::npos ? "(no loss line)" : output.substr(at, output.find('\n', at) - at);
}

TEST(TaskTextCli, TrainPinsTheTextAndEvaluateFindsItOrAsksForIt) {
  test::TempDir dir;
  write(dir.file("text.txt"), training_text());
  write(dir.file("c.toml"), config_for(dir.file("text.txt")));
  const auto trained =
      run_cli("train --config " + dir.file("c.toml") + " --run-dir " + dir.file("run") + " --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const RunConfig recorded = read_run_config(dir.file("run/config.toml"));
  ASSERT_TRUE(recorded.task.text_size.has_value());
  EXPECT_EQ(*recorded.task.text_size, training_text().size());
  EXPECT_EQ(recorded.task.text_sha256.size(), 64u);

  const auto here = run_cli("evaluate " + dir.file("run"));
  ASSERT_EQ(here.exit_code, 0) << here.output;

  std::filesystem::rename(dir.file("text.txt"), dir.file("moved.txt"));
  const auto gone = run_cli("evaluate " + dir.file("run"));
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.output.find("text.txt"), std::string::npos) << gone.output;
  EXPECT_NE(gone.output.find("--text FILE"), std::string::npos) << gone.output;
  const auto given = run_cli("evaluate " + dir.file("run") + " --text " + dir.file("moved.txt"));
  ASSERT_EQ(given.exit_code, 0) << given.output;
  EXPECT_EQ(loss_line(given.output), loss_line(here.output));
  const auto sampled = run_cli("sample " + dir.file("run") + " --length 10 --text " + dir.file("moved.txt"));
  EXPECT_EQ(sampled.exit_code, 0) << sampled.output;

  write(dir.file("other.txt"), training_text() + "x");
  const auto other = run_cli("evaluate " + dir.file("run") + " --text " + dir.file("other.txt"));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.output.find("the run recorded " + std::to_string(training_text().size()) + " bytes"),
            std::string::npos)
      << other.output;

  // Resuming finds the text the same way.
  const auto resume_gone = run_cli("train --resume " + dir.file("run") + " --steps 6");
  EXPECT_EQ(resume_gone.exit_code, 1);
  EXPECT_NE(resume_gone.output.find("--text FILE"), std::string::npos) << resume_gone.output;
  const auto resumed = run_cli("train --resume " + dir.file("run") + " --steps 6 --text " + dir.file("moved.txt"));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(run_cli("train --config " + dir.file("c.toml") + " --text " + dir.file("moved.txt")).exit_code, 2);
}

TEST(TaskTextCli, ACheckpointNamingAnotherPathMakesRnnkitReadNothing) {
  test::TempDir dir;
  write(dir.file("text.txt"), training_text());
  write(dir.file("c.toml"), config_for(dir.file("text.txt")));
  ASSERT_EQ(run_cli("train --config " + dir.file("c.toml") + " --run-dir " + dir.file("run")).exit_code, 0);
  const std::string checkpoint = dir.file("run/checkpoints/step-0000004.safetensors");

  rewrite_run_config(checkpoint, dir.file("unpinned.safetensors"), [](TaskConfig& t) {
    t.text = "/etc/passwd";
    t.text_size.reset();
    t.text_sha256.clear();
  });
  const auto unpinned = run_cli("evaluate " + dir.file("unpinned.safetensors"));
  EXPECT_EQ(unpinned.exit_code, 1);
  EXPECT_NE(unpinned.output.find("names the text '/etc/passwd' but records neither its size nor its sha256"),
            std::string::npos)
      << unpinned.output;
  EXPECT_EQ(run_cli("sample " + dir.file("unpinned.safetensors")).exit_code, 1);
  // The user can still say which text it is.
  EXPECT_EQ(run_cli("evaluate " + dir.file("unpinned.safetensors") + " --text " + dir.file("text.txt")).exit_code, 0);

  rewrite_run_config(checkpoint, dir.file("device.safetensors"), [](TaskConfig& t) { t.text = "/dev/zero"; });
  const auto device = run_cli("evaluate " + dir.file("device.safetensors"));
  EXPECT_EQ(device.exit_code, 1);
  EXPECT_NE(device.output.find("/dev/zero"), std::string::npos) << device.output;
  EXPECT_NE(device.output.find("expected a regular file"), std::string::npos) << device.output;
}

}  // namespace
}  // namespace rnnkit

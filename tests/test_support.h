// Helpers shared by the tests: temporary directories, statistics with tolerances
// derived from the sample size, and running the rnnkit command.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string>

#include "rnnkit/core/error.h"

namespace rnnkit::test {

// A fresh directory under the system's temp dir, removed with its contents at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Checks sample mean and variance against the distribution's, with tolerances of
// `sigmas` standard errors: SE(mean) = sd/sqrt(n), SE(var) = var*sqrt((kurtosis-1)/n).
void expect_moments(std::span<const double> values, double mean, double stddev, double kurtosis,
                    double sigmas = 5.0);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs the rnnkit binary with `args` (already quoted for the shell).
CommandResult run_cli(const std::string& args);
// Runs a shell command line, stdout and stderr together.
CommandResult run_shell(const std::string& command);

std::string read_text(const std::string& path);

// The message of the rnnkit::Error that f() throws, or "" if it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const rnnkit::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace rnnkit::test

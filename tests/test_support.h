// Helpers shared by the tests: temporary directories, statistics with tolerances
// derived from the sample size, and running the rnnkit command.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>

#include "rnnkit/core/error.h"
#include "rnnkit/core/tensor.h"

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
void expect_moments(std::span<const double> values, double mean, double stddev, double kurtosis, double sigmas = 5.0);

// A running maximum that keeps a NaN: std::max(worst, NaN) returns worst, so a max-reduction
// built on it passes a NaN by as if it were not there. Compare the result with EXPECT_LE /
// EXPECT_LT against a tolerance, which a NaN fails.
inline double nan_max(double worst, double x) {
  return std::isnan(worst) || std::isnan(x) ? std::numeric_limits<double>::quiet_NaN() : std::max(worst, x);
}

// The largest |a[i] - b[i]| over n elements, NaN if either side holds a NaN anywhere.
template <class A, class B>
double max_abs_difference(const A* a, const B* b, int64_t n) {
  double worst = 0.0;
  for (int64_t i = 0; i < n; ++i)
    worst = nan_max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return worst;
}

// max |M^T M - I| (M M^T for a wide M) after dividing M by gain; NaN if M holds one.
double orthogonality_error(const Tensor<double>& m, double gain);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs the rnnkit binary with `args` (already quoted for the shell).
CommandResult run_cli(const std::string& args);
// Runs a shell command line, stdout and stderr together.
CommandResult run_shell(const std::string& command);

std::string read_text(const std::string& path);

// A copy of the safetensors file `from` at `to` with its metadata entry `key` (which must exist)
// rewritten by `edit`; tensors unchanged (and so their checksums still hold).
void rewrite_metadata(const std::string& from, const std::string& to, const std::string& key,
                      const std::function<std::string(std::string)>& edit);

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

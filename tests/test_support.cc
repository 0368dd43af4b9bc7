// Test helpers; see test_support.h.
#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/error.h"

namespace rnnkit::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rnnkit-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void expect_moments(std::span<const double> values, double mean, double stddev, double kurtosis, double sigmas) {
  const double n = static_cast<double>(values.size());
  double sum = 0.0;
  for (double x : values) sum += x;
  const double sample_mean = sum / n;
  double squares = 0.0;
  for (double x : values) squares += (x - mean) * (x - mean);
  const double sample_var = squares / n;  // about the true mean: its SE is the one below
  const double var = stddev * stddev;
  EXPECT_NEAR(sample_mean, mean, sigmas * stddev / std::sqrt(n)) << "mean of " << values.size() << " samples";
  EXPECT_NEAR(sample_var, var, sigmas * var * std::sqrt((kurtosis - 1.0) / n))
      << "variance of " << values.size() << " samples";
}

CommandResult run_cli(const std::string& args) { return run_shell(std::string(RNNKIT_CLI_PATH) + " " + args); }

CommandResult run_shell(const std::string& shell_command) {
  CommandResult result;
  const std::string command = "{ " + shell_command + "; } 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double orthogonality_error(const Tensor<double>& m, double gain) {
  const int64_t rows = m.dim(0), cols = m.dim(1);
  const bool wide = rows < cols;
  const int64_t n = wide ? rows : cols, len = wide ? cols : rows;
  double worst = 0.0;
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = 0; b < n; ++b) {
      double s = 0.0;
      for (int64_t k = 0; k < len; ++k) s += wide ? m(a, k) * m(b, k) : m(k, a) * m(k, b);
      worst = nan_max(worst, std::abs(s / (gain * gain) - (a == b ? 1.0 : 0.0)));
    }
  }
  return worst;
}

void rewrite_metadata(const std::string& from, const std::string& to, const std::string& key,
                      const std::function<std::string(std::string)>& edit) {
  const SafetensorsFile file = SafetensorsFile::read(from);
  std::vector<SafetensorsTensor> tensors;
  for (const SafetensorsEntry& e : file.entries()) tensors.push_back({e.name, e.dtype, e.shape, file.bytes(e)});
  std::map<std::string, std::string> metadata = file.metadata();
  if (!metadata.contains(key)) throw Error("rewrite_metadata: '" + from + "' has no metadata '" + key + "'");
  metadata[key] = edit(metadata[key]);
  write_safetensors(to, tensors, metadata);
}

}  // namespace rnnkit::test

// A training run's directory; see train/run_directory.h.
#include "rnnkit/train/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPrefix = "step-";
constexpr const char* kSuffix = ".safetensors";

void write_text(const std::string& path, const std::string& text) {
  write_file_atomically(path, {std::as_bytes(std::span<const char>(text.data(), text.size()))});
}

std::string read_text(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

RunDirectory RunDirectory::create(const std::string& path, const RunConfig& config) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!fs::is_directory(path, ec) || !fs::is_empty(path, ec)) {
      throw Error("run directory '" + path + "' already exists and is not empty: pass --resume " + path +
                  " to continue that run, or another --run-dir");
    }
  }
  fs::create_directories(fs::path(path) / "checkpoints", ec);
  if (ec) throw Error("run directory '" + path + "': cannot create it: " + ec.message());
  RunDirectory dir(path);
  dir.write("config.toml", run_config_to_toml(config));
  return dir;
}

RunDirectory RunDirectory::open(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(path) / "config.toml", ec)) {
    throw Error("run directory '" + path + "': no config.toml (expected a directory rnnkit train created)");
  }
  return RunDirectory(path);
}

RunConfig RunDirectory::config() const { return read_run_config((fs::path(path_) / "config.toml").string()); }

std::string RunDirectory::checkpoint_path(int64_t step) const {
  char name[64];
  std::snprintf(name, sizeof name, "%s%07lld%s", kPrefix, static_cast<long long>(step), kSuffix);
  return (fs::path(path_) / "checkpoints" / name).string();
}

int64_t RunDirectory::checkpoint_step(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    throw Error("'" + path + "' is not named like a run checkpoint (step-NNNNNNN.safetensors)");
  }
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("'" + path + "' is not named like a run checkpoint (step-NNNNNNN.safetensors)");
  }
  return std::stoll(digits);
}

std::optional<std::string> RunDirectory::latest_checkpoint() const {
  std::optional<std::string> best;
  int64_t best_step = -1;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(fs::path(path_) / "checkpoints", ec)) {
    try {
      const int64_t step = checkpoint_step(e.path().string());
      if (step > best_step) {
        best_step = step;
        best = e.path().string();
      }
    } catch (const Error&) {
      // not a checkpoint (a temporary file of an interrupted save, say)
    }
  }
  return best;
}

void RunDirectory::append_metrics(const std::string& json_line) const {
  std::ofstream out(fs::path(path_) / "metrics.jsonl", std::ios::app);
  out << json_line << "\n";
  out.flush();
  if (!out) throw Error("run directory '" + path_ + "': cannot append to metrics.jsonl");
}

void RunDirectory::truncate_metrics(int64_t step) const {
  const fs::path file = fs::path(path_) / "metrics.jsonl";
  std::error_code ec;
  if (!fs::exists(file, ec)) return;
  const std::string text = read_text(file.string());
  std::string kept;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || !j["step"].is_number_integer()) continue;  // cut by a crash
    if (j["step"].get<int64_t>() <= step) kept += line + "\n";
  }
  write_text(file.string(), kept);
}

void RunDirectory::write(const std::string& name, const std::string& text) const {
  write_text((fs::path(path_) / name).string(), text);
}

struct RunDirectory::Lock {
  int fd = -1;
  ~Lock() {
    if (fd >= 0) ::close(fd);  // closing releases the flock
  }
};

void RunDirectory::lock() {
  if (lock_) return;
  const std::string file = (fs::path(path_) / "rnnkit.lock").string();
  auto held = std::make_shared<Lock>();
  held->fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (held->fd < 0) throw Error("run directory '" + path_ + "': cannot open its lock file: " + std::strerror(errno));
  if (::flock(held->fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t got = ::pread(held->fd, pid, sizeof pid - 1, 0);
    const std::string holder = got > 0 ? std::string(pid, static_cast<std::size_t>(got)) : "unknown";
    if (err == EWOULDBLOCK) {
      throw Error("run directory '" + path_ + "' is in use: rnnkit train (pid " + holder +
                  ") holds its lock; wait for that run to end, or stop it");
    }
    throw Error("run directory '" + path_ + "': cannot lock it: " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(held->fd, 0) != 0 || ::pwrite(held->fd, pid.data(), pid.size(), 0) < 0) {
    throw Error("run directory '" + path_ + "': cannot write its lock file: " + std::strerror(errno));
  }
  lock_ = std::move(held);
}

int RunDirectory::remove_stale_temporaries() const {
  if (!lock_) throw Error("run directory '" + path_ + "': remove_stale_temporaries needs the lock");
  int removed = 0;
  for (const fs::path& folder : {fs::path(path_), fs::path(path_) / "checkpoints"}) {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(folder, ec)) {
      if (e.is_regular_file(ec) && is_atomic_write_temporary(e.path().filename().string()) && fs::remove(e.path(), ec))
        ++removed;
    }
  }
  return removed;
}

ParameterBudget checkpoint_budget(const SafetensorsFile& file) {
  int64_t elements = 0;
  for (const SafetensorsEntry& e : file.entries()) elements += shape_numel(e.shape);  // bounded by the file size
  return {elements, "as many as checkpoint '" + file.origin() +
                        "' holds in all: its run config describes a larger model than the file"};
}

RunCheckpoint locate_run_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const RunDirectory dir = RunDirectory::open(path);
    const std::optional<std::string> latest = dir.latest_checkpoint();
    if (!latest) throw Error("run directory '" + path + "': no checkpoint in " + path + "/checkpoints");
    return {dir.config(), *latest, checkpoint_budget(SafetensorsFile::read(*latest))};
  }
  const SafetensorsFile file = SafetensorsFile::read(path);
  const auto it = file.metadata().find("rnnkit.run_config");
  if (it == file.metadata().end()) {
    throw Error("checkpoint '" + path + "' has no rnnkit.run_config metadata: only checkpoints rnnkit train wrote " +
                "say which model and task they belong to");
  }
  return {parse_run_config(it->second, path + " (rnnkit.run_config)"), path, checkpoint_budget(file)};
}

std::string metrics_line(const StepRecord& r) {
  nlohmann::ordered_json j;
  j["kind"] = "train";
  j["step"] = r.step;
  j["loss"] = r.loss;
  j["metric"] = r.metric;
  if (r.accuracy) j["accuracy"] = *r.accuracy;
  j["grad_norm"] = r.gradient_norm;
  j["lr"] = r.learning_rate;
  j["seconds"] = r.seconds;
  if (r.communication_seconds > 0) j["allreduce_seconds"] = r.communication_seconds;
  return j.dump();
}

std::string metrics_line(const EvalRecord& r) {
  nlohmann::ordered_json j;
  j["kind"] = "eval";
  j["step"] = r.step;
  j["loss"] = r.loss;
  j["metric"] = r.metric;
  if (r.accuracy) j["accuracy"] = *r.accuracy;
  return j.dump();
}

}  // namespace rnnkit

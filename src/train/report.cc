// The training report page; see train/report.h. The data is computed here; the drawing
// is the script in report_page.h.
#include "rnnkit/train/report.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../analysis/html_plots.h"
#include "report_page.h"
#include "rnnkit/analysis/inspect.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/error.h"
#include "rnnkit/train/run_directory.h"
#include "rnnkit/train/task.h"

namespace rnnkit {
namespace {

using Json = nlohmann::ordered_json;
constexpr int kBins = 40;

Json stats_json(const WeightStats& s) {
  Json j{{"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max}};
  if (s.sigma_max) j["sigma_max"] = *s.sigma_max;
  return j;
}

Json histogram(const Tensor<double>& values, double lo, double hi) {
  std::vector<int64_t> counts(kBins, 0);
  const double width = hi > lo ? (hi - lo) / kBins : 1.0;
  for (const double v : values.storage()) {
    const auto bin = static_cast<int64_t>((v - lo) / width);
    ++counts[static_cast<std::size_t>(std::clamp<int64_t>(bin, 0, kBins - 1))];
  }
  return counts;
}

// Every variable of the final checkpoint, with its statistics and histogram at the start
// and the end (histograms over the same bins).
Json variables_json(const std::string& first_path, const std::string& last_path) {
  const SafetensorsFile first = SafetensorsFile::read(first_path);
  const SafetensorsFile last = SafetensorsFile::read(last_path);
  const InspectReport start = inspect_checkpoint(first);
  const InspectReport end = inspect_checkpoint(last);
  Json out = Json::array();
  for (const InspectRow& row : end.rows) {
    const auto before =
        std::find_if(start.rows.begin(), start.rows.end(), [&](const InspectRow& r) { return r.name == row.name; });
    Json v{{"name", row.name},     {"shape", row.shape},       {"init", row.init_spec},
           {"source", row.source}, {"frozen", !row.trainable}, {"end", stats_json(row.stats)}};
    const Tensor<double> end_values = last.to_double(last.at(row.name));
    double lo = row.stats.min, hi = row.stats.max;
    if (before != start.rows.end()) {
      v["start"] = stats_json(before->stats);
      lo = std::min(lo, before->stats.min);
      hi = std::max(hi, before->stats.max);
      v["start_hist"] = histogram(first.to_double(first.at(row.name)), lo, hi);
    }
    v["end_hist"] = histogram(end_values, lo, hi);
    v["range"] = {lo, hi};
    Json gates = Json::array();
    for (std::size_t g = 0; g < row.gates.size(); ++g) {
      Json gate{{"gate", std::string(1, row.gates[g].gate)}};
      if (row.gates[g].stats.sigma_max) gate["end_sigma"] = *row.gates[g].stats.sigma_max;
      if (before != start.rows.end() && g < before->gates.size() && before->gates[g].stats.sigma_max) {
        gate["start_sigma"] = *before->gates[g].stats.sigma_max;
      }
      gates.push_back(gate);
    }
    v["gates"] = gates;
    out.push_back(v);
  }
  return out;
}

Json curves_json(const std::string& metrics_path) {
  std::ifstream in(metrics_path);
  if (!in) throw Error("report: cannot read '" + metrics_path + "'");
  Json train{{"step", Json::array()},
             {"loss", Json::array()},
             {"metric", Json::array()},
             {"grad_norm", Json::array()},
             {"lr", Json::array()}};
  Json eval{{"step", Json::array()}, {"metric", Json::array()}};
  int64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("kind") || !j.contains("step")) {
      throw Error("report: '" + metrics_path + "' line " + std::to_string(line_number) + " is not a metrics record");
    }
    // A number, or null for a value JSON cannot hold (a loss that went to inf); absent: 0.
    auto number = [&](const char* key) -> Json {
      if (!j.contains(key)) return 0.0;
      if (!j[key].is_number() && !j[key].is_null()) {
        throw Error("report: '" + metrics_path + "' line " + std::to_string(line_number) + ": '" + key +
                    "' must be a number, found " + j[key].dump());
      }
      return j[key];
    };
    if (j["kind"] == "train") {
      for (const char* key : {"step", "loss", "metric", "grad_norm", "lr"}) train[key].push_back(number(key));
    } else if (j["kind"] == "eval") {
      eval["step"].push_back(number("step"));
      eval["metric"].push_back(number("metric"));
    }
  }
  if (train["step"].empty()) throw Error("report: '" + metrics_path + "' has no training steps");
  return {{"train", train}, {"eval", eval}};
}

}  // namespace

std::string training_report_html(const std::string& run_dir) {
  const RunDirectory dir = RunDirectory::open(run_dir);
  const RunConfig config = dir.config();
  const std::optional<std::string> last = dir.latest_checkpoint();
  const std::string first = dir.checkpoint_path(0);
  if (!last || !std::filesystem::exists(first)) {
    throw Error("report: run directory '" + run_dir + "' needs its step-0 checkpoint and at least one more");
  }
  Json data;
  data["run"] = run_dir;
  data["task"] = config.task.name;
  const std::unique_ptr<TrainingTask> task = TrainingTask::create(config.task);
  data["metric"] = task->metric_name();
  data["baseline"] = task->baseline();
  data["final_step"] = RunDirectory::checkpoint_step(*last);
  data["config"] = run_config_to_toml(config);
  data["curves"] = curves_json(run_dir + "/metrics.jsonl");
  data["variables"] = variables_json(first, *last);
  return self_contained_page("rnnkit training report", kReportStyle, kReportBody, data.dump(), kReportScript);
}

}  // namespace rnnkit

// rnnkit inspect: how was each weight initialized, and what does it look like now?
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cell_arguments.h"
#include "commands.h"
#include "rnnkit/analysis/inspect.h"
#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_model.h"

namespace rnnkit::cli {
namespace {

struct InspectArgs {
  std::string file;
  bool json = false;
  bool verify = false;
  int threads = 0;
};

std::string number(double x) { return significant(x, 5); }

nlohmann::ordered_json stats_json(const WeightStats& s) {
  nlohmann::ordered_json j;
  j["count"] = s.count;
  j["mean"] = s.mean;
  j["std"] = s.std;
  j["min"] = s.min;
  j["max"] = s.max;
  j["sigma_max"] = s.sigma_max ? nlohmann::ordered_json(*s.sigma_max) : nlohmann::ordered_json(nullptr);
  return j;
}

const char* status_name(TensorChecksum::Status status) {
  switch (status) {
    case TensorChecksum::Status::ok: return "ok";
    case TensorChecksum::Status::mismatch: return "mismatch";
    case TensorChecksum::Status::unrecorded: return "unrecorded";
    case TensorChecksum::Status::missing: return "missing";
  }
  return "?";
}

// One line of what the checksums say, for the table.
std::string checksums_summary(const ChecksumReport& c) {
  if (!c.recorded) return "none recorded (a file from another writer, or from an rnnkit before checksums)";
  if (c.failures() == 0) return "crc32c of all " + std::to_string(c.tensors.size()) + " tensors as recorded";
  return std::to_string(c.failures()) + " of " + std::to_string(c.tensors.size()) +
         " tensors fail (--verify lists them)";
}

nlohmann::ordered_json checksums_json(const ChecksumReport& c) {
  nlohmann::ordered_json j;
  j["recorded"] = c.recorded;
  j["failures"] = c.failures();
  j["tensors"] = nlohmann::ordered_json::array();
  for (const TensorChecksum& t : c.tensors) {
    char recorded[9], computed[9];
    std::snprintf(recorded, sizeof recorded, "%08x", t.recorded);
    std::snprintf(computed, sizeof computed, "%08x", t.computed);
    nlohmann::ordered_json row;
    row["name"] = t.tensor;
    row["status"] = status_name(t.status);
    if (t.status != TensorChecksum::Status::unrecorded) row["recorded"] = recorded;
    if (t.status != TensorChecksum::Status::missing) row["computed"] = computed;
    j["tensors"].push_back(row);
  }
  return j;
}

// inspect --verify: every tensor against the file's checksums; Error (exit 1) if any fails.
void run_verify(const InspectArgs& args) {
  const SafetensorsFile file = SafetensorsFile::read(args.file, ChecksumPolicy::skip);
  const ChecksumReport report = verify_tensor_checksums(file);
  if (args.json) {
    nlohmann::ordered_json j;
    j["file"] = file.origin();
    j["checksums"] = checksums_json(report);
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "file: " << file.origin() << "\n";
    if (!report.recorded) {
      std::cout << "checksums: " << checksums_summary(report) << "; nothing to verify against\n";
    }
    for (const TensorChecksum& t : report.tensors) {
      std::cout << (t.status == TensorChecksum::Status::ok ? "ok    " : "FAIL  ") << describe(t) << "\n";
    }
  }
  if (report.failures() > 0) {
    throw Error("'" + args.file + "': " + std::to_string(report.failures()) + " of " +
                std::to_string(report.tensors.size()) + " tensors fail their recorded checksums");
  }
  if (!args.json && report.recorded) {
    std::cout << "all " << report.tensors.size() << " tensors match their recorded crc32c\n";
  }
}

void print_json(const InspectReport& report) {
  nlohmann::ordered_json j;
  j["file"] = report.origin;
  j["metadata"] = report.metadata;
  j["checksums"] = checksums_json(report.checksums);
  j["variables"] = nlohmann::ordered_json::array();
  for (const InspectRow& row : report.rows) {
    nlohmann::ordered_json v;
    v["name"] = row.name;
    v["shape"] = row.shape;
    v["dtype"] = row.dtype;
    v["init"] = row.init_spec.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.init_spec);
    if (!row.source.empty()) v["source"] = row.source;
    v["trainable"] = row.trainable;
    v["stats"] = stats_json(row.stats);
    v["gates"] = nlohmann::ordered_json::array();
    for (const GateStats& g : row.gates) {
      nlohmann::ordered_json gj = stats_json(g.stats);
      gj["gate"] = std::string(1, g.gate);
      v["gates"].push_back(gj);
    }
    j["variables"].push_back(v);
  }
  std::cout << j.dump(2) << "\n";
}

void print_table(const InspectReport& report) {
  std::cout << "file: " << report.origin << "\n";
  if (const auto it = report.metadata.find("rnnkit.model"); it != report.metadata.end()) {
    try {  // how the layer is built and computes, in words (the JSON is on the rnnkit.model line)
      const RecurrentDescription d = parse_recurrent_model_json(it->second, "rnnkit.model");
      std::cout << "model: " << describe_layer(d.spec, d.options) << ", under '" << d.scope << "'\n";
    } catch (const Error& e) {
      std::cout << "model: not readable by this rnnkit: " << e.what() << "\n";
    }
  }
  for (const auto& [key, value] : report.metadata) {
    if (value.find('\n') == std::string::npos) {
      std::cout << key << ": " << value << "\n";
    } else {  // a run's whole configuration: --json shows it
      std::cout << key << ": (" << std::count(value.begin(), value.end(), '\n') << " lines; --json shows them)\n";
    }
  }
  std::cout << "checksums: " << checksums_summary(report.checksums) << "\n";
  if (report.state_tensors > 0) {
    std::cout << "training state: " << report.state_tensors << " tensors (optimizer slots, carried state)\n";
  }
  struct Line {
    std::vector<std::string> cells;
  };
  std::vector<Line> lines;
  lines.push_back(
      {{"name", "shape", "dtype", "mean", "std", "min", "max", "sigma_max", "init, or where the value came from"}});
  auto stat_cells = [](const WeightStats& s) {
    return std::vector<std::string>{number(s.mean), number(s.std), number(s.min), number(s.max),
                                    s.sigma_max ? number(*s.sigma_max) : "-"};
  };
  for (const InspectRow& row : report.rows) {
    std::vector<std::string> cells = {row.name, shape_to_string(row.shape), row.dtype};
    for (std::string& c : stat_cells(row.stats)) cells.push_back(std::move(c));
    // An imported or restored value says where it came from (format, file and original name).
    if (!row.source.empty() && row.source != "init") {
      cells.push_back("from " + row.source);
    } else {
      cells.push_back(row.init_spec.empty() ? "(not recorded)" : row.init_spec);
    }
    lines.push_back({cells});
    for (const GateStats& g : row.gates) {
      std::vector<std::string> gate_cells = {"  [" + std::string(1, g.gate) + "]", "", ""};
      for (std::string& c : stat_cells(g.stats)) gate_cells.push_back(std::move(c));
      gate_cells.emplace_back("");
      lines.push_back({gate_cells});
    }
  }
  std::vector<std::size_t> width(lines[0].cells.size(), 0);
  for (const Line& line : lines) {
    for (std::size_t i = 0; i < line.cells.size(); ++i) width[i] = std::max(width[i], line.cells[i].size());
  }
  std::cout << "\n";
  for (const Line& line : lines) {
    std::string text;
    for (std::size_t i = 0; i < line.cells.size(); ++i) {
      text += line.cells[i];
      if (i + 1 < line.cells.size()) text += std::string(width[i] - line.cells[i].size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    std::cout << text << "\n";
  }
}

void run_inspect(const InspectArgs& args) {
  apply_threads(args.threads);
  if (args.verify && !looks_like_tf_checkpoint(args.file)) {
    run_verify(args);
    return;
  }
  if (looks_like_tf_checkpoint(args.file)) {
    const TfCheckpoint checkpoint = TfCheckpoint::open(args.file);
    const InspectReport report = inspect_tf_checkpoint(checkpoint);  // reads every value: checksums verified
    if (args.verify) {
      std::cout << "all " << report.checksums.tensors.size() << " tensors of " << checkpoint.prefix()
                << " match their crc32c\n";
    } else if (args.json) {
      print_json(report);
    } else {
      print_table(report);
    }
    return;
  }
  const InspectReport report = inspect_checkpoint(SafetensorsFile::read(args.file));
  if (args.json) {
    print_json(report);
  } else {
    print_table(report);
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect",
                                     "Show every tensor of a safetensors file or TensorFlow checkpoint: shape, "
                                     "initializer, statistics");
  cmd->add_option("file", args->file,
                  "A safetensors file (rnnkit's or any other) or a TensorFlow checkpoint (prefix, .index, folder)")
      ->required();
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  cmd->add_flag("--verify", args->verify,
                "Check every tensor against the checksums rnnkit recorded when it wrote the file and list each "
                "one; exit 1 if any fails");
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_inspect(*args); });
}

}  // namespace rnnkit::cli

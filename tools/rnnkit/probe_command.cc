// rnnkit probe: how initializations differ before any training. For each initializer set
// (or the model a run config builds, or the weights of a training checkpoint or of a layer file
// from rnnkit init or import) and seed, the measurements of analysis/probe.h: gradient flow back
// through time (the state-space gradient and each layer's total derivative), the step
// Jacobian's norm, forward health and the recurrent spectra; as tables (median and range over
// seeds), JSON, and with -o DIR a self-contained HTML page (DIR/probe.html) beside DIR/probe.json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "cell_arguments.h"
#include "commands.h"
#include "rnnkit/analysis/probe_report.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "rnnkit/init/initializer.h"
#include "rnnkit/layers/recurrent_model.h"
#include "rnnkit/layers/recurrent_variables.h"
#include "rnnkit/train/run_directory.h"
#include "rnnkit/train/trainer.h"

namespace rnnkit::cli {
namespace {

struct ProbeArgs {
  std::string cell = "lstm";
  int64_t input_size = 32, hidden_size = 128, steps = 100, layers = 1, batch = 16, seeds = 3, jacobian_sequences = 4;
  std::vector<std::string> inits;
  std::string config, checkpoint, output_dir;
  CellArguments cell_options;
  bool json = false;
  int threads = 0;
};

std::string sci(double v) { return significant(v, 3); }

double median(std::vector<double> v) {
  std::erase_if(v, [](double x) { return !std::isfinite(x); });
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// "median [min, max]" over the seeds' values (just the value for one seed).
std::string spread(std::vector<double> v) {
  const double m = median(v);
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return sci(m) + (v.size() > 1 ? " [" + sci(*lo) + ", " + sci(*hi) + "]" : "");
}

std::string pad(std::string s, std::size_t width) {
  s.resize(std::max(width, s.size() + 1), ' ');
  return s;
}

// A run config's model, its recurrent layer copied into a float64 store under the same
// names, optionally with a checkpoint's values.
struct ConfiguredModel {
  RecurrentSpec spec;
  RecurrentLayerOptions options;
  std::string scope;
  std::unique_ptr<VariableStore> store;
};

ConfiguredModel configured_model(RunConfig config, const std::string& checkpoint, uint64_t seed) {
  if (checkpoint.empty()) config.seed = seed;
  Trainer trainer(config,
                  checkpoint.empty() ? ParameterBudget{} : checkpoint_budget(SafetensorsFile::read(checkpoint)));
  if (!checkpoint.empty()) trainer.load_variables(checkpoint);
  ConfiguredModel m;
  m.spec = trainer.model().spec();
  m.options = trainer.model().recurrent().options();
  m.options.dropout = 0;
  m.scope = config.model.scope + "/rnn";
  m.store = std::make_unique<VariableStore>(config.seed, DType::f64);
  VariableOptions zeros{parse_initializer("zeros"), {}, {}, 0};
  for (const RecurrentParameter& p : recurrent_parameters(m.spec)) {
    const std::string name = m.scope + "/" + p.name;
    const Variable& from = trainer.store().at(name);
    const Variable& to = m.store->get_variable(name, p.shape, zeros);
    const TensorView<const float> src = trainer.store().value<float>(from);
    std::copy(src.data(), src.data() + src.numel(), m.store->value<double>(to).data());
  }
  return m;
}

// A layer file that rnnkit init or import wrote (rnnkit.model metadata), in a float64 store.
ConfiguredModel described_model(const std::string& path) {
  RecurrentModel model = load_recurrent_model(path, DType::f64);
  ConfiguredModel m;
  m.spec = model.spec;
  m.options = model.options;
  m.options.dropout = 0;
  m.scope = model.scope;
  m.store = std::make_unique<VariableStore>(std::move(model.store));
  return m;
}

// What --checkpoint names: a run directory, or a file with rnnkit.run_config (rnnkit train
// wrote it; its run config builds the model), or else one with rnnkit.model (rnnkit init or
// import wrote it; the description builds the layer). True for the last.
bool names_a_layer_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return false;
  const SafetensorsFile file = SafetensorsFile::read(path);
  const std::map<std::string, std::string>& metadata = file.metadata();
  if (metadata.contains("rnnkit.run_config")) return false;
  if (metadata.contains("rnnkit.model")) return true;
  throw Error(
      "checkpoint '" + path +
      "' has neither rnnkit.run_config metadata (a checkpoint rnnkit train wrote) nor rnnkit.model (a layer "
      "file rnnkit init or rnnkit import wrote): probe needs one of them to know the model (rnnkit import makes a "
      "layer file of another framework's)");
}

void print_tables(const RecurrentSpec& spec, const ProbeOptions& options, const std::vector<ProbeSeries>& series) {
  const bool stacked = spec.num_layers > 1;
  // The distances shown; d = 0 too for a stacked model, where a lower layer's total derivative
  // at the loss's own step is not zero.
  std::vector<int64_t> distances;
  if (stacked) distances.push_back(0);
  for (const int64_t d : {int64_t{1}, int64_t{10}, options.steps / 4, options.steps / 2, options.steps}) {
    if (d >= 1 && d <= options.steps && std::find(distances.begin(), distances.end(), d) == distances.end()) {
      distances.push_back(d);
    }
  }
  std::cout << "gradient flow through time: " << cell_name(spec.cell) << " I=" << spec.input_size
            << " H=" << spec.hidden_size << " L=" << spec.num_layers << ", T=" << options.steps
            << ", B=" << options.batch << ", " << series.front().results.size() << " seed(s)\n"
            << "  loss L = sum_b <u_b, h_T[b]>: h_T the last layer's state at step T, u_b random unit vectors;\n"
            << "  norms over the batch at distance d back from step T, median [min, max] over seeds\n";
  if (stacked) {
    std::cout << "  state-space: dL/ds_{T-d}, s the state (h and c) of every layer, each component an independent\n"
                 "    variable; 'all h' is the norm of its h blocks together, 'lK' of layer lK's (layers above held)\n"
                 "  total: dL/dh_{T-d} of layer lK as an intermediate: its change also reaches the layers above at\n"
                 "    step T-d (the same as state-space for the top layer, and at d=T)\n";
  } else {
    std::cout << "  one layer: the state-space gradient and the total derivative are the same\n";
  }
  auto over_seeds = [](const ProbeSeries& s, auto value) {
    std::vector<double> v;
    for (const ProbeResult& r : s.results) v.push_back(value(r));
    return v;
  };
  // The table's cells, then each column as wide as its widest cell.
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"init set"});
  if (stacked) cells.back().push_back("gradient");
  for (const int64_t d : distances) cells.back().push_back("d=" + std::to_string(d));
  cells.back().push_back("decay/step");
  // One row: `norm(r)` is the norms by distance, `decay(r)` their decay per step.
  auto row = [&](const ProbeSeries& s, const std::string& label, const std::string& what, auto norm, auto decay) {
    cells.push_back({label});
    if (stacked) cells.back().push_back(what);
    for (const int64_t d : distances) {
      cells.back().push_back(
          spread(over_seeds(s, [&](const ProbeResult& r) { return norm(r)[static_cast<std::size_t>(d)]; })));
    }
    cells.back().push_back(spread(over_seeds(s, decay)));
  };
  for (const ProbeSeries& s : series) {
    row(
        s, s.label, "state-space all h",
        [](const ProbeResult& r) -> const std::vector<double>& { return r.gradient_flow.state_space_norm; },
        [](const ProbeResult& r) { return r.gradient_flow.state_space_decay_per_step; });
    for (std::size_t k = 0; stacked && k < static_cast<std::size_t>(spec.num_layers); ++k) {
      const std::string layer = "l" + std::to_string(k);
      row(
          s, "", "state-space " + layer,
          [k](const ProbeResult& r) -> const std::vector<double>& { return r.gradient_flow.state_space_layer_norm[k]; },
          [k](const ProbeResult& r) { return r.gradient_flow.state_space_layer_decay_per_step[k]; });
      row(
          s, "", "total " + layer,
          [k](const ProbeResult& r) -> const std::vector<double>& { return r.gradient_flow.total_norm[k]; },
          [k](const ProbeResult& r) { return r.gradient_flow.total_decay_per_step[k]; });
    }
  }
  std::vector<std::size_t> widths(cells.front().size(), 0);
  for (const std::vector<std::string>& r : cells) {
    for (std::size_t c = 0; c < r.size(); ++c) widths[c] = std::max(widths[c], r[c].size() + 2);
  }
  for (const std::vector<std::string>& r : cells) {
    std::string line;
    for (std::size_t c = 0; c + 1 < r.size(); ++c) line += pad(r[c], widths[c]);
    std::cout << line << r.back() << "\n";
  }
  std::size_t name_width = 10;
  for (const ProbeSeries& s : series) name_width = std::max(name_width, s.label.size() + 2);
  const std::size_t last = static_cast<std::size_t>(spec.num_layers - 1);
  std::cout << "\nstep Jacobian |ds_t/ds_{t-1}|_2 (geometric mean and max over steps), the last layer's state std "
               "and saturated fractions at step T, recurrent blocks' sigma max/min (layer 0); medians over seeds\n";
  std::cout << pad("init set", name_width) << pad("|J| geo-mean", 14) << pad("|J| max", 10) << pad("state std", 11)
            << pad("saturated at T", 36) << "W_hh sigma max/min per gate block\n";
  for (const ProbeSeries& s : series) {
    const double geo = median(over_seeds(s, [](const ProbeResult& r) {
      double sum = 0;
      for (const std::vector<double>& step : r.jacobian_norms) sum += std::log(median(step));
      return std::exp(sum / static_cast<double>(r.jacobian_norms.size()));
    }));
    const double jmax = median(over_seeds(s, [](const ProbeResult& r) {
      double m = 0;
      for (const std::vector<double>& step : r.jacobian_norms) m = std::max(m, median(step));
      return m;
    }));
    const double state_std =
        median(over_seeds(s, [&](const ProbeResult& r) { return r.health.layers[last].state_std.back(); }));
    std::string saturated;
    const std::vector<Saturation>& names = s.results.front().health.layers[last].saturation;
    for (std::size_t k = 0; k < names.size(); ++k) {
      const double f = median(
          over_seeds(s, [&](const ProbeResult& r) { return r.health.layers[last].saturation[k].fraction.back(); }));
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s %.0f%%", k ? " " : "", names[k].name.c_str(), 100 * f);
      saturated += buf;
    }
    std::string sigmas;
    const std::vector<BlockSpectrum>& blocks = s.results.front().spectra;
    for (std::size_t k = 0; k < blocks.size(); ++k) {
      if (blocks[k].layer != 0 || blocks[k].reverse) continue;
      sigmas += (sigmas.empty() ? "" : "  ") + std::string(1, blocks[k].gate) + " " +
                sci(median(over_seeds(s, [&](const ProbeResult& r) { return r.spectra[k].sigma_max; }))) + "/" +
                sci(median(over_seeds(s, [&](const ProbeResult& r) { return r.spectra[k].sigma_min; })));
    }
    std::cout << pad(s.label, name_width) << pad(sci(geo), 14) << pad(sci(jmax), 10) << pad(sci(state_std), 11)
              << pad(saturated, 36) << sigmas << "\n";
  }
}

void run_probe(const ProbeArgs& args) {
  apply_threads(args.threads);
  const bool from_run = !args.config.empty() || !args.checkpoint.empty();
  ProbeOptions options{args.steps, args.batch, 1, args.jacobian_sequences};
  std::vector<ProbeSeries> series;
  RecurrentSpec spec;
  if (from_run) {
    RunConfig config;
    std::string label, checkpoint;
    // A checkpoint's weights are the same for every seed (only the inputs change): built once.
    std::optional<ConfiguredModel> trained;
    if (!args.checkpoint.empty() && names_a_layer_file(args.checkpoint)) {
      trained = described_model(args.checkpoint);
      label = "checkpoint " + args.checkpoint;
    } else if (!args.checkpoint.empty()) {
      const RunCheckpoint located = locate_run_checkpoint(args.checkpoint);
      config = located.config;
      checkpoint = located.checkpoint;
      label = "checkpoint " + checkpoint;
      trained = configured_model(config, checkpoint, 0);
    } else {
      config = read_run_config(args.config);
      label = "config " + args.config;
    }
    ProbeSeries s{label, {}, {}};
    for (int64_t k = 1; k <= args.seeds; ++k) {
      const auto seed = static_cast<uint64_t>(k);
      std::optional<ConfiguredModel> fresh;  // a config's model: initialized with this seed
      if (!trained) fresh = configured_model(config, "", seed);
      const ConfiguredModel& m = trained ? *trained : *fresh;
      spec = m.spec;
      options.seed = seed;
      s.seeds.push_back(seed);
      s.results.push_back(probe_recurrent(*m.store, m.scope, m.spec, m.options, options));
    }
    series.push_back(std::move(s));
  } else {
    spec = RecurrentSpec{parse_cell_kind(args.cell), args.input_size, args.hidden_size, args.layers, false, 0};
    RecurrentLayerOptions layer_options;
    apply_cell_arguments(args.cell_options, spec, layer_options);
    const std::vector<std::string> sets =
        args.inits.empty() ? std::vector<std::string>{"pytorch", "keras", "tf1"} : args.inits;
    std::vector<RecurrentInitChoice> choices;
    choices.reserve(sets.size());
    for (const std::string& s : sets) choices.push_back(parse_init_choice(s));  // all checked before any work
    for (std::size_t k = 0; k < sets.size(); ++k) {
      ProbeSeries s{sets[k], {}, {}};
      for (int64_t n = 1; n <= args.seeds; ++n) {
        const auto seed = static_cast<uint64_t>(n);
        VariableStore store(seed, DType::f64);
        {
          auto scope = store.scope("probe");
          create_recurrent_variables(store, spec, choices[k]);
        }
        options.seed = seed;
        s.seeds.push_back(seed);
        s.results.push_back(probe_recurrent(store, "probe", spec, layer_options, options));
      }
      series.push_back(std::move(s));
    }
  }
  const std::string json = probe_report_json(spec, options, series);
  if (!args.output_dir.empty()) {
    std::filesystem::create_directories(args.output_dir);
    const std::string page = probe_report_html(json);
    for (const auto& [name, text] : {std::pair{"probe.json", &json}, std::pair{"probe.html", &page}}) {
      write_file_atomically(args.output_dir + "/" + name,
                            {std::as_bytes(std::span<const char>(text->data(), text->size()))});
    }
  }
  if (args.json) {
    std::cout << json << "\n";
  } else {
    print_tables(spec, options, series);
  }
  if (!args.output_dir.empty() && !args.json) {
    std::cout << "\nwrote " << args.output_dir << "/probe.html and " << args.output_dir << "/probe.json\n";
  }
}

}  // namespace

void add_probe_command(CLI::App& app) {
  auto args = std::make_shared<ProbeArgs>();
  CLI::App* cmd =
      app.add_subcommand("probe",
                         "Measure a recurrent model at initialization: gradient flow through time, step Jacobians, "
                         "saturation, spectra; initializer sets side by side");
  CLI::Option* cell = cmd->add_option("--cell", args->cell, "lstm, gru, rnn_tanh or rnn_relu (default lstm)");
  CLI::Option* input =
      cmd->add_option("--input-size", args->input_size, "I (default 32)")->check(CLI::Range(1, 1 << 20));
  CLI::Option* hidden =
      cmd->add_option("--hidden-size", args->hidden_size, "H (default 128)")->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--steps", args->steps, "T (default 100)")->check(CLI::Range(1, 100000));
  CLI::Option* layers = cmd->add_option("--layers", args->layers, "L (default 1)")->check(CLI::Range(1, 100));
  cmd->add_option("--batch", args->batch, "Sequences of random N(0,1) inputs (default 16)")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--seeds", args->seeds, "Seeds per set, 1..N (default 3)")->check(CLI::Range(1, 1000));
  cmd->add_option("--jacobian-sequences", args->jacobian_sequences,
                  "Step Jacobians of the first N sequences (default 4)")
      ->check(CLI::Range(1, 1 << 16));
  CLI::Option* init =
      cmd->add_option("--init", args->inits,
                      "An initializer set (repeatable): a preset (pytorch, keras, tf1) or 'recurrent=SPEC;bias=SPEC;"
                      "forget_bias=F;kernel=SPEC;bias_hh=SPEC;preset=P'. Default: the three presets");
  CLI::Option* config =
      cmd->add_option("--config", args->config,
                      "Probe the recurrent layer a run config (rnnkit train --config) builds; seeds 1..N "
                      "replace its seed");
  CLI::Option* checkpoint = cmd->add_option(
      "--checkpoint", args->checkpoint,
      "Probe the weights of a training run (a run directory or a checkpoint it wrote) or of a layer file that "
      "rnnkit init or import wrote");
  std::vector<CLI::Option*> model_options = add_cell_arguments(*cmd, args->cell_options, false);
  for (CLI::Option* o : {cell, input, hidden, layers, init}) model_options.push_back(o);
  for (CLI::Option* o : model_options) {
    o->excludes(config);
    o->excludes(checkpoint);
  }
  config->excludes(checkpoint);
  cmd->add_option("-o,--output-dir", args->output_dir, "Write probe.html (the curves) and probe.json here");
  cmd->add_flag("--json", args->json, "Print every number of every seed as JSON instead of the tables");
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_probe(*args); });
}

}  // namespace rnnkit::cli

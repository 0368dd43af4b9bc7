// rnnkit probe: how initializations differ before any training. For each initializer set
// and seed, the gradient of a loss at the last step with respect to the state d steps
// earlier (analysis/gradient_flow.h), as a table (median and range over seeds) or JSON.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rnnkit/analysis/gradient_flow.h"
#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_variables.h"

namespace rnnkit::cli {
namespace {

struct ProbeArgs {
  std::string cell = "lstm";
  int64_t input_size = 32, hidden_size = 128, steps = 100, layers = 1, batch = 16, seeds = 3;
  std::vector<std::string> inits;
  bool json = false;
  int threads = 0;
};

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

void run_probe(const ProbeArgs& args) {
  apply_threads(args.threads);
  const RecurrentSpec spec{parse_cell_kind(args.cell), args.input_size, args.hidden_size, args.layers, false, 0};
  spec.validate();
  const std::vector<std::string> sets = args.inits.empty() ? std::vector<std::string>{"pytorch", "keras", "tf1"} : args.inits;
  std::vector<RecurrentInitChoice> choices;
  for (const std::string& s : sets) choices.push_back(parse_init_choice(s));  // all checked before any work
  std::vector<int64_t> distances;
  for (const int64_t d : {int64_t{1}, int64_t{10}, args.steps / 4, args.steps / 2, args.steps}) {
    if (d >= 1 && d <= args.steps && std::find(distances.begin(), distances.end(), d) == distances.end()) {
      distances.push_back(d);
    }
  }
  nlohmann::ordered_json out;
  out["model"] = nlohmann::json::parse(spec.to_json());
  out["steps"] = args.steps;
  out["batch"] = args.batch;
  out["loss"] = "sum over the batch of <u_b, h_T[b]>, u_b unit vectors";
  out["sets"] = nlohmann::ordered_json::array();
  std::vector<std::vector<GradientFlow>> flows(sets.size());
  for (std::size_t k = 0; k < sets.size(); ++k) {
    nlohmann::ordered_json set{{"init", sets[k]}, {"seeds", nlohmann::ordered_json::array()}};
    for (int64_t s = 1; s <= args.seeds; ++s) {
      VariableStore store(static_cast<uint64_t>(s), DType::f64);
      {
        auto scope = store.scope("probe");
        create_recurrent_variables(store, spec, choices[k]);
      }
      flows[k].push_back(
          measure_gradient_flow(store, "probe", spec, {}, args.steps, args.batch, static_cast<uint64_t>(s)));
      set["seeds"].push_back({{"seed", s}, {"norm_by_distance", flows[k].back().norm},
                              {"decay_per_step", flows[k].back().decay_per_step}});
    }
    out["sets"].push_back(set);
  }
  if (args.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "gradient flow at initialization: " << cell_name(spec.cell) << " I=" << spec.input_size
            << " H=" << spec.hidden_size << " L=" << spec.num_layers << ", T=" << args.steps << ", B=" << args.batch
            << ", " << args.seeds << " seed(s); |dL/dh| at distance d, median [min, max] over seeds; L = <u, h_T>\n";
  std::size_t name_width = 8;
  for (const std::string& s : sets) name_width = std::max(name_width, s.size());
  std::string header = "init set" + std::string(name_width - 8 + 2, ' ');
  for (const int64_t d : distances) {
    std::string col = "d=" + std::to_string(d);
    col.resize(26, ' ');
    header += col;
  }
  std::cout << header << "decay/step\n";
  for (std::size_t k = 0; k < sets.size(); ++k) {
    std::string line = sets[k] + std::string(name_width - sets[k].size() + 2, ' ');
    auto summary = [&](auto value) {
      std::vector<double> v;
      for (const GradientFlow& f : flows[k]) v.push_back(value(f));
      std::sort(v.begin(), v.end());
      const double median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
      return sci(median) + (v.size() > 1 ? " [" + sci(v.front()) + ", " + sci(v.back()) + "]" : "");
    };
    for (const int64_t d : distances) {
      std::string col = summary([&](const GradientFlow& f) { return f.norm[static_cast<std::size_t>(d)]; });
      col.resize(std::max<std::size_t>(col.size() + 1, 26), ' ');
      line += col;
    }
    std::cout << line << summary([](const GradientFlow& f) { return f.decay_per_step; }) << "\n";
  }
}

}  // namespace

void add_probe_command(CLI::App& app) {
  auto args = std::make_shared<ProbeArgs>();
  CLI::App* cmd = app.add_subcommand("probe", "Gradient flow through time at initialization, for initializer sets side by side");
  cmd->add_option("--cell", args->cell, "lstm, gru, rnn_tanh or rnn_relu (default lstm)");
  cmd->add_option("--input-size", args->input_size, "I (default 32)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--hidden-size", args->hidden_size, "H (default 128)")->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--steps", args->steps, "T (default 100)")->check(CLI::Range(1, 100000));
  cmd->add_option("--layers", args->layers, "L (default 1)")->check(CLI::Range(1, 100));
  cmd->add_option("--batch", args->batch, "Sequences of random N(0,1) inputs (default 16)")->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--seeds", args->seeds, "Seeds per set, 1..N (default 3)")->check(CLI::Range(1, 1000));
  cmd->add_option("--init", args->inits,
                  "An initializer set (repeatable): a preset (pytorch, keras, tf1) or 'recurrent=SPEC;bias=SPEC;"
                  "forget_bias=F;kernel=SPEC;preset=P'. Default: the three presets");
  cmd->add_flag("--json", args->json, "Every norm of every seed as JSON");
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_probe(*args); });
}

}  // namespace rnnkit::cli

// rnnkit init: write a freshly initialized recurrent layer as a checkpoint.
#include <iostream>
#include <optional>

#include "cell_arguments.h"
#include "commands.h"
#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_model.h"
#include "rnnkit/layers/recurrent_variables.h"

namespace rnnkit::cli {
namespace {

struct InitArgs {
  std::string cell;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t layers = 1;
  bool bidirectional = false;
  int64_t proj_size = 0;
  uint64_t seed = 0;
  std::string scope;
  std::string preset = preset_name(kDefaultPreset);
  std::string kernel_init, recurrent_init, bias_init;
  std::optional<double> forget_bias;
  std::string peephole_init;
  std::string merge = "concat";
  CellArguments cell_options;
  std::string output;
  int threads = 0;
};

// The initializer an option names, or null if the option was not given.
InitializerPtr parse_option_initializer(const char* option, const std::string& spec) {
  if (spec.empty()) return nullptr;
  try {
    return parse_initializer(spec);
  } catch (const Error& e) {
    throw Error(std::string(option) + ": " + e.what());
  }
}

void run_init(const InitArgs& args) {
  apply_threads(args.threads);
  RecurrentSpec spec;
  spec.cell = parse_cell_kind(args.cell);
  spec.input_size = args.input_size;
  spec.hidden_size = args.hidden_size;
  spec.num_layers = args.layers;
  spec.bidirectional = args.bidirectional;
  spec.proj_size = args.proj_size;
  spec.validate();
  RecurrentLayerOptions options;
  options.merge = parse_merge(args.merge);
  if (options.merge != BidirectionalMerge::concat && !spec.bidirectional) {
    throw Error("--merge " + args.merge + " needs --bidirectional");
  }
  apply_cell_arguments(args.cell_options, spec, options);

  RecurrentInitChoice choice;
  choice.preset = parse_preset(args.preset);
  choice.kernel = parse_option_initializer("--kernel-init", args.kernel_init);
  choice.recurrent = parse_option_initializer("--recurrent-init", args.recurrent_init);
  choice.bias = parse_option_initializer("--bias-init", args.bias_init);
  choice.peephole = parse_option_initializer("--peephole-init", args.peephole_init);
  choice.forget_bias = args.forget_bias;
  if (!spec.bias && (choice.bias || choice.forget_bias)) {
    throw Error(std::string(choice.bias ? "--bias-init" : "--forget-bias") + " needs biases; --no-bias builds none");
  }
  if (choice.peephole && !spec.peepholes) throw Error("--peephole-init needs --peepholes");

  const std::string scope = args.scope.empty() ? cell_name(spec.cell) : args.scope;
  VariableStore store(args.seed);
  {
    auto guard = store.scope(scope);
    create_recurrent_variables(store, spec, choice);
  }
  SaveOptions save;
  save.model_json = recurrent_model_json(scope, spec, options, preset_name(choice.preset));
  save_checkpoint(store, args.output, save);

  std::cout << "wrote " << args.output << ": " << describe_layer(spec, options) << ", under '" << scope << "', "
            << store.variables().size() << " variables, " << store.parameter_count() << " parameters, seed "
            << args.seed << "\n";
  for (const Variable& v : store.variables()) {
    std::cout << "  " << v.name << " " << shape_to_string(v.shape) << "  " << v.init_spec << "\n";
  }
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto args = std::make_shared<InitArgs>();
  CLI::App* cmd = app.add_subcommand("init", "Write a freshly initialized recurrent layer to a safetensors file");
  cmd->add_option("--cell", args->cell, "Cell: lstm, gru, rnn_tanh or rnn_relu")
      ->required()
      ->check(CLI::IsMember({"lstm", "gru", "rnn_tanh", "rnn_relu"}));
  cmd->add_option("--input-size", args->input_size, "Input features I")->required()->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--hidden-size", args->hidden_size, "Hidden units H")->required()->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--layers", args->layers, "Stacked layers L")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_flag("--bidirectional", args->bidirectional, "Add a reverse direction to every layer");
  cmd->add_option("--proj-size", args->proj_size, "LSTM projection size P (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--seed", args->seed, "Global seed; with the variable name it fixes every value")
      ->capture_default_str();
  cmd->add_option("--scope", args->scope, "Scope of the layer's variables (default: the cell name)");
  cmd->add_option("--preset", args->preset, "Initializer preset: pytorch, keras or tf1")
      ->capture_default_str()
      ->check(CLI::IsMember({"pytorch", "keras", "tf1"}));
  cmd->add_option("--kernel-init", args->kernel_init,
                  "Initializer of weight_ih (and weight_hr), e.g. 'glorot_uniform'");
  cmd->add_option("--recurrent-init", args->recurrent_init, "Initializer of weight_hh, e.g. 'per_gate(orthogonal)'");
  cmd->add_option("--bias-init", args->bias_init, "Initializer of bias_ih, e.g. 'chrono(t_max=100)'");
  cmd->add_option("--forget-bias", args->forget_bias, "Value of the LSTM forget gate's block of bias_ih")
      ->check(kFiniteNumber);
  cmd->add_option("--peephole-init", args->peephole_init, "Initializer of weight_peephole (with --peepholes)");
  cmd->add_option("--merge", args->merge, "Bidirectional output: concat (PyTorch), or sum, mul, ave (Keras)")
      ->capture_default_str()
      ->check(CLI::IsMember({"concat", "sum", "mul", "ave"}));
  add_cell_arguments(*cmd, args->cell_options);
  cmd->add_option("-o,--output", args->output, "Output file (.safetensors)")->required();
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_init(*args); });
}

}  // namespace rnnkit::cli

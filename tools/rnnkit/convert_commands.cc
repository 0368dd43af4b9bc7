// rnnkit import / export: weights from and to other frameworks' layouts. --from and --to
// name the format: pytorch (formats/pytorch.h), keras (formats/keras.h).
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/keras.h"
#include "rnnkit/formats/pytorch.h"

namespace rnnkit::cli {
namespace {

struct ImportArgs {
  std::string from, prefix, nonlinearity, scope, input, output;
  std::vector<std::string> layers;
};

struct ExportArgs {
  std::string to, model, output;
  std::optional<std::string> prefix;
};

std::optional<CellKind> nonlinearity(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return name == "relu" ? CellKind::rnn_relu : CellKind::rnn_tanh;
}

void run_import(const ImportArgs& args) {
  if (args.from != "pytorch" && !args.prefix.empty()) {
    throw CLI::ValidationError("--prefix", "applies to --from pytorch only");
  }
  if (args.from != "keras" && !args.layers.empty()) throw CLI::ValidationError("--layer", "applies to --from keras only");
  std::optional<RecurrentModel> model;
  nlohmann::ordered_json source{{"format", args.from}, {"file", args.input}};
  if (args.from == "pytorch") {
    PytorchImportOptions options;
    options.prefix = args.prefix;
    options.scope = args.scope;
    options.rnn_nonlinearity = nonlinearity(args.nonlinearity);
    model.emplace(import_pytorch(SafetensorsFile::read(args.input), options));
    source["prefix"] = args.prefix;
  } else {
    KerasImportOptions options;
    options.layers = args.layers;
    options.scope = args.scope;
    options.rnn_nonlinearity = nonlinearity(args.nonlinearity);
    model.emplace(import_keras(args.input, options));
  }
  SaveOptions save;
  save.model_json = recurrent_model_json(model->scope, model->spec, model->options);
  save.extra_metadata["rnnkit.source"] = source.dump();
  save_checkpoint(model->store, args.output, save);
  const RecurrentSpec& s = model->spec;
  std::cout << "wrote " << args.output << ": " << cell_name(s.cell) << " layer '" << model->scope << "' from "
            << args.input << " (I=" << s.input_size << ", H=" << s.hidden_size
            << (s.proj_size > 0 ? ", P=" + std::to_string(s.proj_size) : "") << ", " << s.num_layers << " layer(s), "
            << (s.bidirectional ? "bidirectional" : "one direction") << ", " << dtype_name(model->store.dtype())
            << "), " << model->store.variables().size() << " tensors\n";
}

// The prefix recorded at a PyTorch import, so that import then export gives back the same names.
std::string recorded_prefix(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const auto it = file.metadata().find("rnnkit.source");
  if (it == file.metadata().end()) return "";
  const nlohmann::json source = nlohmann::json::parse(it->second, nullptr, false);
  if (source.is_object() && source.value("format", "") == "pytorch" && source.contains("prefix") &&
      source["prefix"].is_string()) {
    return source["prefix"].get<std::string>();
  }
  return "";
}

void run_export(const ExportArgs& args) {
  if (args.to != "pytorch" && args.prefix) throw CLI::ValidationError("--prefix", "applies to --to pytorch only");
  const RecurrentModel model = load_recurrent_model(args.model, std::nullopt);  // values pass through unchanged
  if (args.to == "keras") {
    export_keras(model, args.output);
    std::cout << "wrote " << args.output << ": Keras 2 HDF5 weights, " << model.spec.num_layers << " layer(s)"
              << (model.spec.bidirectional ? " in Bidirectional" : "") << "\n";
    return;
  }
  const std::string prefix = args.prefix ? *args.prefix : recorded_prefix(args.model);
  write_safetensors(args.output, export_pytorch(model, prefix), {{"format", "pt"}});
  std::cout << "wrote " << args.output << ": PyTorch nn." << (model.spec.cell == CellKind::lstm  ? "LSTM"
                                                              : model.spec.cell == CellKind::gru ? "GRU"
                                                                                                 : "RNN")
            << " state_dict" << (prefix.empty() ? "" : " under prefix '" + prefix + "'") << ", "
            << recurrent_parameters(model.spec).size() << " tensors\n";
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "Convert another framework's recurrent weights into an rnnkit checkpoint");
  cmd->add_option("--from", args->from, "Source format: pytorch (a state_dict as safetensors) or keras (HDF5 weights)")
      ->required()
      ->check(CLI::IsMember({"pytorch", "keras"}));
  cmd->add_option("--prefix", args->prefix, "pytorch: module prefix of the tensors, e.g. 'encoder.rnn.'");
  cmd->add_option("--layer", args->layers, "keras: a layer to import (repeat to stack; default: every recurrent layer)");
  cmd->add_option("--nonlinearity", args->nonlinearity, "nn.RNN's / SimpleRNN's activation (not stored with the weights)")
      ->check(CLI::IsMember({"tanh", "relu"}));
  cmd->add_option("--scope", args->scope, "Scope of the layer's variables (default: the cell name)");
  cmd->add_option("input", args->input, "The file to convert")->required();
  cmd->add_option("-o,--output", args->output, "Output checkpoint (.safetensors)")->required();
  cmd->callback([args] { run_import(*args); });
}

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write an rnnkit recurrent checkpoint in another framework's layout");
  cmd->add_option("--to", args->to, "Target format: pytorch (safetensors state_dict) or keras (HDF5 weights)")
      ->required()
      ->check(CLI::IsMember({"pytorch", "keras"}));
  cmd->add_option("--prefix", args->prefix, "pytorch: module prefix for the tensor names (default: the one recorded at import)");
  cmd->add_option("model", args->model, "A checkpoint written by rnnkit init or import")->required();
  cmd->add_option("-o,--output", args->output, "Output file")->required();
  cmd->callback([args] { run_export(*args); });
}

}  // namespace rnnkit::cli

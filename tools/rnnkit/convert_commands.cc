// rnnkit import / export: weights from and to other frameworks' layouts. This issue
// brings PyTorch's (formats/pytorch.h); --from and --to name the format so that others
// (ONNX, Keras, TF1) join as further choices.
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/pytorch.h"

namespace rnnkit::cli {
namespace {

struct ImportArgs {
  std::string from, prefix, nonlinearity, scope, input, output;
};

struct ExportArgs {
  std::string to, model, output;
  std::optional<std::string> prefix;
};

void run_import(const ImportArgs& args) {
  PytorchImportOptions options;
  options.prefix = args.prefix;
  options.scope = args.scope;
  if (!args.nonlinearity.empty()) options.rnn_nonlinearity = args.nonlinearity == "relu" ? CellKind::rnn_relu : CellKind::rnn_tanh;
  const SafetensorsFile file = SafetensorsFile::read(args.input);
  const RecurrentModel model = import_pytorch(file, options);
  SaveOptions save;
  save.model_json = recurrent_model_json(model.scope, model.spec, model.options);
  save.extra_metadata["rnnkit.source"] =
      nlohmann::ordered_json{{"format", "pytorch"}, {"file", args.input}, {"prefix", args.prefix}}.dump();
  save_checkpoint(model.store, args.output, save);
  const RecurrentSpec& s = model.spec;
  std::cout << "wrote " << args.output << ": " << cell_name(s.cell) << " layer '" << model.scope << "' from "
            << args.input << " (I=" << s.input_size << ", H=" << s.hidden_size
            << (s.proj_size > 0 ? ", P=" + std::to_string(s.proj_size) : "") << ", " << s.num_layers << " layer(s), "
            << (s.bidirectional ? "bidirectional" : "one direction") << ", " << dtype_name(model.store.dtype())
            << "), " << model.store.variables().size() << " tensors\n";
}

// The prefix recorded at import, so that import then export gives back the same names.
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
  const RecurrentModel model = load_recurrent_model(args.model, std::nullopt);  // values pass through unchanged
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
  cmd->add_option("--from", args->from, "Source format")->required()->check(CLI::IsMember({"pytorch"}));
  cmd->add_option("--prefix", args->prefix, "Module prefix of the tensors, e.g. 'encoder.rnn.'");
  cmd->add_option("--nonlinearity", args->nonlinearity, "nn.RNN's nonlinearity (not stored in a state_dict)")
      ->check(CLI::IsMember({"tanh", "relu"}));
  cmd->add_option("--scope", args->scope, "Scope of the layer's variables (default: the cell name)");
  cmd->add_option("input", args->input, "A PyTorch state_dict saved as safetensors")->required();
  cmd->add_option("-o,--output", args->output, "Output checkpoint (.safetensors)")->required();
  cmd->callback([args] { run_import(*args); });
}

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write an rnnkit recurrent checkpoint in another framework's layout");
  cmd->add_option("--to", args->to, "Target format")->required()->check(CLI::IsMember({"pytorch"}));
  cmd->add_option("--prefix", args->prefix, "Module prefix for the tensor names (default: the one recorded at import)");
  cmd->add_option("model", args->model, "A checkpoint written by rnnkit init or import")->required();
  cmd->add_option("-o,--output", args->output, "Output file (.safetensors)")->required();
  cmd->callback([args] { run_export(*args); });
}

}  // namespace rnnkit::cli

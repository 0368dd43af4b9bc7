// rnnkit import / export: weights from and to other frameworks' layouts. --from and --to
// name the format: pytorch (formats/pytorch.h), keras (formats/keras.h), onnx (formats/onnx.h),
// tf (formats/tf_import.h: TensorFlow checkpoints; formats/tf1.h: TF1 variables in .npz or
// safetensors files), tf1 its old name.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cell_arguments.h"
#include "commands.h"
#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/error.h"
#include "rnnkit/formats/keras.h"
#include "rnnkit/formats/onnx.h"
#include "rnnkit/formats/pytorch.h"
#include "rnnkit/formats/tf1.h"
#include "rnnkit/formats/tf_checkpoint.h"
#include "rnnkit/formats/tf_import.h"
#include "rnnkit/init/spec.h"

namespace rnnkit::cli {
namespace {

struct ImportArgs {
  std::string from, prefix, nonlinearity, scope, input, output, dtype;
  std::vector<std::string> layers, nodes;
  std::optional<double> forget_bias;
  // What a weights file does not record (keras, tf1), as the model was built.
  std::string recurrent_activation, activation, gru_reset;
  double cell_clip = 0.0, proj_clip = 0.0;
};

struct ExportArgs {
  std::string to, model, output;
  std::optional<std::string> prefix;
  std::optional<double> forget_bias;
};

std::optional<CellKind> nonlinearity(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return name == "relu" ? CellKind::rnn_relu : CellKind::rnn_tanh;
}

// What the import of a TensorFlow checkpoint read and left, for the person who ran it.
void print_tf_report(const TfCheckpoint& checkpoint, const TfImport& imported) {
  std::cout << "  read " << (checkpoint.format() == TfCheckpointFormat::v1 ? "the V1 checkpoint " : "the checkpoint ")
            << checkpoint.prefix();
  if (!checkpoint.resolution().empty()) std::cout << " (" << checkpoint.resolution() << ")";
  std::cout << ": " << checkpoint.variables().size() << " variables, " << imported.used.size() << " imported\n";
  if (imported.keras_cells) {
    std::cout << "  tf.keras cells: Keras' gate order and equations, no forget bias added at run time; the checkpoint "
                 "holds no config, so the activations are Keras' defaults unless given\n";
  } else if (imported.model.spec.cell == CellKind::lstm) {
    std::cout << "  TF1 cells: forget_bias " << imported.forget_bias << " folded into the forget gate's bias\n";
  }
  std::map<TfVariableRole, std::vector<std::string>> unused;
  for (const TfUnusedVariable& u : imported.unused) unused[u.role].push_back(u.name);
  for (const auto& [role, names] : unused) {
    std::string list;
    for (std::size_t i = 0; i < names.size() && i < 6; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 6) list += ", ... (" + std::to_string(names.size() - 6) + " more)";
    std::cout << "  not used: " << names.size() << " "
              << (role == TfVariableRole::weight ? "weight(s) of other layers" : tf_variable_role_name(role))
              << (role == TfVariableRole::weight || names.size() == 1 ? "" : "s") << ": " << list << "\n";
  }
}

void run_import(const ImportArgs& args) {
  const bool tf = args.from == "tf" || args.from == "tf1";
  if (args.from == "keras" && !args.prefix.empty()) {
    throw CLI::ValidationError("--prefix", "applies to --from pytorch and tf (keras: --layer)");
  }
  if (args.from != "keras" && !args.layers.empty())
    throw CLI::ValidationError("--layer", "applies to --from keras only");
  if (args.from != "onnx" && !args.nodes.empty()) throw CLI::ValidationError("--node", "applies to --from onnx only");
  if (args.from == "onnx" && (!args.prefix.empty() || !args.nonlinearity.empty())) {
    throw CLI::ValidationError("--prefix/--nonlinearity",
                               "do not apply to --from onnx (the nodes say their activations)");
  }
  if (!tf && (args.forget_bias || !args.dtype.empty())) {
    throw CLI::ValidationError("--forget-bias/--dtype", "apply to --from tf only");
  }
  if (!tf && (args.cell_clip > 0 || args.proj_clip > 0)) {
    throw CLI::ValidationError("--cell-clip/--proj-clip",
                               "apply to --from tf only (TF1's LSTMCell cell_clip, proj_clip)");
  }
  // A folder or a path that is no file is a checkpoint to look for (its error says what was tried).
  std::error_code ec;
  const bool tf_checkpoint =
      tf && (looks_like_tf_checkpoint(args.input) || std::filesystem::is_directory(args.input, ec) ||
             !std::filesystem::exists(args.input, ec));
  if (args.from != "keras" && !tf_checkpoint && (!args.recurrent_activation.empty() || !args.gru_reset.empty())) {
    throw CLI::ValidationError("--recurrent-activation/--gru-reset",
                               "apply to --from keras and to tf.keras cells in TensorFlow checkpoints (ONNX nodes "
                               "say theirs; PyTorch and TF1 gates are sigmoid)");
  }
  if (args.from != "keras" && !tf && !args.activation.empty()) {
    throw CLI::ValidationError("--activation", "applies to --from keras and tf (ONNX nodes say theirs)");
  }
  const CellActivation activation =
      args.activation.empty() ? CellActivation::tanh : parse_cell_activation(args.activation);
  GateActivation recurrent_activation;
  if (!args.recurrent_activation.empty()) {
    try {
      recurrent_activation = parse_gate_activation(args.recurrent_activation);
    } catch (const Error& e) {
      throw Error(std::string("--recurrent-activation: ") + e.what());
    }
  }
  std::optional<RecurrentModel> model;
  nlohmann::ordered_json source{{"format", tf ? "tf" : args.from}, {"file", args.input}};
  if (args.from == "pytorch") {
    PytorchImportOptions options;
    options.prefix = args.prefix;
    options.scope = args.scope;
    options.rnn_nonlinearity = nonlinearity(args.nonlinearity);
    model.emplace(import_pytorch(SafetensorsFile::read(args.input), options));
    source["prefix"] = args.prefix;
  } else if (args.from == "onnx") {
    OnnxImportOptions options;
    options.nodes = args.nodes;
    options.scope = args.scope;
    model.emplace(import_onnx(args.input, options));
  } else if (tf) {
    Tf1ImportOptions options;
    options.prefix = args.prefix;
    options.scope = args.scope;
    options.rnn_nonlinearity = nonlinearity(args.nonlinearity);
    if (args.forget_bias) options.forget_bias = *args.forget_bias;
    if (!args.dtype.empty()) options.dtype = args.dtype == "f64" ? DType::f64 : DType::f32;
    options.cell_clip = args.cell_clip;
    options.proj_clip = args.proj_clip;
    options.activation = activation;
    std::vector<std::string> cell_paths;
    double forget_bias = 0.0;
    bool any_f32 = false;
    if (tf_checkpoint) {
      const TfCheckpoint checkpoint = TfCheckpoint::open(args.input);
      TfImportOptions tf_options{
          options, recurrent_activation,
          args.gru_reset.empty() ? std::nullopt : std::optional(parse_gru_reset(args.gru_reset))};
      TfImport imported = import_tf_checkpoint(checkpoint, tf_options);
      print_tf_report(checkpoint, imported);
      model.emplace(std::move(imported.model));
      cell_paths = imported.cell_paths;
      forget_bias = imported.forget_bias;
      any_f32 = imported.any_f32;
      source["checkpoint"] = checkpoint.prefix();
      source["cells"] = imported.keras_cells ? "tf.keras" : "tf1";
    } else {
      const std::map<std::string, NpyArray> variables = read_tf1_variables(args.input);
      Tf1Import imported = import_tf1(variables, args.input, options);
      model.emplace(std::move(imported.model));
      cell_paths = imported.cell_paths;
      forget_bias = imported.forget_bias;
      for (const auto& [name, array] : variables) any_f32 = any_f32 || array.dtype == "F32";
    }
    // The file's float type, for export to write back (an f64 import of F32 tensors keeps the
    // forget-bias fold exact, and export returns F32).
    source["tensor_dtype"] = any_f32 ? "F32" : "F64";
    source["prefix"] = args.prefix;
    source["forget_bias"] = forget_bias;
    source["cell_paths"] = cell_paths;
  } else {
    KerasImportOptions options;
    options.layers = args.layers;
    options.scope = args.scope;
    options.rnn_nonlinearity = nonlinearity(args.nonlinearity);
    options.recurrent_activation = recurrent_activation;
    options.activation = activation;
    if (!args.gru_reset.empty()) options.gru_reset = parse_gru_reset(args.gru_reset);
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
  std::cout << "  " << describe_layer(model->spec, model->options) << "\n";
}

// What an import of `format` recorded (rnnkit.source), so that export writes the same names
// back; an empty object when the checkpoint came from elsewhere.
nlohmann::json recorded_source(const std::string& path, const std::string& format) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const auto it = file.metadata().find("rnnkit.source");
  if (it == file.metadata().end()) return nlohmann::json::object();
  const nlohmann::json source = nlohmann::json::parse(it->second, nullptr, false);
  if (source.is_discarded() || !source.is_object()) {
    throw Error("'" + path + "': rnnkit.source metadata is not a JSON object");
  }
  // The keys export reads, each of the type import wrote.
  const std::vector<std::pair<const char*, nlohmann::json::value_t>> expected = {
      {"format", nlohmann::json::value_t::string},
      {"prefix", nlohmann::json::value_t::string},
      {"tensor_dtype", nlohmann::json::value_t::string},
      {"cells", nlohmann::json::value_t::string},
      {"forget_bias", nlohmann::json::value_t::number_float},
      {"cell_paths", nlohmann::json::value_t::array}};
  for (const auto& [key, type] : expected) {
    if (!source.contains(key)) continue;
    const nlohmann::json& v = source[key];
    const bool ok = type == nlohmann::json::value_t::number_float ? v.is_number() : v.type() == type;
    if (!ok) {
      throw Error("'" + path + "': rnnkit.source metadata: '" + key + "' must be a" +
                  (type == nlohmann::json::value_t::array    ? "n array"
                   : type == nlohmann::json::value_t::string ? " string"
                                                             : " number") +
                  ", found " + v.dump());
    }
  }
  if (source.contains("tensor_dtype") && source["tensor_dtype"] != "F32" && source["tensor_dtype"] != "F64") {
    throw Error("'" + path + "': rnnkit.source metadata: 'tensor_dtype' must be \"F32\" or \"F64\", found " +
                source["tensor_dtype"].dump());
  }
  return source.contains("format") && source["format"] == format ? source : nlohmann::json::object();
}

// What a weights-only file cannot hold, said for the code that loads it: the layers' own
// constructor arguments (TF1's LSTMCell(cell_clip=...), Keras' LSTM(recurrent_activation=...)).
void print_constructor_arguments(const RecurrentModel& model, const std::string& who) {
  const CellOptions& c = model.options.cell;
  std::vector<std::string> told;
  if (!c.recurrent_activation.is_sigmoid()) {
    const bool keras2 = c.recurrent_activation.alpha == 0.2 && c.recurrent_activation.beta == 0.5;
    told.push_back(keras2 ? "recurrent_activation='hard_sigmoid' (Keras 2's 0.2 x + 0.5)"
                          : "recurrent_activation " + c.recurrent_activation.spec());
  }
  if (c.activation != CellActivation::tanh)
    told.push_back(std::string("activation='") + cell_activation_name(c.activation) + "'");
  if (!model.spec.bias) told.push_back("use_bias=False");
  if (c.cell_clip > 0) told.push_back("cell_clip=" + format_spec_number(c.cell_clip));
  if (c.proj_clip > 0) told.push_back("proj_clip=" + format_spec_number(c.proj_clip));
  if (model.spec.peepholes) told.push_back("use_peepholes=True");
  if (told.empty()) return;
  std::string list;
  for (const std::string& t : told) list += (list.empty() ? "" : ", ") + t;
  std::cout << "  not in the weights: " << who << " " << list << "\n";
}

void run_export(const ExportArgs& args) {
  const bool tf = args.to == "tf" || args.to == "tf1";
  if (args.to != "pytorch" && args.prefix) throw CLI::ValidationError("--prefix", "applies to --to pytorch only");
  if (!tf && args.forget_bias) throw CLI::ValidationError("--forget-bias", "applies to --to tf only");
  const RecurrentModel model = load_recurrent_model(args.model, std::nullopt);  // values pass through unchanged
  if (tf) {
    if (args.output.ends_with(".npz")) {
      throw CLI::ValidationError("-o",
                                 "rnnkit reads .npz files but writes TF1 variables as safetensors (-o "
                                 "NAME.safetensors) or as a TensorFlow checkpoint (-o PREFIX)");
    }
    // Recorded by an import --from tf (or tf1, as earlier versions called it).
    nlohmann::json recorded = recorded_source(args.model, "tf");
    if (recorded.empty()) recorded = recorded_source(args.model, "tf1");
    if (recorded.value("cells", "") == "tf.keras") {
      throw Error("'" + args.model +
                  "' came from a tf.keras model's checkpoint; export it with --to keras (rnnkit "
                  "writes TF1 cells' variables)");
    }
    const double forget_bias = args.forget_bias.value_or(recorded.value("forget_bias", 1.0));
    std::vector<std::string> paths;
    if (recorded.contains("cell_paths") && recorded["cell_paths"].is_array()) {
      for (const auto& p : recorded["cell_paths"]) {
        if (p.is_string()) paths.push_back(p.get<std::string>());
      }
    }
    std::vector<Tensor<double>> values;
    std::vector<Tensor<float>> floats;
    std::vector<SafetensorsTensor> tensors;
    std::vector<TfBundleTensor> bundle;
    const auto named = export_tf1(model, forget_bias, paths);
    values.reserve(named.size());
    floats.reserve(named.size());
    const std::string dtype = recorded.value("tensor_dtype", model.store.dtype() == DType::f64 ? "F64" : "F32");
    for (const auto& [name, t] : named) {
      if (dtype == "F64") {
        values.push_back(t);
        tensors.push_back(safetensors_tensor(name, values.back().view()));
        bundle.push_back({name, t.shape(), true, std::as_bytes(std::span<const double>(values.back().storage()))});
      } else {
        Tensor<float> f(t.shape());
        for (int64_t i = 0; i < t.numel(); ++i) f[i] = static_cast<float>(t[i]);
        floats.push_back(std::move(f));
        tensors.push_back(safetensors_tensor(name, floats.back().view()));
        bundle.push_back({name, t.shape(), false, std::as_bytes(std::span<const float>(floats.back().storage()))});
      }
    }
    const bool checkpoint = !args.output.ends_with(".safetensors");
    if (checkpoint) {
      write_tf_bundle(args.output, bundle);
      std::cout << "wrote " << args.output << ".index and " << args.output
                << ".data-00000-of-00001: a TensorFlow checkpoint (tf.train.load_checkpoint reads it) of ";
    } else {
      write_safetensors(args.output, tensors, {{"format", "tf1"}});
      std::cout << "wrote " << args.output << ": ";
    }
    std::cout << "TF1 variables (" << named.size() << " " << dtype << " tensors"
              << (model.spec.cell == CellKind::lstm
                      ? ", forget_bias " + format_spec_number(forget_bias) + " taken out of the LSTM forget gate"
                      : std::string())
              << ")\n";
    print_constructor_arguments(model, "TF1 code that loads them builds its cells with");
    return;
  }
  if (args.to == "onnx") {
    export_onnx(model, args.output);
    std::cout << "wrote " << args.output << ": ONNX opset 14, " << model.spec.num_layers << " "
              << (model.spec.cell == CellKind::lstm  ? "LSTM"
                  : model.spec.cell == CellKind::gru ? "GRU"
                                                     : "RNN")
              << " node(s), inputs 'input' [T, B, " << model.spec.input_size << "], checked by onnx::checker\n";
    return;
  }
  if (args.to == "keras") {
    export_keras(model, args.output);
    std::cout << "wrote " << args.output << ": Keras 2 HDF5 weights, " << model.spec.num_layers << " layer(s)"
              << (model.spec.bidirectional ? " in Bidirectional" : "") << "\n";
    print_constructor_arguments(model, "Keras code that loads them builds its layers with");
    return;
  }
  const std::string prefix = args.prefix ? *args.prefix : recorded_source(args.model, "pytorch").value("prefix", "");
  write_safetensors(args.output, export_pytorch(model, prefix), {{"format", "pt"}});
  std::cout << "wrote " << args.output << ": PyTorch nn."
            << (model.spec.cell == CellKind::lstm  ? "LSTM"
                : model.spec.cell == CellKind::gru ? "GRU"
                                                   : "RNN")
            << " state_dict" << (prefix.empty() ? "" : " under prefix '" + prefix + "'") << ", "
            << recurrent_parameters(model.spec).size() << " tensors\n";
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd =
      app.add_subcommand("import", "Convert another framework's recurrent weights into an rnnkit checkpoint");
  cmd->add_option("--from", args->from,
                  "Source format: pytorch (state_dict as safetensors), keras (HDF5), onnx, tf (a TensorFlow "
                  "checkpoint: prefix, .index, folder or SavedModel; or TF1 variables in .npz or safetensors; tf1 is "
                  "its old name)")
      ->required()
      ->check(CLI::IsMember({"pytorch", "keras", "onnx", "tf", "tf1"}));
  cmd->add_option("--node", args->nodes, "onnx: a recurrent node to import (repeat to stack; default: every one)");
  cmd->add_option("--prefix", args->prefix,
                  "pytorch, tf: only the tensors under this prefix, e.g. 'encoder.rnn.' or 'encoder/'");
  cmd->add_option("--forget-bias", args->forget_bias,
                  "tf: a TF1 LSTM's run-time forget_bias, folded into the bias (default 1; CudnnCompatibleLSTMCell 0)")
      ->check(kFiniteNumber);
  cmd->add_option("--dtype", args->dtype, "tf: f32 or f64 (default: f64 if every tensor is F64)")
      ->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("--layer", args->layers,
                  "keras: a layer to import (repeat to stack; default: every recurrent layer)");
  cmd->add_option("--nonlinearity", args->nonlinearity,
                  "nn.RNN's / SimpleRNN's activation (not stored with the weights)")
      ->check(CLI::IsMember({"tanh", "relu"}));
  cmd->add_option(
      "--recurrent-activation", args->recurrent_activation,
      "keras, tf.keras cells in tf: the LSTM/GRU gates' activation, not stored with the weights: sigmoid (default) or "
      "hard_sigmoid (Keras before 2.3: 0.2 x + 0.5)");
  cmd->add_option("--activation", args->activation,
                  "keras, tf: the LSTM/GRU cell activation (not stored): tanh or relu")
      ->check(CLI::IsMember({"tanh", "relu"}));
  cmd->add_option("--gru-reset", args->gru_reset,
                  "keras, tf.keras cells in tf: a GRU's reset form, needed when it has no biases")
      ->check(CLI::IsMember({"after", "before"}));
  cmd->add_option("--cell-clip", args->cell_clip,
                  "tf: LSTMCell's cell_clip (not stored with the variables; TF 1.2-era LSTMBlockCells clipped at 3)")
      ->check(kFiniteNumber & CLI::PositiveNumber);
  cmd->add_option("--proj-clip", args->proj_clip, "tf: LSTMCell's proj_clip (not stored with the variables)")
      ->check(kFiniteNumber & CLI::PositiveNumber);
  cmd->add_option("--scope", args->scope, "Scope of the layer's variables (default: the cell name)");
  cmd->add_option("input", args->input, "The file to convert")->required();
  cmd->add_option("-o,--output", args->output, "Output checkpoint (.safetensors)")->required();
  cmd->callback([args] { run_import(*args); });
}

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write an rnnkit recurrent checkpoint in another framework's layout");
  cmd->add_option("--to", args->to,
                  "Target format: pytorch (safetensors state_dict), keras (HDF5), onnx, tf (a TensorFlow checkpoint "
                  "at -o PREFIX, or TF1 variables in -o NAME.safetensors; tf1 is its old name)")
      ->required()
      ->check(CLI::IsMember({"pytorch", "keras", "onnx", "tf", "tf1"}));
  cmd->add_option("--forget-bias", args->forget_bias,
                  "tf: forget_bias to take out of the LSTM bias (default: as imported, else 1)")
      ->check(kFiniteNumber);
  cmd->add_option("--prefix", args->prefix,
                  "pytorch: module prefix for the tensor names (default: the one recorded at import)");
  cmd->add_option("model", args->model, "A checkpoint written by rnnkit init or import")->required();
  cmd->add_option("-o,--output", args->output, "Output file")->required();
  cmd->callback([args] { run_export(*args); });
}

}  // namespace rnnkit::cli

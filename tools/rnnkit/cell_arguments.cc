// The shared recurrent-layer options of the command line; see cell_arguments.h.
#include "cell_arguments.h"

#include "commands.h"
#include "rnnkit/core/error.h"
#include "rnnkit/init/spec.h"

namespace rnnkit::cli {

std::vector<CLI::Option*> add_cell_arguments(CLI::App& command, CellArguments& args, bool stacking) {
  std::vector<CLI::Option*> added = {
      command.add_flag("--no-bias", args.no_bias, "No bias_ih / bias_hh (PyTorch bias=False, Keras use_bias=False)"),
      command.add_flag("--peepholes", args.peepholes, "LSTM: i and f see c_{t-1}, o sees c_t (weight_peephole [3, H])"),
      command.add_option(
          "--recurrent-activation", args.recurrent_activation,
          "LSTM/GRU gates: sigmoid (default) or hard_sigmoid(alpha=A, beta=B) (Keras 2, ONNX: 0.2, 0.5)"),
      command.add_option("--activation", args.activation, "LSTM/GRU cell activation: tanh (default) or relu")
          ->check(CLI::IsMember({"tanh", "relu"})),
      command.add_option("--gate-clip", args.gate_clip, "Clip gate pre-activations to [-C, C] (ONNX clip)")
          ->check(kFiniteNumber & CLI::PositiveNumber),
      command.add_option("--cell-clip", args.cell_clip, "LSTM: clip c_t to [-C, C] (TF1 cell_clip)")
          ->check(kFiniteNumber & CLI::PositiveNumber),
      command
          .add_option("--proj-clip", args.proj_clip, "LSTM with --proj-size: clip the projected h_t (TF1 proj_clip)")
          ->check(kFiniteNumber & CLI::PositiveNumber),
      command
          .add_option("--gru-reset", args.gru_reset,
                      "GRU reset gate: after W_hn h (PyTorch, Keras; default) or before (TF1)")
          ->check(CLI::IsMember({"after", "before"})),
  };
  if (stacking) {
    added.push_back(command
                        .add_option("--stacking", args.stacking,
                                    "Bidirectional layers: per-layer (each reads both directions, PyTorch; the "
                                    "default) or per-direction (each direction its own stack, TF1's "
                                    "bidirectional_dynamic_rnn)")
                        ->check(CLI::IsMember({"per-layer", "per-direction"})));
  }
  return added;
}

void apply_cell_arguments(const CellArguments& args, RecurrentSpec& spec, RecurrentLayerOptions& options) {
  const bool rnn = spec.cell == CellKind::rnn_tanh || spec.cell == CellKind::rnn_relu;
  auto check = [&](const char* option) {
    try {
      spec.validate();
      check_recurrent_options(spec, options);
    } catch (const Error& e) {
      throw Error(std::string(option) + ": " + e.what());
    }
  };
  check("--cell");
  if (args.no_bias) spec.bias = false;
  if (args.peepholes) {
    spec.peepholes = true;
    check("--peepholes");
  }
  if (!args.stacking.empty()) {
    spec.stacking = parse_stacking(args.stacking);
    check(("--stacking " + args.stacking).c_str());
  }
  if (!args.gru_reset.empty()) {
    options.cell.gru_reset = parse_gru_reset(args.gru_reset);
    check("--gru-reset");
  }
  if (!args.recurrent_activation.empty()) {
    try {
      options.cell.recurrent_activation = parse_gate_activation(args.recurrent_activation);
    } catch (const Error& e) {
      throw Error(std::string("--recurrent-activation: ") + e.what());
    }
    check("--recurrent-activation");
  }
  if (!args.activation.empty()) {
    const CellActivation activation = parse_cell_activation(args.activation);
    if (rnn) {  // an RNN's activation is its cell kind: the option may only agree with it
      if ((activation == CellActivation::relu) != (spec.cell == CellKind::rnn_relu)) {
        throw Error("--activation " + args.activation + ": the cell is " + cell_name(spec.cell) +
                    "; an RNN's activation is its cell (--cell rnn_tanh or rnn_relu)");
      }
    } else {
      options.cell.activation = activation;
    }
  }
  options.cell.gate_clip = args.gate_clip;
  check("--gate-clip");
  options.cell.cell_clip = args.cell_clip;
  check("--cell-clip");
  options.cell.proj_clip = args.proj_clip;
  check("--proj-clip");
}

std::string describe_layer(const RecurrentSpec& s, const RecurrentLayerOptions& o) {
  std::string d = std::string(cell_name(s.cell)) + " I=" + std::to_string(s.input_size) +
                  " H=" + std::to_string(s.hidden_size) + (s.proj_size > 0 ? " P=" + std::to_string(s.proj_size) : "");
  d += ", " + std::to_string(s.num_layers) + (s.num_layers == 1 ? " layer" : " layers");
  if (s.bidirectional) {
    d += ", bidirectional";
    if (s.num_layers > 1) d += std::string(" (") + stacking_name(s.stacking) + " stacking)";
    d += std::string(", merge ") + merge_name(o.merge);
  }
  if (!s.bias) d += ", no biases";
  if (s.peepholes) d += ", peepholes";
  if (s.cell == CellKind::gru) d += std::string(", reset ") + gru_reset_name(o.cell.gru_reset);
  if (s.cell == CellKind::lstm || s.cell == CellKind::gru) {
    d += ", gates " + o.cell.recurrent_activation.spec() + ", activation " + cell_activation_name(o.cell.activation);
  }
  if (o.cell.gate_clip > 0) d += ", gate clip " + format_spec_number(o.cell.gate_clip);
  if (o.cell.cell_clip > 0) d += ", cell clip " + format_spec_number(o.cell.cell_clip);
  if (o.cell.proj_clip > 0) d += ", projection clip " + format_spec_number(o.cell.proj_clip);
  if (o.dropout > 0) d += ", dropout " + format_spec_number(o.dropout);
  return d;
}

}  // namespace rnnkit::cli

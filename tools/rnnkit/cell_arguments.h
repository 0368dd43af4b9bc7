// The command-line options that say how a recurrent layer is built and computes, shared by
// the commands that build one (init, probe): --no-bias, --peepholes, --stacking,
// --recurrent-activation, --activation, --gate-clip, --cell-clip, --proj-clip, --gru-reset.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "rnnkit/layers/recurrent_options.h"

namespace rnnkit::cli {

struct CellArguments {
  bool no_bias = false;
  bool peepholes = false;
  std::string stacking;              // empty: per-layer
  std::string recurrent_activation;  // empty: sigmoid
  std::string activation;            // empty: tanh (an RNN's: its cell)
  double gate_clip = 0.0, cell_clip = 0.0, proj_clip = 0.0;
  std::string gru_reset;  // empty: after
};

// Adds the options and returns them; `stacking` false leaves out --stacking (a command whose
// layers have one direction).
std::vector<CLI::Option*> add_cell_arguments(CLI::App& command, CellArguments& args, bool stacking = true);

// Sets the spec's bias, peepholes and stacking and the options' cell math from the arguments,
// then checks them against the spec. Throws Error naming the option that does not fit, e.g.
// "--peepholes: peepholes are for LSTM only, the cell is gru".
void apply_cell_arguments(const CellArguments& args, RecurrentSpec& spec, RecurrentLayerOptions& options);

// One line saying how a layer is built and computes, for people: "lstm I=32 H=64 P=16, 2 layers,
// bidirectional (per-direction stacking), no biases, peepholes, gates hard_sigmoid(alpha=0.2,
// beta=0.5), cell clip 3".
std::string describe_layer(const RecurrentSpec& spec, const RecurrentLayerOptions& options);

}  // namespace rnnkit::cli

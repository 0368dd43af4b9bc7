// Keras 2 HDF5 weight files to and from rnnkit: LSTM, GRU (reset_after true and false),
// SimpleRNN, each plain or inside Bidirectional (merge concat), stacked as consecutive layers.
//
// The file (model.save_weights("w.h5"); model.save("m.h5") puts the same under the group
// "model_weights"):
//   attribute layer_names            the layers, in order
//   group <layer>, attribute weight_names, e.g. "lstm/lstm_cell/kernel:0"; datasets at
//   <layer>/<weight name>. Bidirectional: "bidirectional/forward_lstm/lstm_cell/kernel:0",
//   ".../backward_lstm/...".
// Per cell: kernel [I, G*H], recurrent_kernel [H, G*H], bias [G*H] (GRU reset_after=True:
// [2, G*H]; none with use_bias=False); gates i, f, c, o (LSTM) and z, r, h (GRU): see
// formats/cell_layout.h. G comes from the shapes (4 LSTM, 3 GRU, 1 SimpleRNN), the GRU's reset
// form from its bias (a GRU without one must be told it). Activations are not in the weights:
// a SimpleRNN is tanh unless told relu, LSTM and GRU gates sigmoid and cells tanh unless told
// (Keras before 2.3 defaulted recurrent_activation to hard_sigmoid: alpha 0.2, beta 0.5).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rnnkit/layers/recurrent_model.h"

namespace rnnkit {

struct KerasImportOptions {
  std::vector<std::string> layers;           // Keras layer names, stacked in this order; empty: every recurrent layer
  std::string scope;                         // rnnkit scope; default: the cell name
  std::optional<CellKind> rnn_nonlinearity;  // SimpleRNN: rnn_tanh (default) or rnn_relu
  GateActivation recurrent_activation;       // LSTM, GRU: as the Keras layer was built
  CellActivation activation = CellActivation::tanh;
  std::optional<GruReset> gru_reset;  // GRU: needed without biases, checked against them otherwise
};

// Every weight of every layer of a Keras weight file, as float64, by "<layer>/<weight name>"
// (e.g. "lstm/lstm/lstm_cell/kernel:0"), recurrent or not. Throws Error as import_keras.
std::map<std::string, Tensor<double>> read_keras_weights(const std::string& path);

// Throws Error naming the file and the layer: not HDF5 or not Keras' layout, a named layer
// that is absent or not recurrent (with the list of layers), stacked layers that do not fit
// together, a tensor of the wrong shape.
RecurrentModel import_keras(const std::string& path, const KerasImportOptions& options = {});

// One Keras recurrent layer's weights in memory, one cell per direction (0 forward, 1
// backward in Bidirectional), with their names for the variables' sources.
struct KerasCellTensors {
  Tensor<double> kernel, recurrent_kernel, bias;  // bias: no elements with use_bias=False
  bool has_bias = true;
  std::string kernel_name, recurrent_kernel_name, bias_name;
};
struct KerasLayerTensors {
  std::string name;
  std::vector<KerasCellTensors> cells;
};

// The conversion import_keras makes once it has read its file, for Keras weights from
// elsewhere (a TensorFlow checkpoint of a tf.keras model): the layers stacked in order, the
// cell kind from the recurrent kernel's shape. `where` names the layers in messages, `origin`
// prefixes the variables' sources (e.g. "keras w.h5:"); f64: a float64 store.
RecurrentModel keras_layers_to_model(std::vector<KerasLayerTensors> layers, const std::string& where,
                                     const std::string& origin, bool f64, const KerasImportOptions& options);

// Writes the layer as Keras would save it: one Keras layer per rnnkit layer, named like
// Keras' defaults (lstm, lstm_1, ...; bidirectional, bidirectional_1 with forward_/backward_
// cells), float32 or float64 as the store, no bias datasets for a layer without biases. Throws
// Error for what Keras cannot express (an LSTM projection, peepholes, clips, per-direction
// stacking). The activations are not weights: the Keras code that loads the file builds its
// layers with them. Written atomically.
void export_keras(const RecurrentModel& model, const std::string& path);

}  // namespace rnnkit

// Recurrent layers from a TensorFlow checkpoint (formats/tf_checkpoint.h): the cells of TF1
// code (formats/tf1.h: BasicLSTMCell, LSTMCell, GRUCell, BasicRNNCell, LSTMBlockCell, the
// CudnnCompatible cells, under every TensorFlow version's names) or the tf.keras cells of a
// TensorFlow 2 or tf.keras model (kernel, recurrent_kernel, bias: formats/keras.h's layout).
//
// Which variables: those under options.tf1.prefix, matched against the names (the object
// graph's, lstm_2/lstm_cell/) or else the raw keys (layer_with_weights-0/). A tf.keras cell is
// recognized by its recurrent_kernel; its layer is the name before the cell (lstm_2), in
// Bidirectional the name before forward_*/backward_*; several layers stack in the order the
// model holds them (layer_with_weights-N of an object-based checkpoint, else their names).
// The checkpoint holds no config: a tf.keras cell computes with Keras' equations, no forget
// bias added at run time, sigmoid gates and tanh unless told otherwise; a TF1 cell with
// TensorFlow 1's (forget_bias 1 folded in unless told otherwise).
// Optimizer slots, counters, the object graph and the weights of other layers are listed as
// not used, each with what it is.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rnnkit/formats/tf1.h"
#include "rnnkit/formats/tf_checkpoint.h"

namespace rnnkit {

struct TfImportOptions {
  Tf1ImportOptions tf1;                 // prefix, scope, dtype; TF1 cells: forget bias, clips, activation, nonlinearity
  GateActivation recurrent_activation;  // tf.keras LSTM and GRU gates
  std::optional<GruReset> gru_reset;    // a tf.keras GRU without biases
};

struct TfUnusedVariable {
  std::string name;
  TfVariableRole role;
};

struct TfImport {
  RecurrentModel model;
  bool keras_cells = false;             // tf.keras cells (else TF1 cells)
  std::vector<std::string> cell_paths;  // TF1 cells: each cell's path, for export
  double forget_bias = 0.0;             // TF1 LSTM cells: what was folded in
  bool any_f32 = false;                 // some imported tensor was not float64
  std::vector<std::string> used;        // the variables the model holds, by name
  std::vector<TfUnusedVariable> unused;
};

// Throws Error naming the checkpoint: no recurrent cell under the prefix (with what is
// there), cells that do not make one model, and whatever import_tf1 or the Keras layout refuse.
TfImport import_tf_checkpoint(const TfCheckpoint& checkpoint, const TfImportOptions& options = {});

}  // namespace rnnkit

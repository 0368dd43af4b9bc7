// Presets: the default initializers of other frameworks, reproduced in distribution.
//
//   pytorch  every weight and bias U(+-1/sqrt(H)) (bias_hh too, as nn.LSTM/GRU/RNN do).
//   keras    weight_ih glorot_uniform over the whole fused matrix, weight_hh orthogonal over
//            the whole fused matrix, biases zero, LSTM forget bias 1 (unit_forget_bias);
//            weight_hr (no Keras counterpart) glorot_uniform.
//            Peephole LSTMs (keras and tf1): weight_peephole glorot_uniform(fan_in=H, fan_out=H), the
//            limit sqrt(3/H) TensorFlow's glorot_uniform gives each [H] diagonal w_{i,f,o}_diag;
//            pytorch (which has no peepholes): U(+-1/sqrt(H)) like its other weights.
//   tf1      TensorFlow 1 cells: glorot_uniform over the concatenated [input, hidden] kernel
//            (so weight_ih and weight_hh share fan_in = in + R, R = P or H), zero bias,
//            LSTM forget bias 1 (added at run time by TF1, folded into bias_ih here);
//            GRUCell: gate kernels over fan_out = 2H with gate bias 1.0, candidate over H.
// With no choice made rnnkit uses keras: orthogonal recurrent weights have all singular
// values 1, so the linear part of the step neither shrinks nor blows up gradients through
// time; glorot input weights keep activation variance; forget bias 1 lets an LSTM keep
// its memory from the start (Jozefowicz et al. 2015).
#pragma once

#include <cstdint>
#include <string_view>

#include "rnnkit/core/cell_kind.h"
#include "rnnkit/init/initializer.h"

namespace rnnkit {

enum class Preset { pytorch, keras, tf1 };

inline constexpr Preset kDefaultPreset = Preset::keras;

const char* preset_name(Preset preset);
// Throws Error listing the valid names.
Preset parse_preset(std::string_view name);

// The initializers of one layer's variables. weight_hr is null unless the layer projects,
// weight_peephole unless the cell is an LSTM.
struct RecurrentInitializers {
  InitializerPtr weight_ih;
  InitializerPtr weight_hh;
  InitializerPtr bias_ih;
  InitializerPtr bias_hh;
  InitializerPtr weight_hr;
  InitializerPtr weight_peephole;
};

// layer_input: this layer's input width; proj: P, or 0 without projection.
RecurrentInitializers preset_initializers(Preset preset, CellKind cell, int64_t layer_input, int64_t hidden,
                                          int64_t proj);

// `bias` with the LSTM forget gate's block set to `value`:
// gates(f=constant(value), default=bias), or bias's own gates(...) with f replaced.
InitializerPtr with_forget_bias(const InitializerPtr& bias, double value);

}  // namespace rnnkit

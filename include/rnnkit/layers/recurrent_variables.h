// Creating a recurrent layer's variables in a store, with chosen initializers.
//
// Each variable's initializer is, in order of precedence: the explicit choice for
// its kind (kernel -> weight_ih and weight_hr, recurrent -> weight_hh, bias -> bias_ih,
// bias_hh -> bias_hh, peephole -> weight_peephole), else the preset's. forget_bias, if set,
// overrides the forget gate block of bias_ih (LSTM only). bias_hh is zero in the keras and tf1
// presets: two random biases would add their variances.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "rnnkit/init/presets.h"
#include "rnnkit/layers/recurrent_spec.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

struct RecurrentInitChoice {
  Preset preset = kDefaultPreset;
  InitializerPtr kernel;     // weight_ih and weight_hr
  InitializerPtr recurrent;  // weight_hh
  InitializerPtr bias;       // bias_ih
  InitializerPtr bias_hh;    // bias_hh
  InitializerPtr peephole;   // weight_peephole
  std::optional<double> forget_bias;
};

// An initializer set written as text, for command lines and experiments: a preset name
// ("pytorch", "keras", "tf1"), or fields separated by ';' among preset=, kernel=, recurrent=,
// bias=, bias_hh=, peephole= (initializer specs) and forget_bias= (a number), e.g.
// "preset=pytorch;recurrent=orthogonal;forget_bias=1". Throws Error naming the bad field.
RecurrentInitChoice parse_init_choice(std::string_view text);

// The initializers layer `layer` gets under `choice`. Throws Error if forget_bias is set for a
// cell without a forget gate or a layer without biases, a bias initializer is chosen for a layer
// without biases, or a peephole initializer for one without peepholes.
RecurrentInitializers resolve_recurrent_initializers(const RecurrentSpec& spec, int64_t layer,
                                                     const RecurrentInitChoice& choice);

// Creates (or, under reuse, shares) the layer's variables under the store's current
// scope and returns them in recurrent_parameters order.
std::vector<const Variable*> create_recurrent_variables(VariableStore& store, const RecurrentSpec& spec,
                                                        const RecurrentInitChoice& choice = {});

}  // namespace rnnkit

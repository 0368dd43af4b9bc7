// Initializers: values with a textual spec, e.g. `orthogonal(gain=1.0, version=2)`.
//
// An initializer fills a variable from (seed, full name, spec, shape) alone: it
// draws from RandomStream(seed, name), so a variable gets the same values no
// matter what else the model holds. Values are computed in double and rounded
// to the storage type afterwards.
//
// Fan convention. Weights are stored [out, in] as PyTorch stores them, so for a
// rank-2 shape fan_out = shape[0] and fan_in = shape[1]; for rank > 2 both are
// multiplied by the receptive field prod(shape[2:]); for rank 1 both equal
// shape[0]; for a scalar both are 1. For a fused gate matrix [G*H, in] the fans
// are those of the whole matrix (fan_out = G*H) unless per_gate/gates is used,
// in which case each gate block [H, in] is initialized with its own fans.
// Fan-based initializers also accept fan_in= and fan_out= to override them
// (the tf1 preset uses this for TensorFlow 1's concatenated [input, hidden] kernel).
//
// Catalogue (arguments with their defaults; positional order as listed):
//   zeros, ones, constant(value)
//   uniform(min=-0.05, max=0.05), normal(mean=0.0, stddev=0.05)
//   truncated_normal(mean=0.0, stddev=0.05)        redraws beyond 2 stddev, as TensorFlow
//   variance_scaling(scale=1.0, mode=fan_in|fan_out|fan_avg,
//                    distribution=truncated_normal|untruncated_normal|uniform)
//       n = fan_in, fan_out or (fan_in+fan_out)/2; truncated: stddev = sqrt(scale/n)/0.87962566103423978;
//       untruncated: stddev = sqrt(scale/n); uniform: U(+-sqrt(3*scale/n))
//   glorot_uniform(gain=1.0)   U(+-gain*sqrt(6/(fan_in+fan_out)))              alias xavier_uniform
//   glorot_normal(gain=1.0)    variance_scaling(gain^2, fan_avg, truncated_normal), as Keras; alias xavier_normal
//                              (PyTorch's xavier_normal_ is untruncated: variance_scaling(1, fan_avg,
//                              untruncated_normal))
//   he_uniform(nonlinearity=leaky_relu, a=0.0, mode=fan_in)   U(+-gain*sqrt(3/fan)), alias kaiming_uniform
//   he_normal(nonlinearity=leaky_relu, a=0.0, mode=fan_in)    N(0, gain/sqrt(fan)), alias kaiming_normal
//       gain as PyTorch's calculate_gain: linear, sigmoid 1; tanh 5/3; relu sqrt(2);
//       leaky_relu sqrt(2/(1+a^2)); selu 3/4
//   lecun_uniform   U(+-sqrt(3/fan_in));  lecun_normal  variance_scaling(1, fan_in, truncated_normal)
//   orthogonal(gain=1.0, version=2)   QR of a normal matrix with the sign fix (Q * sign(diag R)); semi-
//                              orthogonal when not square (orthonormal rows if rows < cols, else orthonormal
//                              columns). version 1: unblocked Householder QR (rnnkit 0.1, about 40 s for an
//                              LSTM's [8000, 2000] recurrent matrix); version 2: blocked Householder QR, the
//                              same matrix up to rounding (~1e-13) and many times faster. Both are exact
//                              (no iteration) in double precision, and the bits depend on the draws alone,
//                              never on the CPU or the thread count (src/init/orthogonal.h).
//       Versions. spec() always names the version, so checkpoints record it: orthogonal(gain=1.0, version=2).
//       A spec without a version means the newest when it is typed (parse_initializer: the command line,
//       config files, code), and version 1 when it is read back from a checkpoint
//       (parse_recorded_initializer): rnnkit 0.1 recorded `orthogonal(gain=1.0)` for what is now version 1,
//       and every later release records the version, so seed + recorded spec keep reproducing the values.
//   identity(gain=1.0)         gain on the main diagonal of a matrix
//   uniform_unit_scaling(factor=1.0)   TensorFlow 1's: U(+-sqrt(3/fan_in)*factor)
//   pytorch_default            U(+-1/sqrt(H)) with H the layer's hidden size (1/sqrt(fan_in) outside a layer)
//   per_gate(INIT)             INIT on each gate block on its own (e.g. each H x H recurrent block orthogonal)
//   gates(i=INIT, f=INIT, g=INIT, o=INIT, r=, z=, n=, default=zeros)   each gate its own; unnamed gates get default
//   chrono(t_max)              gated-cell bias (Tallec & Ollivier 2018): LSTM b_f = log(U(1, t_max-1)),
//                              b_i = -b_f, others 0; GRU b_z = log(U(1, t_max-1)) (z keeps the old state), others 0
// Gate blocks draw from their own streams, named `NAME[letter]` (e.g. `lstm/l0/fw/weight_hh[f]`),
// so changing one gate's initializer leaves the other gates' values as they were.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rnnkit/core/shape.h"
#include "rnnkit/core/tensor.h"

namespace rnnkit {

// What an initializer may know about the variable it fills.
struct InitContext {
  uint64_t seed = 0;
  std::string name;  // full variable name: the key of its random stream
  Shape shape;
  std::string gate_letters;  // gate blocks along dim 0 ("ifgo", "rzn"); empty: no gate structure
  int64_t hidden_size = 0;   // H of the recurrent layer the variable belongs to; 0 if none
};

struct Fans {
  double fan_in = 1.0;
  double fan_out = 1.0;
};

class Initializer {
 public:
  virtual ~Initializer() = default;
  // The canonical spec; parse_initializer(spec()) gives an equal initializer.
  virtual std::string spec() const = 0;
  // Fills `out`, whose shape is ctx.shape. Throws Error if the initializer does not
  // apply to that shape (e.g. orthogonal on a vector).
  virtual void fill(TensorView<double> out, const InitContext& ctx) const = 0;
};

using InitializerPtr = std::shared_ptr<const Initializer>;

// Parses a spec. Unknown initializers and arguments, missing or ill-typed values,
// and out-of-range values throw Error naming them and listing what is valid.
// Arguments left out take their defaults (orthogonal: the newest version).
InitializerPtr parse_initializer(std::string_view spec);

// Parses a spec that rnnkit recorded (Variable::init_spec, a checkpoint's metadata): arguments
// left out mean what the release that wrote the spec did before they existed (orthogonal:
// version 1). Specs that spec() writes today name every argument, so both parsers agree on them.
InitializerPtr parse_recorded_initializer(std::string_view spec);

// The initial value as a double tensor of ctx.shape.
Tensor<double> initial_value(const Initializer& init, const InitContext& ctx);

// Names (without aliases) of all initializers, for help texts.
std::vector<std::string> initializer_names();

// Fans of a shape under the convention above.
Fans compute_fans(const Shape& shape);

// PyTorch's calculate_gain(nonlinearity, param). Throws Error for unknown names.
double calculate_gain(std::string_view nonlinearity, double param = 0.0);

}  // namespace rnnkit

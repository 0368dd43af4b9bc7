// The classic TensorFlow 1 per-gate LSTM cell, written with rnnkit's tape ops and scoped
// variables. For each gate g in (input_gate, forget_gate, memory_cell, output_gate), under
// the scope "LSTMcell/<g>":  wx [I, H], wt [H, H], bi [1, H], and
//   g_t = x_t wx + h_{t-1} wt + bi
//   c_t = sigmoid(forget) * c_{t-1} + sigmoid(input) * tanh(memory)
//   h_t = sigmoid(output) * tanh(c_t)
// The variables are got at every step inside the scope "LSTMcell" with Reuse::automatic and
// `init` as its default initializer (null: inherited): created at the first step, shared by
// every later step and by any other model built on the same store.
#pragma once

#include <array>
#include <string>

#include "rnnkit/rnnkit.h"

namespace per_gate_lstm {

inline constexpr std::array<const char*, 4> kGates = {"input_gate", "forget_gate", "memory_cell", "output_gate"};

template <class T>
rnnkit::CellFunction<T> cell(rnnkit::Tape<T>& tape, int64_t input_size, int64_t hidden_size,
                             rnnkit::InitializerPtr init = nullptr) {
  return [&tape, input_size, hidden_size, init](rnnkit::Value<T> x, const std::vector<rnnkit::Value<T>>& state) {
    rnnkit::VariableStore& store = tape.store();
    auto lstm_scope = store.scope("LSTMcell", {.reuse = rnnkit::Reuse::automatic, .initializer = init});
    std::array<rnnkit::Value<T>, 4> pre;
    for (std::size_t g = 0; g < kGates.size(); ++g) {
      auto gate_scope = store.scope(kGates[g]);
      const rnnkit::Variable& wx = store.get_variable("wx", {input_size, hidden_size});
      const rnnkit::Variable& wt = store.get_variable("wt", {hidden_size, hidden_size});
      const rnnkit::Variable& bi = store.get_variable("bi", {1, hidden_size});
      pre[g] = rnnkit::matmul(x, tape.param(wx)) + rnnkit::matmul(state[0], tape.param(wt));
      pre[g] = rnnkit::add(pre[g], tape.param(bi));
    }
    const rnnkit::Value<T> c = rnnkit::sigmoid(pre[1]) * state[1] + rnnkit::sigmoid(pre[0]) * rnnkit::tanh(pre[2]);
    const rnnkit::Value<T> h = rnnkit::sigmoid(pre[3]) * rnnkit::tanh(c);
    return std::vector<rnnkit::Value<T>>{h, c};
  };
}

}  // namespace per_gate_lstm

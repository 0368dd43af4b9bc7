// A hand-written per-gate LSTM cell (per_gate_lstm.h), its variables under
// LSTMcell/<gate>/{wx,wt,bi} initialized by the scope's default initializer
// truncated_normal(mean=-0.1, stddev=0.01), run over a batch and differentiated; then
// saved, so that its weights can be restored by name into another model.
//   custom_lstm OUT.safetensors
#include <cmath>
#include <iostream>

#include "per_gate_lstm.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: custom_lstm OUT.safetensors\n";
    return 2;
  }
  try {
    constexpr int64_t kSteps = 20, kBatch = 8, kInput = 16, kHidden = 32;
    rnnkit::VariableStore store(/*seed=*/1);
    rnnkit::Tape<float> tape(store);
    rnnkit::Tensor<float> x({kSteps, kBatch, kInput}), zeros({kBatch, kHidden});
    rnnkit::RandomStream random(2, "example/input");
    for (float& v : x.storage()) v = static_cast<float>(random.uniform(-1, 1));
    const rnnkit::InitializerPtr init = rnnkit::parse_initializer("truncated_normal(mean=-0.1, stddev=0.01)");
    const auto result = rnnkit::unroll(per_gate_lstm::cell(tape, kInput, kHidden, init), tape.input(x.view()), {},
                                       {tape.input(zeros.view()), tape.input(zeros.view())});
    const rnnkit::Value<float> loss = rnnkit::mean(result.output);
    tape.backward(loss);
    double norm = 0;
    for (float g : store.gradients<float>()) norm += static_cast<double>(g) * g;
    std::cout << "loss " << loss.value()[0] << ", gradient norm " << std::sqrt(norm) << "\n";
    for (const rnnkit::Variable& v : store.variables()) {
      std::cout << "  " << v.name << " " << rnnkit::shape_to_string(v.shape) << "  " << v.init_spec << "\n";
    }
    rnnkit::save_checkpoint(store, argv[1]);
    std::cout << "wrote " << argv[1] << "\n";
  } catch (const rnnkit::Error& e) {
    std::cerr << "custom_lstm: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

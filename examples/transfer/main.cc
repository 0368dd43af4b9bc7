// The transfer story with the library: pre-train a character-level LSTM language model,
// warm-start the forward direction of a different model (a bidirectional typo detector
// under another scope, with its own head) from it, train with the transferred weights
// frozen, then fine-tune everything; and, as a control, the detector from scratch.
//
//   transfer_example OUT_DIR [STEP_SCALE]   (STEP_SCALE < 1 shortens every stage, for tests)
//
// The same story with the command line is in the README ("Pre-trained weights in a
// different model"), using the .toml files beside this one.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "rnnkit/rnnkit.h"

namespace {

rnnkit::EvalRecord train(rnnkit::Trainer& trainer) {
  while (trainer.step() < trainer.config().train.steps) trainer.train_step();
  return trainer.evaluate();
}

void print(const char* stage, const rnnkit::Trainer& trainer, const rnnkit::EvalRecord& r) {
  std::cout << stage << ": " << r.metric << " " << trainer.task().metric_name();
  if (r.accuracy) std::cout << ", accuracy " << *r.accuracy;
  std::cout << " (baseline " << trainer.task().baseline() << ")\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: transfer_example OUT_DIR [STEP_SCALE]\n";
    return 2;
  }
  const std::string out = argv[1];
  const double scale = argc > 2 ? std::atof(argv[2]) : 1.0;
  const auto steps = [&](int64_t n) { return std::max<int64_t>(2, std::llround(static_cast<double>(n) * scale)); };
  std::filesystem::create_directories(out);
  try {
    // 1. The language model: lm/embedding, lm/rnn/l0/fw/*, lm/head/*.
    rnnkit::RunConfig lm_config;
    lm_config.seed = 1;
    lm_config.model.scope = "lm";
    lm_config.train.steps = steps(500);
    rnnkit::Trainer lm(lm_config);
    print("language model", lm, train(lm));
    lm.save(out + "/lm.safetensors");

    // 2. The detector: its own scopes and head; only the forward direction and the
    //    embedding come from the language model, and they stay frozen.
    rnnkit::RunConfig detector = lm_config;
    detector.seed = 2;
    detector.model.scope = "typo";
    detector.model.bidirectional = true;
    detector.model.recurrent_init = "per_gate(orthogonal)";
    detector.model.init = {{"typo/head/weight", "normal(stddev=0.01)"}};
    detector.task.name = "typo";
    detector.task.steps = 24;
    detector.train.steps = steps(400);
    detector.train.eval_batches = 8;
    rnnkit::RunConfig scratch = detector;  // the control, before any transfer is set
    detector.transfer.init_from = out + "/lm.safetensors";
    detector.transfer.map = {{"lm/rnn/l0/fw/", "typo/rnn/l0/fw/"}, {"lm/embedding", "typo/embedding"}};
    detector.transfer.freeze = {"typo/rnn/l0/fw/*", "typo/embedding"};
    rnnkit::Trainer frozen(detector);
    std::cout << frozen.transfer().to_text();
    print("detector, transferred weights frozen", frozen, train(frozen));
    frozen.save(out + "/detector-frozen.safetensors");

    // 3. Fine-tune: every variable from the frozen stage's checkpoint, all trainable.
    rnnkit::RunConfig finetune = scratch;
    finetune.optimizer.learning_rate = 0.001;
    finetune.transfer.init_from = out + "/detector-frozen.safetensors";
    rnnkit::Trainer tuned(finetune);
    tuned.transfer();
    print("detector, fine-tuned", tuned, train(tuned));

    // The control: the same detector from its initializers alone, as many steps as 2 and 3.
    scratch.train.steps = 2 * detector.train.steps;
    rnnkit::Trainer fresh(scratch);
    print("detector from scratch (control)", fresh, train(fresh));
  } catch (const rnnkit::Error& e) {
    std::cerr << "transfer_example: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

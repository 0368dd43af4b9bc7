// The README's example: scopes, a recurrent layer with chosen initializers, a checkpoint,
// and a partial restore into another model. Built against the installed rnnkit by CI.
#include <rnnkit/rnnkit.h>

#include <iostream>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "encoder.safetensors";
  try {
    // Pre-train (here: just initialize) a bidirectional GRU under the scope "pretrain".
    rnnkit::VariableStore pretrained(/*seed=*/42);
    {
      auto scope = pretrained.scope("pretrain");
      rnnkit::RecurrentInitChoice choice;  // keras preset unless told otherwise
      choice.recurrent = rnnkit::parse_initializer("per_gate(orthogonal)");
      rnnkit::create_recurrent_variables(pretrained, {rnnkit::CellKind::gru, 16, 32, 1, true, 0}, choice);
    }
    rnnkit::save_checkpoint(pretrained, path);

    // A different model: the same GRU as its encoder, plus a head of its own.
    rnnkit::VariableStore model(/*seed=*/7);
    {
      auto scope = model.scope("classifier");
      auto encoder = model.scope("encoder");
      rnnkit::create_recurrent_variables(model, {rnnkit::CellKind::gru, 16, 32, 1, true, 0});
    }
    model.get_variable("classifier/head/weight", {4, 64});

    rnnkit::RestoreOptions options;
    options.renames = {{"pretrain/", "classifier/encoder/"}};
    options.include = {"classifier/encoder/**"};
    const rnnkit::RestoreReport report = rnnkit::restore_checkpoint(model, path, options);
    model.set_trainable("classifier/encoder/**", false);
    std::cout << "loaded " << report.loaded.size() << " tensors; " << model.at("classifier/head/weight").init_spec
              << " for the head\n";
    return report.loaded.size() == 8 ? 0 : 1;
  } catch (const rnnkit::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

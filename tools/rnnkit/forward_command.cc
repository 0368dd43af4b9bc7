// rnnkit forward: run a recurrent layer checkpoint on inputs from a safetensors file and
// write output, h_n and (LSTM) c_n with PyTorch's shapes, so that a user can compare them
// with what their PyTorch model gives.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "commands.h"
#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/core/error.h"
#include "rnnkit/layers/recurrent_model.h"

namespace rnnkit::cli {
namespace {

struct ForwardArgs {
  std::string model, input, output;
  bool batch_first = false;
  bool allow_nonfinite = false;
  int threads = 0;
};

// A NaN or infinity in an input would come out as NaN outputs with exit code 0: refused, with
// where it is, unless asked for.
void refuse_nonfinite(const Tensor<float>& t, const std::string& name, const ForwardArgs& args) {
  if (args.allow_nonfinite) return;
  const std::span<const float> values = t.storage();
  const auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
  if (bad == values.end()) return;
  int64_t flat = bad - values.begin();
  std::string index;
  for (int64_t d = t.rank() - 1; d >= 0; --d) {
    const int64_t extent = t.shape()[static_cast<std::size_t>(d)];
    index = std::to_string(flat % extent) + (index.empty() ? "" : ", ") + index;
    flat /= extent;
  }
  throw Error("input file '" + args.input + "': tensor '" + name + "' holds " + std::to_string(*bad) + " at [" + index +
              "]; rnnkit forward computes with finite values only (--allow-nonfinite to compute anyway)");
}

void run_forward(const ForwardArgs& args) {
  apply_threads(args.threads);
  RecurrentModel model = load_recurrent_model(args.model);
  model.options.batch_first = args.batch_first;
  const SafetensorsFile in = SafetensorsFile::read(args.input);
  if (in.find("input") == nullptr) {
    throw Error("input file '" + args.input +
                "': no tensor named 'input' (expected input, and optionally lengths, h0, c0)");
  }
  const Tensor<float> x = in.to_float(in.at("input"));
  refuse_nonfinite(x, "input", args);
  std::vector<int64_t> lengths;
  if (const SafetensorsEntry* e = in.find("lengths")) {
    const Tensor<double> values = in.to_double(*e);
    if (values.rank() != 1) {
      throw Error("input file '" + args.input + "': lengths has shape " + shape_to_string(values.shape()) +
                  ", expected [B]");
    }
    for (double v : values.storage()) {
      if (v != std::floor(v)) throw Error("input file '" + args.input + "': lengths must be integers");
      lengths.push_back(static_cast<int64_t>(v));
    }
  }
  Tensor<float> h0, c0;
  if (const SafetensorsEntry* e = in.find("h0")) {
    h0 = in.to_float(*e);
    refuse_nonfinite(h0, "h0", args);
  }
  if (const SafetensorsEntry* e = in.find("c0")) {
    c0 = in.to_float(*e);
    refuse_nonfinite(c0, "c0", args);
  }
  auto view = [](const Tensor<float>& t) { return t.numel() > 0 ? t.view() : TensorView<const float>(); };

  RecurrentLayer<float> layer(model.store, model.scope, model.spec, model.options);
  const RecurrentResult<float> y = layer.forward(x.view(), lengths, view(h0), view(c0));
  std::vector<SafetensorsTensor> tensors = {safetensors_tensor("output", y.output.view()),
                                            safetensors_tensor("h_n", y.h_n.view())};
  if (y.c_n.numel() > 0) tensors.push_back(safetensors_tensor("c_n", y.c_n.view()));
  write_safetensors(args.output, tensors, {{"format", "rnnkit.forward"}, {"model", args.model}});
  std::cout << "wrote " << args.output << ": output " << shape_to_string(y.output.shape()) << ", h_n "
            << shape_to_string(y.h_n.shape());
  if (y.c_n.numel() > 0) std::cout << ", c_n " << shape_to_string(y.c_n.shape());
  std::cout << "\n";
}

}  // namespace

void add_forward_command(CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  CLI::App* cmd = app.add_subcommand(
      "forward",
      "Run a recurrent layer checkpoint on INPUT (input, optional lengths [I64], h0, c0); write output, h_n, c_n");
  cmd->add_option("model", args->model, "A checkpoint written by rnnkit init or import")->required();
  cmd->add_option("input", args->input, "A safetensors file with 'input' [T,B,I] ([B,T,I] with --batch-first)")
      ->required();
  cmd->add_option("-o,--output", args->output, "Output file (.safetensors)")->required();
  cmd->add_flag("--batch-first", args->batch_first, "input and output are [B, T, ...]");
  cmd->add_flag("--allow-nonfinite", args->allow_nonfinite, "Compute with NaN or infinite inputs instead of refusing");
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] { run_forward(*args); });
}

}  // namespace rnnkit::cli

// The training loop's step, evaluation, checkpoints and warm start; see train/trainer.h.
#include "rnnkit/train/trainer.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "rnnkit/core/error.h"
#include "rnnkit/train/adagrad.h"
#include "rnnkit/train/adam.h"
#include "rnnkit/train/clip.h"
#include "rnnkit/train/rmsprop.h"
#include "rnnkit/train/sgd.h"

namespace rnnkit {
namespace {

// splitmix64's finalizer: decorrelates consecutive step numbers for the dropout seed.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::string slot_tensor_name(const std::string& slot, const std::string& variable) {
  return "@optimizer/" + slot + "/" + variable;
}

}  // namespace

std::unique_ptr<Optimizer> create_optimizer(const OptimizerConfig& c) {
  const double decay = c.weight_decay.value_or(c.name == "adamw" ? 0.01 : 0.0);
  if (c.name == "sgd") {
    return std::make_unique<Sgd>(SgdOptions{c.learning_rate, c.momentum, c.nesterov, decay});
  }
  if (c.name == "adam" || c.name == "adamw") {
    return std::make_unique<Adam>(AdamOptions{c.learning_rate, c.beta1, c.beta2, c.eps, decay, c.name == "adamw"});
  }
  if (c.name == "rmsprop") return std::make_unique<RmsProp>(RmsPropOptions{c.learning_rate, c.alpha, c.eps, decay});
  if (c.name == "adagrad") return std::make_unique<Adagrad>(AdagradOptions{c.learning_rate, c.eps, decay});
  throw Error("optimizer '" + c.name + "': unknown (expected sgd, adam, adamw, rmsprop or adagrad)");
}

Trainer::Trainer(RunConfig config)
    : config_(std::move(config)), task_(TrainingTask::create(config_.task)), store_(config_.seed, DType::f32) {
  config_.schedule.validate();
  model_ = std::make_unique<SequenceModel>(store_, config_.model, *task_);
  optimizer_ = create_optimizer(config_.optimizer);
  tape_ = std::make_unique<Tape<float>>(store_);
}

Trainer::~Trainer() = default;

TransferReport Trainer::transfer() {
  const TransferConfig& t = config_.transfer;
  if (step_ != 0) throw Error("transfer: the run has already taken " + std::to_string(step_) + " steps");
  if (t.init_from.empty() && (!t.map.empty() || !t.include.empty() || !t.exclude.empty())) {
    throw Error("transfer: a map, include or exclude was given without a checkpoint to take weights from (init_from)");
  }
  std::optional<RestoreReport> restored;
  if (!t.init_from.empty()) {
    RestoreOptions options;
    options.renames = t.map;
    options.include = t.include;
    options.exclude = t.exclude;
    options.strict = false;
    restored = restore_checkpoint(store_, t.init_from, options);
    if (!restored->unused_renames.empty()) {
      std::string list;
      for (const std::string& r : restored->unused_renames) list += (list.empty() ? "" : ", ") + r;
      throw Error("transfer from '" + t.init_from + "': map entries that match no checkpoint tensor: " + list);
    }
    if (restored->loaded.empty()) {
      throw Error("transfer from '" + t.init_from + "': no tensor of the checkpoint maps onto a variable of the model" +
                  " (check the map and the model's scope '" + config_.model.scope + "')");
    }
  }
  for (const std::string& pattern : t.freeze) {
    if (store_.set_trainable(pattern, false) == 0) {
      throw Error("freeze '" + pattern + "': matches no variable of the model");
    }
  }
  return make_transfer_report(store_, t.init_from, restored ? &*restored : nullptr);
}

StepRecord Trainer::train_step() {
  const auto start = std::chrono::steady_clock::now();
  const int64_t k = step_ + 1;
  const TaskBatch batch = task_->train_batch(config_.seed, k);
  tape_->clear();
  store_.zero_grad();
  RecurrentLayer<float>& layer = model_->recurrent();
  layer.set_training(true);
  layer.set_dropout_seed(config_.seed ^ mix(static_cast<uint64_t>(k)));
  Value<float> h0, c0;
  if (batch.continues_state && carry_h_.numel() > 0) {
    // The state flows in as a constant: the gradient stops at the chunk boundary.
    h0 = tape_->input(carry_h_.view());
    if (carry_c_.numel() > 0) c0 = tape_->input(carry_c_.view());
  }
  const SequenceModel::Outputs out = model_->forward(*tape_, batch, h0, c0);
  tape_->backward(out.loss);

  StepRecord record;
  record.step = k;
  record.loss = out.loss.value()[0];
  record.metric = task_->metric(record.loss);
  if (task_->output() != TaskOutput::value_per_sequence) {
    record.accuracy = static_cast<double>(count_correct(out, batch)) / static_cast<double>(batch.classes.size());
  }
  if (config_.task.truncated_bptt) {
    carry_h_ = copy_tensor(out.rnn.h_n.value());
    if (out.rnn.c_n.valid()) carry_c_ = copy_tensor(out.rnn.c_n.value());
  }
  if (!std::isfinite(record.loss)) {
    throw Error("step " + std::to_string(k) + ": the loss is " + std::to_string(record.loss) +
                "; lower the learning rate or clip gradients ([clip] norm)");
  }
  record.gradient_norm =
      config_.clip.norm > 0 ? clip_gradient_norm(store_, config_.clip.norm) : gradient_norm(store_);
  if (config_.clip.value > 0) clip_gradient_value(store_, config_.clip.value);
  record.learning_rate = config_.schedule.rate(config_.optimizer.learning_rate, k);
  optimizer_->set_learning_rate(record.learning_rate);
  optimizer_->step(store_);
  step_ = k;
  record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return record;
}

EvalRecord Trainer::evaluate() {
  RecurrentLayer<float>& layer = model_->recurrent();
  layer.set_training(false);
  EvalRecord record;
  record.step = step_;
  int64_t correct = 0, total = 0;
  if (eval_batches_.empty()) {  // the same batches at every evaluation: made once
    for (int64_t j = 1; j <= config_.train.eval_batches; ++j) eval_batches_.push_back(task_->eval_batch(config_.seed, j));
  }
  for (const TaskBatch& batch : eval_batches_) {
    tape_->clear();
    const SequenceModel::Outputs out = model_->forward(*tape_, batch);
    record.loss += out.loss.value()[0];
    if (task_->output() != TaskOutput::value_per_sequence) {
      correct += count_correct(out, batch);
      total += static_cast<int64_t>(batch.classes.size());
    }
  }
  tape_->clear();
  record.loss /= static_cast<double>(config_.train.eval_batches);
  record.metric = task_->metric(record.loss);
  if (total > 0) record.accuracy = static_cast<double>(correct) / static_cast<double>(total);
  return record;
}

void Trainer::load_variables(const std::string& path) { restore_checkpoint(store_, path, {}); }

void Trainer::save(const std::string& path) const {
  SaveOptions options;
  options.model_json = model_->model_json();
  nlohmann::ordered_json train;
  train["step"] = step_;
  train["optimizer"] = config_.optimizer.name;
  train["optimizer_steps"] = optimizer_->steps();
  train["slots"] = optimizer_->slot_names();
  options.extra_metadata["rnnkit.train"] = train.dump();
  options.extra_metadata["rnnkit.run_config"] = run_config_to_toml(config_);
  // Slots as float64 tensors shaped like their variables (trainable ones: frozen ones have none).
  std::vector<Tensor<double>> slot_values;
  slot_values.reserve(optimizer_->slot_names().size() * store_.variables().size());
  auto& optimizer = *optimizer_;
  for (std::size_t s = 0; s < optimizer.slot_names().size(); ++s) {
    const std::vector<double>& slot = optimizer.slot(s);
    for (const Variable& v : store_.variables()) {
      if (!v.trainable) continue;
      Tensor<double> t(v.shape);
      if (!slot.empty()) std::copy(slot.begin() + v.offset, slot.begin() + v.offset + v.numel, t.view().data());
      slot_values.push_back(std::move(t));
      options.state_tensors.push_back(
          safetensors_tensor(slot_tensor_name(optimizer.slot_names()[s], v.name), slot_values.back().view()));
    }
  }
  if (carry_h_.numel() > 0) {
    options.state_tensors.push_back(safetensors_tensor("@carry/h", carry_h_.view()));
    if (carry_c_.numel() > 0) options.state_tensors.push_back(safetensors_tensor("@carry/c", carry_c_.view()));
  }
  save_checkpoint(store_, path, options);
}

void Trainer::resume(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const auto meta = file.metadata().find("rnnkit.train");
  if (meta == file.metadata().end()) {
    throw Error("resume from '" + path + "': not a training checkpoint (no rnnkit.train metadata); " +
                "to start from its weights, use init_from (--init-from)");
  }
  nlohmann::json train;
  try {
    train = nlohmann::json::parse(meta->second);
    train.at("step").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("resume from '" + path + "': rnnkit.train metadata is malformed: " + e.what());
  }
  if (train.value("optimizer", "") != config_.optimizer.name) {
    throw Error("resume from '" + path + "': the checkpoint's optimizer is '" + train.value("optimizer", "") +
                "', the configuration's '" + config_.optimizer.name + "'");
  }
  restore_checkpoint(store_, file, {});  // strict: every variable, every shape
  // The variables' trainable flags (frozen ones have no slots in the file) and sources as
  // the run had them.
  for (const auto& [name, info] : stored_variable_info(file)) {
    if (store_.find(name) == nullptr) continue;
    store_.set_trainable(name, info.trainable);
    store_.set_source(name, info.source);
  }
  optimizer_->restore_state(train.value("optimizer_steps", int64_t{0}), store_.parameters<float>().size());
  for (std::size_t s = 0; s < optimizer_->slot_names().size(); ++s) {
    std::vector<double>& slot = optimizer_->slot(s);
    for (const Variable& v : store_.variables()) {
      if (!v.trainable) continue;
      const SafetensorsEntry& entry = file.at(slot_tensor_name(optimizer_->slot_names()[s], v.name));
      if (entry.shape != v.shape || entry.dtype != "F64") {
        throw Error("resume from '" + path + "': '" + entry.name + "' is " + shape_to_string(entry.shape) + " " +
                    entry.dtype + ", expected " + shape_to_string(v.shape) + " F64");
      }
      const Tensor<double> values = file.to_double(entry);
      std::copy(values.view().data(), values.view().data() + v.numel, slot.begin() + v.offset);
    }
  }
  carry_h_ = {};
  carry_c_ = {};
  if (const SafetensorsEntry* h = file.find("@carry/h")) carry_h_ = file.to_float(*h);
  if (const SafetensorsEntry* c = file.find("@carry/c")) carry_c_ = file.to_float(*c);
  step_ = train.at("step").get<int64_t>();
}

}  // namespace rnnkit

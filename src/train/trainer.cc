// The training loop's step, evaluation, checkpoints and warm start; see train/trainer.h.
#include "rnnkit/train/trainer.h"

#include <algorithm>
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

// FNV-1a over bytes: the checksum data-parallel ranks compare.
uint64_t fnv1a(std::span<const std::byte> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::byte b : bytes) h = (h ^ static_cast<uint64_t>(b)) * 0x100000001b3ULL;
  return h;
}

std::string slot_tensor_name(const std::string& slot, const std::string& variable) {
  return "@optimizer/" + slot + "/" + variable;
}

// rnnkit.train: {"step": N, "optimizer": NAME, "optimizer_steps": N, "slots": [...]}, checked.
struct TrainState {
  int64_t step = 0;
  std::string optimizer;
  int64_t optimizer_steps = 0;
};

TrainState parse_train_state(const std::string& text, const std::string& where) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(where + " is not a JSON object");
  auto count = [&](const char* key, bool required) -> int64_t {
    if (!j.contains(key)) {
      if (required) throw Error(where + " has no '" + key + "'");
      return 0;
    }
    const nlohmann::json& v = j[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
        (v.is_number_unsigned() && v.get<uint64_t>() > (1ull << 62))) {
      throw Error(where + ": '" + key + "' must be a non-negative integer, found " + v.dump());
    }
    return v.get<int64_t>();
  };
  TrainState state;
  state.step = count("step", true);
  state.optimizer_steps = count("optimizer_steps", false);
  if (!j.contains("optimizer") || !j["optimizer"].is_string()) {
    throw Error(where + ": 'optimizer' must be a string, found " +
                (j.contains("optimizer") ? j["optimizer"].dump() : "none"));
  }
  state.optimizer = j["optimizer"].get<std::string>();
  return state;
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

namespace {

// The first variable (in creation order) holding a NaN or infinity in `values` (the store's
// parameter or gradient buffer), or null.
const Variable* first_nonfinite(const VariableStore& store, std::span<const float> values) {
  for (const Variable& v : store.variables()) {
    const auto begin = values.begin() + v.offset;
    if (std::any_of(begin, begin + v.numel, [](float x) { return !std::isfinite(x); })) return &v;
  }
  return nullptr;
}

}  // namespace

Trainer::Trainer(RunConfig config, const ParameterBudget& budget)
    : config_(std::move(config)), task_(TrainingTask::create(config_.task)), store_(config_.seed, DType::f32) {
  config_.schedule.validate();
  store_.set_element_budget(budget.elements, budget.reason);
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

void Trainer::set_communicator(Communicator* communicator) {
  if (communicator != nullptr && communicator->size() > config_.task.batch_size) {
    throw Error("data parallel: the batch has " + std::to_string(config_.task.batch_size) + " sequences and the job " +
                std::to_string(communicator->size()) +
                " ranks; every rank needs at least one (raise task.batch_size "
                "or start fewer ranks)");
  }
  communicator_ = communicator;
}

void Trainer::check_replicas() {
  if (communicator_ == nullptr) return;
  const std::string config_text = run_config_to_toml(config_);
  if (!communicator_->same_everywhere(fnv1a(std::as_bytes(std::span(config_text.data(), config_text.size()))))) {
    throw Error(
        "data parallel: the ranks run different configurations; start every rank with the same command, "
        "config file and checkpoint");
  }
  if (!communicator_->same_everywhere(static_cast<uint64_t>(step_))) {
    throw Error("data parallel: the ranks are at different steps (rank " + std::to_string(communicator_->rank()) +
                " is at step " + std::to_string(step_) + ")");
  }
  uint64_t state = fnv1a(std::as_bytes(store_.parameters<float>()));
  for (std::size_t s = 0; s < optimizer_->slot_names().size(); ++s) {
    state ^= mix(fnv1a(std::as_bytes(std::span(optimizer_->slot(s)))) + s);
  }
  if (!communicator_->same_everywhere(state)) {
    throw Error("data parallel: the ranks' parameters or optimizer state differ at step " + std::to_string(step_) +
                " (different rnnkit builds, or files that differ between the machines?)");
  }
}

namespace {

// Rows [begin, begin + count) of dimension 1 of a [A, B, C] tensor.
Tensor<float> slice_rows(const Tensor<float>& t, int64_t begin, int64_t count) {
  const int64_t A = t.shape()[0], B = t.shape()[1], C = t.shape()[2];
  Tensor<float> out({A, count, C});
  for (int64_t a = 0; a < A; ++a) std::copy_n(t.data() + (a * B + begin) * C, count * C, out.data() + a * count * C);
  return out;
}

// A shard's [A, count, C] rows placed in a zero [A, batch, C] tensor, summed over the ranks:
// the whole batch's tensor on every rank.
Tensor<float> gather_rows(TensorView<const float> shard, int64_t begin, int64_t batch, Communicator& communicator) {
  const int64_t A = shard.shape()[0], count = shard.shape()[1], C = shard.shape()[2];
  Tensor<float> full({A, batch, C});
  for (int64_t a = 0; a < A; ++a)
    std::copy_n(shard.data() + a * count * C, count * C, full.data() + (a * batch + begin) * C);
  communicator.sum(std::span<float>(full.storage()));
  return full;
}

}  // namespace

StepRecord Trainer::train_step() {
  const auto start = std::chrono::steady_clock::now();
  const int64_t k = step_ + 1;
  const TaskBatch global = task_->train_batch(config_.seed, k);
  const int rank = communicator_ ? communicator_->rank() : 0;
  const BatchShard shard =
      communicator_ ? batch_shard(global.batch, rank, communicator_->size()) : BatchShard{0, global.batch};
  TaskBatch sliced;
  if (communicator_) sliced = slice_batch(global, shard.begin, shard.count);
  const TaskBatch& batch = communicator_ ? sliced : global;
  tape_->clear();
  store_.zero_grad();
  RecurrentLayer<float>& layer = model_->recurrent();
  layer.set_training(true);
  layer.set_dropout_seed(config_.seed ^ mix(static_cast<uint64_t>(k)) ^ (rank ? mix(~static_cast<uint64_t>(rank)) : 0));
  Value<float> h0, c0;
  Tensor<float> shard_h, shard_c;
  if (batch.continues_state && carry_h_.numel() > 0) {
    // The state flows in as a constant: the gradient stops at the chunk boundary.
    if (communicator_) {
      shard_h = slice_rows(carry_h_, shard.begin, shard.count);
      if (carry_c_.numel() > 0) shard_c = slice_rows(carry_c_, shard.begin, shard.count);
    }
    h0 = tape_->input(communicator_ ? shard_h.view() : carry_h_.view());
    if (carry_c_.numel() > 0) c0 = tape_->input(communicator_ ? shard_c.view() : carry_c_.view());
  }
  const SequenceModel::Outputs out = model_->forward(*tape_, batch, h0, c0);
  tape_->backward(out.loss);

  StepRecord record;
  record.step = k;
  record.loss = out.loss.value()[0];
  const bool classifies = task_->output() != TaskOutput::value_per_sequence;
  double correct = classifies ? static_cast<double>(count_correct(out, batch)) : 0.0;
  double predictions = static_cast<double>(batch.classes.size());
  if (communicator_) {
    // The full batch's gradient: shard gradients weighted by their share of the batch, summed.
    const auto begin_sum = std::chrono::steady_clock::now();
    const float weight = static_cast<float>(shard.count) / static_cast<float>(global.batch);
    const std::span<float> gradients = store_.gradients<float>();
    for (float& g : gradients) g *= weight;
    communicator_->sum(gradients);
    record.communication_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_sum).count();
    double totals[3] = {record.loss * static_cast<double>(shard.count) / static_cast<double>(global.batch), correct,
                        predictions};
    communicator_->sum(std::span<double>(totals));
    record.loss = totals[0];
    correct = totals[1];
    predictions = totals[2];
  }
  record.metric = task_->metric(record.loss);
  if (classifies) record.accuracy = correct / predictions;
  if (config_.task.truncated_bptt) {
    if (communicator_) {
      carry_h_ = gather_rows(out.rnn.h_n.value(), shard.begin, global.batch, *communicator_);
      if (out.rnn.c_n.valid()) carry_c_ = gather_rows(out.rnn.c_n.value(), shard.begin, global.batch, *communicator_);
    } else {
      carry_h_ = copy_tensor(out.rnn.h_n.value());
      if (out.rnn.c_n.valid()) carry_c_ = copy_tensor(out.rnn.c_n.value());
    }
  }
  if (!std::isfinite(record.loss)) {
    throw Error("step " + std::to_string(k) + ": the loss is " + std::to_string(record.loss) +
                "; lower the learning rate or clip gradients ([clip] norm)");
  }
  if (const Variable* bad = first_nonfinite(store_, store_.gradients<float>())) {
    throw Error("step " + std::to_string(k) + ": the gradient of '" + bad->name + "' is not finite (the loss was " +
                std::to_string(record.loss) +
                "); the step was not taken. Lower the learning rate or clip gradients ([clip] norm)");
  }
  record.gradient_norm = config_.clip.norm > 0 ? clip_gradient_norm(store_, config_.clip.norm) : gradient_norm(store_);
  if (config_.clip.value > 0) clip_gradient_value(store_, config_.clip.value);
  record.learning_rate = config_.schedule.rate(config_.optimizer.learning_rate, k);
  optimizer_->set_learning_rate(record.learning_rate);
  optimizer_->step(store_);
  if (const Variable* bad = first_nonfinite(store_, store_.parameters<float>())) {
    throw Error("step " + std::to_string(k) + ": the " + config_.optimizer.name + " update made '" + bad->name +
                "' non-finite; the run is diverging: lower the learning rate");
  }
  if (first_loss_ == 0) first_loss_ = record.loss;
  record.diverging = first_loss_ > 0 && record.loss > kDivergingLossRatio * first_loss_;
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
    for (int64_t j = 1; j <= config_.train.eval_batches; ++j)
      eval_batches_.push_back(task_->eval_batch(config_.seed, j));
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
  const TrainState recorded = parse_train_state(meta->second, "resume from '" + path + "': rnnkit.train metadata");
  if (recorded.optimizer != config_.optimizer.name) {
    throw Error("resume from '" + path + "': the checkpoint's optimizer is '" + recorded.optimizer +
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
  optimizer_->restore_state(recorded.optimizer_steps, store_.parameters<float>().size());
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
  step_ = recorded.step;
}

}  // namespace rnnkit

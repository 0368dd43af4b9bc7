// The built-in tasks behind one interface; see train/task.h.
#include "rnnkit/train/task.h"

#include <algorithm>
#include <cmath>

#include "rnnkit/core/error.h"
#include "rnnkit/random/stream.h"
#include "rnnkit/tasks/adding.h"
#include "rnnkit/tasks/copy_memory.h"
#include "rnnkit/tasks/ends_parity.h"
#include "rnnkit/tasks/typo.h"
#include "rnnkit/train/task_text.h"

namespace rnnkit {
namespace {

RandomStream batch_stream(uint64_t seed, const char* purpose, int64_t index) {
  return RandomStream(seed, "task/" + std::string(purpose) + "/" + std::to_string(index));
}

// char_lm and typo: a text, split into a training part (the first 90%) and a held-out
// part (the rest) that evaluation reads.
class TextTask : public TrainingTask {
 public:
  explicit TextTask(const TaskConfig& config) : config_(config) {
    if (config.text.empty()) {
      whole_ = CharCorpus::builtin();
    } else {
      const std::vector<std::byte> bytes = read_task_text(config);  // checked against its pin
      whole_ = CharCorpus::from_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                                     config.text);
    }
    const int64_t cut = whole_.size() * 9 / 10;
    if (cut < config.steps + 1 || whole_.size() - cut < config.steps + 1) {
      throw Error("task " + config.name + ": the text has " + std::to_string(whole_.size()) +
                  " characters; with 10% held out for evaluation, windows of steps = " + std::to_string(config.steps) +
                  " need at least " + std::to_string(10 * (config.steps + 1)));
    }
    train_ = whole_.part(0, cut);
    eval_ = whole_.part(cut, whole_.size());
    if (config.truncated_bptt) train_.stream_chunks(config.steps, config.batch_size);  // checks the length
    input_ = TaskInput::tokens;
    input_size_ = whole_.vocabulary();
  }
  const CharCorpus* corpus() const override { return &whole_; }

 protected:
  TaskConfig config_;
  CharCorpus whole_, train_, eval_;
};

class CharLmTask : public TextTask {
 public:
  explicit CharLmTask(const TaskConfig& config) : TextTask(config) {
    name_ = "char_lm";
    output_ = TaskOutput::class_per_step;
    output_size_ = input_size_;
    metric_name_ = "bits/char";
    metric_scale_ = 1.0 / std::log(2.0);
    baseline_ = train_.unigram_bits_per_char();
  }
  TaskBatch train_batch(uint64_t seed, int64_t step) const override {
    if (config_.truncated_bptt) {
      const int64_t chunk = step - 1;
      TaskBatch out = convert(train_.stream_chunk(config_.steps, config_.batch_size, chunk));
      out.continues_state = chunk % train_.stream_chunks(config_.steps, config_.batch_size) != 0;
      return out;
    }
    RandomStream random = batch_stream(seed, "train", step);
    return convert(train_.batch(config_.steps, config_.batch_size, random));
  }
  TaskBatch eval_batch(uint64_t seed, int64_t index) const override {
    RandomStream random = batch_stream(seed, "eval", index);
    return convert(eval_.batch(config_.steps, config_.batch_size, random));
  }

 private:
  static TaskBatch convert(CharBatch b) {
    TaskBatch out;
    out.steps = b.steps;
    out.batch = b.batch;
    out.tokens = std::move(b.input);
    out.classes = std::move(b.target);
    return out;
  }
};

class TypoTask : public TextTask {
 public:
  explicit TypoTask(const TaskConfig& config) : TextTask(config) {
    name_ = "typo";
    output_ = TaskOutput::class_per_sequence;
    output_size_ = 2;
    metric_name_ = "nats";
    baseline_ = std::log(2.0);
  }
  TaskBatch train_batch(uint64_t seed, int64_t step) const override {
    RandomStream random = batch_stream(seed, "train", step);
    return convert(typo_batch(train_, config_.steps, config_.batch_size, random));
  }
  TaskBatch eval_batch(uint64_t seed, int64_t index) const override {
    RandomStream random = batch_stream(seed, "eval", index);
    return convert(typo_batch(eval_, config_.steps, config_.batch_size, random));
  }

 private:
  static TaskBatch convert(TypoBatch b) {
    TaskBatch out;
    out.steps = b.steps;
    out.batch = b.batch;
    out.tokens = std::move(b.input);
    out.classes = std::move(b.labels);
    return out;
  }
};

// Generated tasks: training and evaluation batches differ only by their streams.
class GeneratedTask : public TrainingTask {
 public:
  explicit GeneratedTask(const TaskConfig& config) : config_(config) {}
  TaskBatch train_batch(uint64_t seed, int64_t step) const override {
    RandomStream random = batch_stream(seed, "train", step);
    return make(random);
  }
  TaskBatch eval_batch(uint64_t seed, int64_t index) const override {
    RandomStream random = batch_stream(seed, "eval", index);
    return make(random);
  }

 protected:
  virtual TaskBatch make(RandomStream& random) const = 0;
  TaskConfig config_;
};

class CopyMemoryTask : public GeneratedTask {
 public:
  explicit CopyMemoryTask(const TaskConfig& config) : GeneratedTask(config) {
    name_ = "copy_memory";
    input_ = TaskInput::tokens;
    input_size_ = output_size_ = kCopyMemoryVocabulary;
    output_ = TaskOutput::class_per_step;
    metric_name_ = "nats/step";
    baseline_ = copy_memory_baseline(config.delay);
  }

 protected:
  TaskBatch make(RandomStream& random) const override {
    CopyMemoryBatch b = copy_memory_batch(config_.delay, config_.batch_size, random);
    TaskBatch out;
    out.steps = b.steps;
    out.batch = b.batch;
    out.tokens = std::move(b.input);
    out.classes = std::move(b.target);
    return out;
  }
};

class AddingTask : public GeneratedTask {
 public:
  explicit AddingTask(const TaskConfig& config) : GeneratedTask(config) {
    name_ = "adding";
    input_ = TaskInput::values;
    input_size_ = 2;
    output_ = TaskOutput::value_per_sequence;
    output_size_ = 1;
    metric_name_ = "MSE";
    baseline_ = kAddingBaselineMse;
  }

 protected:
  TaskBatch make(RandomStream& random) const override {
    AddingBatch b = adding_batch(config_.steps, config_.batch_size, random);
    TaskBatch out;
    out.steps = config_.steps;
    out.batch = config_.batch_size;
    out.values = std::move(b.input);
    out.targets = std::move(b.target);
    return out;
  }
};

class EndsParityTask : public GeneratedTask {
 public:
  explicit EndsParityTask(const TaskConfig& config) : GeneratedTask(config) {
    name_ = "ends_parity";
    input_ = TaskInput::values;
    input_size_ = 1;
    output_ = TaskOutput::class_per_sequence;
    output_size_ = 2;
    metric_name_ = "nats";
    baseline_ = std::log(2.0);
  }

 protected:
  TaskBatch make(RandomStream& random) const override {
    EndsParityBatch b = ends_parity_batch(config_.steps, config_.batch_size, random);
    TaskBatch out;
    out.steps = config_.steps;
    out.batch = config_.batch_size;
    out.values = std::move(b.input);
    out.classes = std::move(b.labels);
    return out;
  }
};

}  // namespace

TaskBatch slice_batch(const TaskBatch& batch, int64_t begin, int64_t count) {
  const int64_t T = batch.steps, B = batch.batch;
  if (begin < 0 || count < 1 || begin + count > B) {
    throw Error("batch slice [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                ") is outside a batch of " + std::to_string(B) + " sequences");
  }
  TaskBatch out;
  out.steps = T;
  out.batch = count;
  out.continues_state = batch.continues_state;
  // Time-major [T * B] -> [T * count].
  auto per_step = [&](const std::vector<int64_t>& v) {
    std::vector<int64_t> r;
    r.reserve(static_cast<std::size_t>(T * count));
    for (int64_t t = 0; t < T; ++t) r.insert(r.end(), v.begin() + t * B + begin, v.begin() + t * B + begin + count);
    return r;
  };
  if (!batch.tokens.empty()) out.tokens = per_step(batch.tokens);
  if (batch.values.numel() > 0) {
    const int64_t F = batch.values.shape()[2];
    out.values = Tensor<float>({T, count, F});
    for (int64_t t = 0; t < T; ++t) {
      std::copy_n(batch.values.data() + (t * B + begin) * F, count * F, out.values.data() + t * count * F);
    }
  }
  if (static_cast<int64_t>(batch.classes.size()) == T * B) {
    out.classes = per_step(batch.classes);
  } else if (static_cast<int64_t>(batch.classes.size()) == B) {
    out.classes.assign(batch.classes.begin() + begin, batch.classes.begin() + begin + count);
  }
  if (batch.targets.numel() > 0) {
    const int64_t width = batch.targets.numel() / B;
    out.targets = Tensor<float>({count, width});
    std::copy_n(batch.targets.data() + begin * width, count * width, out.targets.data());
  }
  return out;
}

std::unique_ptr<TrainingTask> TrainingTask::create(const TaskConfig& config) {
  if (config.name == "char_lm") return std::make_unique<CharLmTask>(config);
  if (config.name == "typo") return std::make_unique<TypoTask>(config);
  if (config.name == "copy_memory") return std::make_unique<CopyMemoryTask>(config);
  if (config.name == "adding") return std::make_unique<AddingTask>(config);
  if (config.name == "ends_parity") return std::make_unique<EndsParityTask>(config);
  throw Error("task '" + config.name + "': unknown (expected char_lm, typo, copy_memory, adding or ends_parity)");
}

}  // namespace rnnkit

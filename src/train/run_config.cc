// Reading and writing run configurations (TOML, through toml++).
#include "rnnkit/train/run_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "rnnkit/init/initializer.h"
#include "rnnkit/init/presets.h"

namespace rnnkit {
namespace {

constexpr int64_t kIntMax = std::numeric_limits<int64_t>::max();

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// One TOML table being read: every key read is remembered, finish() rejects the rest.
class Section {
 public:
  Section(const toml::table* table, std::string prefix, const std::string& origin)
      : table_(table), prefix_(std::move(prefix)), origin_(origin) {}

  const toml::node* node(const std::string& key) {
    remember(key);
    return table_ == nullptr ? nullptr : table_->get(key);
  }

  [[noreturn]] void fail(const toml::node* at, const std::string& key, const std::string& message) const {
    std::string where = origin_;
    if (at != nullptr && at->source().begin.line > 0) where += ":" + std::to_string(at->source().begin.line);
    throw Error(where + ": " + dotted(key) + ": " + message);
  }

  int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max = kIntMax) {
    const toml::node* n = node(key);
    if (n == nullptr) return fallback;
    if (!n->is_integer()) fail(n, key, "expected an integer, found " + type_of(*n));
    const int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      fail(n, key,
           "expected an integer" + range_text(std::to_string(min), max == kIntMax ? "" : std::to_string(max)) +
               ", found " + std::to_string(v));
    }
    return v;
  }

  // Integers are accepted where a real number is expected. `open_min`: the minimum itself is excluded.
  double real(const std::string& key, double fallback, double min, double max, bool open_min = false,
              bool open_max = false) {
    const toml::node* n = node(key);
    if (n == nullptr) return fallback;
    double v = 0;
    if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else {
      fail(n, key, "expected a number, found " + type_of(*n));
    }
    if (!(open_min ? v > min : v >= min) || !(open_max ? v < max : v <= max)) {
      std::ostringstream range;
      range << (open_min ? "(" : "[") << min << ", " << max << (open_max ? ")" : "]");
      std::ostringstream found;
      found << v;
      fail(n, key, "expected a number in " + range.str() + ", found " + found.str());
    }
    return v;
  }

  std::optional<double> optional_real(const std::string& key, double min, double max) {
    const toml::node* n = table_ == nullptr ? nullptr : table_->get(key);
    if (n == nullptr) {
      remember(key);
      return std::nullopt;
    }
    return real(key, 0.0, min, max);
  }

  bool boolean(const std::string& key, bool fallback) {
    const toml::node* n = node(key);
    if (n == nullptr) return fallback;
    if (!n->is_boolean()) fail(n, key, "expected true or false, found " + type_of(*n));
    return n->as_boolean()->get();
  }

  std::string string(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed = {}) {
    const toml::node* n = node(key);
    if (n == nullptr) return fallback;
    if (!n->is_string()) fail(n, key, "expected a string, found " + type_of(*n));
    std::string v = n->as_string()->get();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      fail(n, key, "expected one of " + join(allowed) + ", found '" + v + "'");
    }
    return v;
  }

  std::vector<std::string> strings(const std::string& key) {
    const toml::node* n = node(key);
    if (n == nullptr) return {};
    if (!n->is_array()) fail(n, key, "expected an array of strings, found " + type_of(*n));
    std::vector<std::string> out;
    for (const toml::node& item : *n->as_array()) {
      if (!item.is_string())
        fail(&item, key, "expected an array of strings, found an element that is " + type_of(item));
      out.push_back(item.as_string()->get());
    }
    return out;
  }

  // A sub-table's (key, string value) pairs in file order.
  std::vector<std::pair<std::string, std::string>> string_table(const std::string& key) {
    const toml::node* n = node(key);
    if (n == nullptr) return {};
    if (!n->is_table()) fail(n, key, "expected a table of strings, found " + type_of(*n));
    std::vector<std::tuple<uint32_t, uint32_t, std::string, std::string>> items;
    for (const auto& [k, v] : *n->as_table()) {
      const std::string name(k.str());
      if (!v.is_string()) fail(&v, key + "." + name, "expected a string, found " + type_of(v));
      items.emplace_back(v.source().begin.line, v.source().begin.column, name, v.as_string()->get());
    }
    std::sort(items.begin(), items.end());
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(items.size());
    for (auto& [line, column, k, v] : items) out.emplace_back(k, v);
    return out;
  }

  const toml::table* table(const std::string& key) {
    const toml::node* n = node(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) fail(n, key, "expected a table ([" + dotted(key) + "]), found " + type_of(*n));
    return n->as_table();
  }

  // Runs `parse` on a string value, turning its Error into one that names the key and line.
  template <class Parse>
  auto parsed(const std::string& key, const std::string& fallback, Parse parse) -> decltype(parse(fallback)) {
    const std::string text = string(key, fallback);
    try {
      return parse(text);
    } catch (const Error& e) {
      fail(table_ == nullptr ? nullptr : table_->get(key), key, e.what());
    }
  }

  void finish() const {
    if (table_ == nullptr) return;
    for (const auto& [k, v] : *table_) {
      const std::string name(k.str());
      if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
        fail(&v, name, "unknown key (expected one of: " + join(known_) + ")");
      }
    }
  }

  std::string dotted(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

 private:
  void remember(const std::string& key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  }
  static std::string type_of(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a number";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::array: return "an array";
      case toml::node_type::table: return "a table";
      default: return "a date or time";
    }
  }
  static std::string range_text(const std::string& min, const std::string& max) {
    return max.empty() ? " >= " + min : " in [" + min + ", " + max + "]";
  }

  const toml::table* table_;
  std::string prefix_;
  const std::string& origin_;
  std::vector<std::string> known_;
};

void check_model_fits(Section& s, const ModelConfig& m);

void read_model(Section s, ModelConfig& m) {
  m.scope = s.string("scope", m.scope);
  try {
    check_variable_name(m.scope, "model scope");
  } catch (const Error& e) {
    s.fail(s.node("scope"), "scope", e.what());
  }
  m.cell = s.parsed("cell", cell_name(m.cell), [](const std::string& t) { return parse_cell_kind(t); });
  m.hidden_size = s.integer("hidden_size", m.hidden_size, 1, 1 << 20);
  m.layers = s.integer("layers", m.layers, 1, 1000);
  m.bidirectional = s.boolean("bidirectional", m.bidirectional);
  m.proj_size = s.integer("proj_size", m.proj_size, 0, 1 << 20);
  m.bias = s.boolean("bias", m.bias);
  m.peepholes = s.boolean("peepholes", m.peepholes);
  m.stacking = s.parsed("stacking", stacking_name(m.stacking), [](const std::string& t) { return parse_stacking(t); });
  m.merge = s.parsed("merge", merge_name(m.merge), [](const std::string& t) { return parse_merge(t); });
  m.gru_reset = s.string("gru_reset", "after", {"after", "before"}) == "after" ? GruReset::after : GruReset::before;
  m.recurrent_activation = s.parsed("recurrent_activation", m.recurrent_activation.spec(),
                                    [](const std::string& t) { return parse_gate_activation(t); });
  m.activation = s.parsed("activation", cell_activation_name(m.activation),
                          [](const std::string& t) { return parse_cell_activation(t); });
  m.gate_clip = s.real("gate_clip", m.gate_clip, 0.0, 1e12);
  m.cell_clip = s.real("cell_clip", m.cell_clip, 0.0, 1e12);
  m.proj_clip = s.real("proj_clip", m.proj_clip, 0.0, 1e12);
  m.dropout = s.real("dropout", m.dropout, 0.0, 1.0, false, true);
  m.embedding_size = s.integer("embedding_size", m.embedding_size, 1, 1 << 20);
  m.preset =
      s.parsed("preset", m.preset, [](const std::string& t) { return std::string(preset_name(parse_preset(t))); });
  auto spec = [](const std::string& t) {
    if (!t.empty()) parse_initializer(t);
    return t;
  };
  m.kernel_init = s.parsed("kernel_init", m.kernel_init, spec);
  m.recurrent_init = s.parsed("recurrent_init", m.recurrent_init, spec);
  m.bias_init = s.parsed("bias_init", m.bias_init, spec);
  m.forget_bias = s.optional_real("forget_bias", -1e6, 1e6);
  m.init = s.string_table("init");
  for (const auto& [pattern, text] : m.init) {
    try {
      parse_initializer(text);
    } catch (const Error& e) {
      s.fail(s.table("init")->get(pattern), "init." + pattern, e.what());
    }
  }
  s.finish();
  check_model_fits(s, m);
}

// A combination of keys that does not make a layer (peepholes on a GRU, per-direction
// stacking on one direction, ...) is an error at the key that asks for what the others
// rule out: each option is tried on its own over the cell and sizes.
void check_model_fits(Section& s, const ModelConfig& m) {
  ModelConfig base;
  base.cell = m.cell;
  base.hidden_size = m.hidden_size;
  base.layers = m.layers;
  base.bidirectional = m.bidirectional;
  auto fails = [](const ModelConfig& c) {
    try {
      const RecurrentSpec spec = recurrent_spec(c, 1);
      check_recurrent_options(spec, recurrent_options(c));
      return std::string();
    } catch (const Error& e) {
      return std::string(e.what());
    }
  };
  const std::vector<std::pair<const char*, std::function<void(ModelConfig&)>>> options = {
      {"proj_size", [&](ModelConfig& c) { c.proj_size = m.proj_size; }},
      {"peepholes", [&](ModelConfig& c) { c.peepholes = m.peepholes; }},
      {"stacking", [&](ModelConfig& c) { c.stacking = m.stacking; }},
      {"merge", [&](ModelConfig& c) { c.merge = m.merge; }},
      {"gru_reset", [&](ModelConfig& c) { c.gru_reset = m.gru_reset; }},
      {"recurrent_activation", [&](ModelConfig& c) { c.recurrent_activation = m.recurrent_activation; }},
      {"activation", [&](ModelConfig& c) { c.activation = m.activation; }},
      {"gate_clip", [&](ModelConfig& c) { c.gate_clip = m.gate_clip; }},
      {"cell_clip", [&](ModelConfig& c) { c.cell_clip = m.cell_clip; }},
      {"proj_clip",
       [&](ModelConfig& c) {
         c.proj_clip = m.proj_clip;
         c.proj_size = m.proj_size;
       }},
  };
  for (const auto& [key, set] : options) {
    ModelConfig one = base;
    set(one);
    if (const std::string error = fails(one); !error.empty()) s.fail(s.node(key), key, error);
  }
  if (const std::string error = fails(m); !error.empty()) s.fail(nullptr, "cell", error);
}

void read_task(Section s, TaskConfig& t) {
  t.name = s.string("name", t.name, {"char_lm", "copy_memory", "adding", "ends_parity", "typo"});
  t.text = s.string("text", t.text);
  if (s.node("text_size") != nullptr) {
    t.text_size = static_cast<uint64_t>(s.integer("text_size", 0, 0, std::numeric_limits<int64_t>::max()));
  }
  t.text_sha256 = s.string("text_sha256", t.text_sha256);
  const bool hex =
      t.text_sha256.size() == 64 && t.text_sha256.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!t.text_sha256.empty() && !hex) {
    s.fail(s.node("text_sha256"), "text_sha256", "expected 64 lowercase hexadecimal digits (a SHA-256)");
  }
  if (t.text_size.has_value() != !t.text_sha256.empty()) {
    s.fail(s.node(t.text_size ? "text_size" : "text_sha256"), t.text_size ? "text_size" : "text_sha256",
           "text_size and text_sha256 pin the text together: give both or neither");
  }
  if (t.text_size && t.text.empty()) s.fail(s.node("text_size"), "text_size", "pins a text, but text is empty");
  t.steps = s.integer("steps", t.steps, 2, 1 << 20);
  t.batch_size = s.integer("batch_size", t.batch_size, 1, 1 << 20);
  t.delay = s.integer("delay", t.delay, 1, 1 << 20);
  t.truncated_bptt = s.boolean("truncated_bptt", t.truncated_bptt);
  if (t.truncated_bptt && t.name != "char_lm") {
    s.fail(s.node("truncated_bptt"), "truncated_bptt", "truncated BPTT reads a text as streams: task char_lm only");
  }
  s.finish();
}

void read_optimizer(Section s, OptimizerConfig& o) {
  o.name = s.string("name", o.name, {"sgd", "adam", "adamw", "rmsprop", "adagrad"});
  o.learning_rate = s.real("learning_rate", o.learning_rate, 0.0, 1e6, true);
  o.momentum = s.real("momentum", o.momentum, 0.0, 1.0, false, true);
  o.nesterov = s.boolean("nesterov", o.nesterov);
  if (o.nesterov && o.momentum <= 0) s.fail(s.node("nesterov"), "nesterov", "Nesterov momentum needs momentum > 0");
  o.beta1 = s.real("beta1", o.beta1, 0.0, 1.0, false, true);
  o.beta2 = s.real("beta2", o.beta2, 0.0, 1.0, false, true);
  o.eps = s.real("eps", o.name == "adagrad" ? 1e-10 : o.eps, 0.0, 1.0, true);
  o.alpha = s.real("alpha", o.alpha, 0.0, 1.0, false, true);
  o.weight_decay = s.optional_real("weight_decay", 0.0, 1e6);
  s.finish();
}

void read_schedule(Section s, LearningRateSchedule& r, int64_t train_steps) {
  const std::string kind = s.string("kind", "constant", {"constant", "step", "cosine"});
  r.kind = kind == "constant" ? LearningRateSchedule::Kind::constant
           : kind == "step"   ? LearningRateSchedule::Kind::step
                              : LearningRateSchedule::Kind::cosine;
  r.warmup_steps = s.integer("warmup_steps", r.warmup_steps, 0);
  r.step_size = s.integer("step_size", r.step_size, 1);
  r.gamma = s.real("gamma", r.gamma, 0.0, 1e6, true);
  r.total_steps = s.integer("total_steps", train_steps, 1);
  r.min_rate = s.real("min_rate", r.min_rate, 0.0, 1e6);
  s.finish();
}

void read_train(Section s, TrainConfig& t) {
  t.steps = s.integer("steps", t.steps, 1);
  t.log_every = s.integer("log_every", t.log_every, 1);
  t.eval_every = s.integer("eval_every", t.eval_every, 0);
  t.eval_batches = s.integer("eval_batches", t.eval_batches, 1, 1 << 20);
  t.checkpoint_every = s.integer("checkpoint_every", t.checkpoint_every, 0);
  s.finish();
}

void read_transfer(Section s, TransferConfig& t) {
  t.init_from = s.string("init_from", t.init_from);
  for (const auto& [from, to] : s.string_table("map")) t.map.emplace_back(from, to);
  t.include = s.strings("include");
  t.exclude = s.strings("exclude");
  t.freeze = s.strings("freeze");
  s.finish();
}

// TOML text of a string (basic string, escaped).
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The shortest text that reads back as exactly `v`, always with a '.' or an exponent.
std::string number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string string_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quote(items[i]);
  return out + "]";
}

}  // namespace

RecurrentSpec recurrent_spec(const ModelConfig& m, int64_t input_size) {
  RecurrentSpec spec{m.cell, input_size, m.hidden_size, m.layers, m.bidirectional, m.proj_size};
  spec.bias = m.bias;
  spec.peepholes = m.peepholes;
  spec.stacking = m.stacking;
  spec.validate();
  return spec;
}

RecurrentLayerOptions recurrent_options(const ModelConfig& m) {
  RecurrentLayerOptions o;
  o.cell = {m.gru_reset, m.recurrent_activation, m.activation, m.gate_clip, m.cell_clip, m.proj_clip};
  o.merge = m.merge;
  o.dropout = m.dropout;
  return o;
}

RunConfig parse_run_config(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    throw Error(origin + ":" + std::to_string(e.source().begin.line) +
                ": not valid TOML: " + std::string(e.description()));
  }
  RunConfig c;
  Section top(&root, "", origin);
  c.seed = static_cast<uint64_t>(top.integer("seed", static_cast<int64_t>(c.seed), 0));
  read_model(Section(top.table("model"), "model", origin), c.model);
  read_task(Section(top.table("task"), "task", origin), c.task);
  read_optimizer(Section(top.table("optimizer"), "optimizer", origin), c.optimizer);
  read_train(Section(top.table("train"), "train", origin), c.train);
  read_schedule(Section(top.table("schedule"), "schedule", origin), c.schedule, c.train.steps);
  {
    Section clip(top.table("clip"), "clip", origin);
    c.clip.norm = clip.real("norm", c.clip.norm, 0.0, 1e12);
    c.clip.value = clip.real("value", c.clip.value, 0.0, 1e12);
    clip.finish();
  }
  read_transfer(Section(top.table("transfer"), "transfer", origin), c.transfer);
  top.finish();
  return c;
}

RunConfig read_run_config(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  return parse_run_config(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

std::string run_config_to_toml(const RunConfig& c) {
  std::ostringstream o;
  const ModelConfig& m = c.model;
  o << "seed = " << c.seed << "\n\n[model]\n"
    << "scope = " << quote(m.scope) << "\ncell = " << quote(cell_name(m.cell)) << "\nhidden_size = " << m.hidden_size
    << "\nlayers = " << m.layers << "\nbidirectional = " << (m.bidirectional ? "true" : "false")
    << "\nproj_size = " << m.proj_size << "\nbias = " << (m.bias ? "true" : "false")
    << "\npeepholes = " << (m.peepholes ? "true" : "false") << "\nstacking = " << quote(stacking_name(m.stacking))
    << "\nmerge = " << quote(merge_name(m.merge)) << "\ngru_reset = " << quote(gru_reset_name(m.gru_reset))
    << "\nrecurrent_activation = " << quote(m.recurrent_activation.spec())
    << "\nactivation = " << quote(cell_activation_name(m.activation)) << "\ngate_clip = " << number(m.gate_clip)
    << "\ncell_clip = " << number(m.cell_clip) << "\nproj_clip = " << number(m.proj_clip)
    << "\ndropout = " << number(m.dropout) << "\nembedding_size = " << m.embedding_size
    << "\npreset = " << quote(m.preset) << "\nkernel_init = " << quote(m.kernel_init)
    << "\nrecurrent_init = " << quote(m.recurrent_init) << "\nbias_init = " << quote(m.bias_init) << "\n";
  if (m.forget_bias) o << "forget_bias = " << number(*m.forget_bias) << "\n";
  if (!m.init.empty()) {
    o << "\n[model.init]\n";
    for (const auto& [glob, spec] : m.init) o << quote(glob) << " = " << quote(spec) << "\n";
  }
  const TaskConfig& t = c.task;
  o << "\n[task]\nname = " << quote(t.name) << "\ntext = " << quote(t.text);
  if (t.text_size) o << "\ntext_size = " << *t.text_size << "\ntext_sha256 = " << quote(t.text_sha256);
  o << "\nsteps = " << t.steps << "\nbatch_size = " << t.batch_size << "\ndelay = " << t.delay
    << "\ntruncated_bptt = " << (t.truncated_bptt ? "true" : "false") << "\n";
  const OptimizerConfig& p = c.optimizer;
  o << "\n[optimizer]\nname = " << quote(p.name) << "\nlearning_rate = " << number(p.learning_rate)
    << "\nmomentum = " << number(p.momentum) << "\nnesterov = " << (p.nesterov ? "true" : "false")
    << "\nbeta1 = " << number(p.beta1) << "\nbeta2 = " << number(p.beta2) << "\neps = " << number(p.eps)
    << "\nalpha = " << number(p.alpha) << "\n";
  if (p.weight_decay) o << "weight_decay = " << number(*p.weight_decay) << "\n";
  const LearningRateSchedule& r = c.schedule;
  const char* kind = r.kind == LearningRateSchedule::Kind::constant ? "constant"
                     : r.kind == LearningRateSchedule::Kind::step   ? "step"
                                                                    : "cosine";
  o << "\n[schedule]\nkind = " << quote(kind) << "\nwarmup_steps = " << r.warmup_steps
    << "\nstep_size = " << r.step_size << "\ngamma = " << number(r.gamma) << "\ntotal_steps = " << r.total_steps
    << "\nmin_rate = " << number(r.min_rate) << "\n";
  o << "\n[clip]\nnorm = " << number(c.clip.norm) << "\nvalue = " << number(c.clip.value) << "\n";
  const TrainConfig& n = c.train;
  o << "\n[train]\nsteps = " << n.steps << "\nlog_every = " << n.log_every << "\neval_every = " << n.eval_every
    << "\neval_batches = " << n.eval_batches << "\ncheckpoint_every = " << n.checkpoint_every << "\n";
  const TransferConfig& x = c.transfer;
  o << "\n[transfer]\ninit_from = " << quote(x.init_from) << "\ninclude = " << string_list(x.include)
    << "\nexclude = " << string_list(x.exclude) << "\nfreeze = " << string_list(x.freeze) << "\n";
  if (!x.map.empty()) {
    o << "\n[transfer.map]\n";
    for (const auto& [from, to] : x.map) o << quote(from) << " = " << quote(to) << "\n";
  }
  return o.str();
}

}  // namespace rnnkit

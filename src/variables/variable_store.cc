// The variable store: scopes, get-or-create with reuse checks, and the flat buffers.
#include "rnnkit/variables/variable_store.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <new>

#include "rnnkit/core/error.h"
#include "rnnkit/variables/glob.h"

namespace rnnkit {
namespace {

constexpr int64_t kAlignBytes = static_cast<int64_t>(AlignedBuffer::kAlignment);

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
}

std::string gibibytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

// The machine's physical memory in bytes (0 if the system does not say).
uint64_t physical_memory_bytes() {
  static const uint64_t kBytes = [] {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : uint64_t{0};
  }();
  return kBytes;
}

std::string join_name(const std::string& scope, std::string_view name) {
  return scope.empty() ? std::string(name) : scope + "/" + std::string(name);
}

}  // namespace

const char* reuse_name(Reuse reuse) {
  switch (reuse) {
    case Reuse::no: return "no";
    case Reuse::yes: return "yes";
    case Reuse::automatic: return "auto";
  }
  return "?";
}

void check_variable_name(std::string_view name, const char* what) {
  if (name.empty()) throw Error(std::string(what) + ": the name is empty");
  std::size_t segment_start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      if (i == segment_start) {
        throw Error(std::string(what) + " '" + std::string(name) +
                    "': empty segment (leading, trailing or double '/')");
      }
      segment_start = i + 1;
    } else if (!is_name_char(name[i])) {
      throw Error(std::string(what) + " '" + std::string(name) + "': character '" + std::string(1, name[i]) +
                  "' is not allowed (names use letters, digits, '_', '.', ':', '-' and '/' between segments)");
    }
  }
}

VariableStore::VariableStore(uint64_t seed, DType dtype) : seed_(seed), dtype_(dtype) {}

VariableStore::ScopeGuard::~ScopeGuard() {
  if (store_ != nullptr) store_->pop_scope();
}

VariableStore::ScopeGuard VariableStore::scope(std::string_view name, ScopeOptions options) {
  check_variable_name(name, "scope");
  ScopeFrame frame;
  frame.name = join_name(current_scope(), name);
  frame.reuse = options.reuse.value_or(current_reuse());
  frame.initializer =
      options.initializer ? options.initializer : (scopes_.empty() ? nullptr : scopes_.back().initializer);
  scopes_.push_back(std::move(frame));
  return ScopeGuard(this);
}

void VariableStore::pop_scope() { scopes_.pop_back(); }

std::string VariableStore::current_scope() const { return scopes_.empty() ? "" : scopes_.back().name; }

Reuse VariableStore::current_reuse() const { return scopes_.empty() ? Reuse::no : scopes_.back().reuse; }

void VariableStore::override_initializer(std::string pattern, InitializerPtr initializer) {
  if (!initializer) throw Error("initializer override for '" + pattern + "': no initializer given");
  overrides_.emplace_back(std::move(pattern), std::move(initializer));
}

const Variable& VariableStore::get_variable(std::string_view name, const Shape& shape, const VariableOptions& options) {
  check_variable_name(name, "variable");
  const int64_t numel = shape_numel(shape, "get_variable");
  const std::string full = join_name(current_scope(), name);
  const Reuse reuse = current_reuse();
  const std::string scope_text = scopes_.empty() ? "the top level" : "scope '" + current_scope() + "'";

  if (const Variable* existing = find(full)) {
    if (reuse == Reuse::no) {
      throw Error("variable '" + full + "' already exists (shape " + shape_to_string(existing->shape) +
                  "); to share it, open " + scope_text + " with reuse=yes or reuse=auto");
    }
    if (existing->shape != shape) {
      throw Error("cannot share variable '" + full + "': requested shape " + shape_to_string(shape) +
                  " differs from its shape " + shape_to_string(existing->shape));
    }
    return *existing;
  }
  if (reuse == Reuse::yes) {
    throw Error("variable '" + full + "' does not exist, and " + scope_text +
                " has reuse=yes, which only shares existing variables; use reuse=auto to create it");
  }

  check_room_for(numel, "variable '" + full + "' " + shape_to_string(shape));
  InitializerPtr init;
  for (const auto& [pattern, override_init] : overrides_) {
    if (glob_match(pattern, full)) {
      init = override_init;
      break;
    }
  }
  if (!init) init = options.initializer;
  if (!init && !scopes_.empty()) init = scopes_.back().initializer;
  if (!init) init = parse_initializer("glorot_uniform");

  InitContext ctx;
  ctx.seed = seed_;
  ctx.name = full;
  ctx.shape = shape;
  ctx.gate_letters = options.gate_letters;
  ctx.hidden_size = options.hidden_size;
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype_));
  const int64_t align = kAlignBytes / elem;
  const int64_t offset = (size_ + align - 1) / align * align;
  const int64_t end = (offset + numel + align - 1) / align * align;
  // Before any state changes: a throw leaves none (grown buffers only hold more capacity).
  Tensor<double> initial;
  try {
    initial = initial_value(*init, ctx);
    params_.grow(static_cast<std::size_t>(end * elem));
    grads_.grow(static_cast<std::size_t>(end * elem));
  } catch (const std::bad_alloc&) {
    throw Error("variable '" + full + "' " + shape_to_string(shape) + ": out of memory: " + std::to_string(numel) +
                " elements (initialized in float64), in a store of " + std::to_string(end) + " " + dtype_name(dtype_) +
                " parameters and as many gradients (" + gibibytes(2.0 * static_cast<double>(end * elem)) +
                "), more than this process could allocate");
  }
  size_ = end;

  Variable v;
  v.name = full;
  v.shape = shape;
  v.offset = offset;
  v.numel = numel;
  v.init_spec = init->spec();
  v.gate_letters = options.gate_letters;
  v.hidden_size = options.hidden_size;
  v.trainable = options.trainable.value_or(true);
  v.source = "init";
  if (dtype_ == DType::f32) {
    float* dst = params_.as<float>(dtype_) + offset;
    for (int64_t i = 0; i < numel; ++i) dst[i] = static_cast<float>(initial[i]);
  } else {
    double* dst = params_.as<double>(dtype_) + offset;
    std::copy(initial.data(), initial.data() + numel, dst);
  }
  variables_.push_back(std::move(v));
  index_.emplace(full, variables_.size() - 1);
  elements_ += numel;
  return variables_.back();
}

const Variable* VariableStore::find(std::string_view full_name) const {
  const auto it = index_.find(full_name);
  return it == index_.end() ? nullptr : &variables_[it->second];
}

const Variable& VariableStore::at(std::string_view full_name) const {
  if (const Variable* v = find(full_name)) return *v;
  throw Error("no variable named '" + std::string(full_name) + "' in the store (it holds " +
              std::to_string(variables_.size()) + " variables)");
}

std::vector<const Variable*> VariableStore::glob(std::string_view pattern) const {
  std::vector<const Variable*> out;
  for (const Variable& v : variables_) {
    if (glob_match(pattern, v.name)) out.push_back(&v);
  }
  return out;
}

int64_t VariableStore::set_trainable(std::string_view pattern, bool trainable) {
  int64_t count = 0;
  for (Variable& v : variables_) {
    if (glob_match(pattern, v.name)) {
      v.trainable = trainable;
      ++count;
    }
  }
  return count;
}

void VariableStore::set_source(std::string_view full_name, std::string source) {
  const auto it = index_.find(full_name);
  if (it == index_.end()) at(full_name);  // throws with the message
  variables_[it->second].source = std::move(source);
}

void VariableStore::zero_grad() {
  if (size_ == 0) return;
  if (dtype_ == DType::f32) {
    std::fill_n(grads_.as<float>(dtype_), size_, 0.0f);
  } else {
    std::fill_n(grads_.as<double>(dtype_), size_, 0.0);
  }
}

void VariableStore::check_room_for(int64_t elements, const std::string& what) const {
  if (element_budget_ > 0 && elements > element_budget_ - elements_) {
    throw Error(what + ": " + std::to_string(elements) + " more elements would bring the model past " +
                std::to_string(element_budget_) + " elements, " + budget_reason_);
  }
  // Parameters and gradients past the machine's memory would not fail an allocation (Linux
  // grants it) but get the process killed when touched: refused while it is still a number.
  const double bytes = static_cast<double>(elements_ + elements) * 2.0 * static_cast<double>(dtype_size(dtype_));
  if (const uint64_t memory = physical_memory_bytes(); memory > 0 && bytes > static_cast<double>(memory)) {
    throw Error(what + ": the store would hold " + std::to_string(elements_ + elements) + " " + dtype_name(dtype_) +
                " parameters and as many gradients (" + gibibytes(bytes) + "), more than this machine's " +
                gibibytes(static_cast<double>(memory)) + " of memory");
  }
}

void VariableStore::set_element_budget(int64_t elements, std::string reason) {
  if (elements < 0) throw Error("set_element_budget: " + std::to_string(elements) + " elements, expected >= 0");
  element_budget_ = elements;
  budget_reason_ = std::move(reason);
}

int64_t VariableStore::parameter_count() const { return elements_; }

}  // namespace rnnkit

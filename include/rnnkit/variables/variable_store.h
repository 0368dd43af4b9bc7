// The variable store: named variables in one contiguous parameter buffer, with
// a gradient buffer of the same layout, and TensorFlow 1 style scopes.
//
// Names are segments joined by '/', each of [A-Za-z0-9_.:-]. get_variable(name, ...)
// resolves `name` under the current scope and creates or returns the variable,
// as tf.compat.v1.get_variable does inside variable_scope:
//   reuse no    create only; an existing name is an error (the default at top level)
//   reuse yes   share only; a missing name is an error
//   reuse auto  get or create
// A nested scope inherits its parent's reuse mode and default initializer unless it
// sets its own. Sharing checks the shape. A new variable is initialized at once from
// (seed, full name, initializer, shape): explicit initializer, else the innermost
// scope default, else glorot_uniform (TensorFlow 1's get_variable default). Overrides by
// glob (override_initializer) beat all of these: a config can retarget any variable a
// model's code creates without touching the code.
//
// Storage. All parameters live in one buffer (float32 or float64), each variable at
// an offset aligned to 64 bytes, and all gradients in a second buffer with the same
// layout, so saving, zeroing, clipping, updating or all-reducing is one pass. Creating
// a variable may move the buffers: views taken before are invalidated (as with
// std::vector); Variable references stay valid.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnkit/core/aligned_buffer.h"
#include "rnnkit/core/dtype.h"
#include "rnnkit/core/tensor.h"
#include "rnnkit/init/initializer.h"

namespace rnnkit {

enum class Reuse { no, yes, automatic };

const char* reuse_name(Reuse reuse);

struct ScopeOptions {
  std::optional<Reuse> reuse;  // unset: inherit
  InitializerPtr initializer;  // null: inherit
};

struct VariableOptions {
  InitializerPtr initializer;     // null: the scope's default
  std::optional<bool> trainable;  // unset: true for a new variable
  std::string gate_letters;       // gate blocks along dim 0 (for per-gate init, views and inspect)
  int64_t hidden_size = 0;        // H of the layer the variable belongs to, if any
};

struct Variable {
  std::string name;  // full name
  Shape shape;
  int64_t offset = 0;  // in elements, into the parameter (and gradient) buffer
  int64_t numel = 0;
  std::string init_spec;  // the initializer's canonical spec
  std::string gate_letters;
  int64_t hidden_size = 0;
  bool trainable = true;
  std::string source;  // where the value came from: "init", or "checkpoint FILE:NAME"
};

class VariableStore {
 public:
  explicit VariableStore(uint64_t seed = 0, DType dtype = DType::f32);
  VariableStore(const VariableStore&) = delete;
  VariableStore& operator=(const VariableStore&) = delete;
  // Movable while no scope is open (a ScopeGuard points at its store). Variable references
  // stay valid across a move.
  VariableStore(VariableStore&&) = default;
  VariableStore& operator=(VariableStore&&) = default;

  uint64_t seed() const { return seed_; }
  DType dtype() const { return dtype_; }

  // Entering a scope returns a guard; the scope ends when the guard is destroyed.
  class ScopeGuard {
   public:
    ScopeGuard(ScopeGuard&& other) noexcept : store_(other.store_) { other.store_ = nullptr; }
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ScopeGuard& operator=(ScopeGuard&&) = delete;
    ~ScopeGuard();

   private:
    friend class VariableStore;
    explicit ScopeGuard(VariableStore* store) : store_(store) {}
    VariableStore* store_;
  };

  [[nodiscard]] ScopeGuard scope(std::string_view name, ScopeOptions options = {});
  std::string current_scope() const;
  Reuse current_reuse() const;

  const Variable& get_variable(std::string_view name, const Shape& shape, const VariableOptions& options = {});

  const Variable* find(std::string_view full_name) const;
  // Throws Error naming the variable (and how many exist) if absent.
  const Variable& at(std::string_view full_name) const;
  std::vector<const Variable*> glob(std::string_view pattern) const;
  // In creation order.
  const std::deque<Variable>& variables() const { return variables_; }

  // Variables created from now on whose full name matches `pattern` get `initializer`,
  // whatever the creating code asks for; the first matching override wins.
  void override_initializer(std::string pattern, InitializerPtr initializer);

  // Sets the trainable flag of every variable matching `pattern`; returns how many.
  int64_t set_trainable(std::string_view pattern, bool trainable);
  // Records where a variable's value came from (restore sets it).
  void set_source(std::string_view full_name, std::string source);

  template <class T>
  TensorView<T> value(const Variable& v) {
    return TensorView<T>(params_.as<T>(dtype_) + v.offset, v.shape);
  }
  template <class T>
  TensorView<const T> value(const Variable& v) const {
    return TensorView<const T>(params_.as<T>(dtype_) + v.offset, v.shape);
  }
  template <class T>
  TensorView<T> grad(const Variable& v) {
    return TensorView<T>(grads_.as<T>(dtype_) + v.offset, v.shape);
  }
  // The whole buffers, padding included (padding stays zero).
  template <class T>
  std::span<T> parameters() {
    return {params_.as<T>(dtype_), static_cast<std::size_t>(size_)};
  }
  template <class T>
  std::span<T> gradients() {
    return {grads_.as<T>(dtype_), static_cast<std::size_t>(size_)};
  }
  void zero_grad();

  // Sum of the variables' element counts (padding excluded).
  int64_t parameter_count() const;

  // From now on a variable that would bring parameter_count() past `elements` is refused with an
  // Error ending in `reason`, before anything is allocated or initialized: a model described by
  // a file is built only as large as the file can fill. 0 lifts the limit.
  void set_element_budget(int64_t elements, std::string reason);

  // Throws the Error that creating `elements` more elements would (past the element budget, or
  // parameters and gradients past the machine's physical memory), naming `what`: for code about
  // to create many variables, so that a model too large fails before the first is initialized.
  void check_room_for(int64_t elements, const std::string& what) const;

 private:
  struct ScopeFrame {
    std::string name;  // full scope name
    Reuse reuse;
    InitializerPtr initializer;
  };
  void pop_scope();

  uint64_t seed_;
  DType dtype_;
  std::vector<ScopeFrame> scopes_;
  std::vector<std::pair<std::string, InitializerPtr>> overrides_;
  std::deque<Variable> variables_;
  std::map<std::string, std::size_t, std::less<>> index_;
  AlignedBuffer params_;
  AlignedBuffer grads_;
  int64_t size_ = 0;      // elements in use, padding included
  int64_t elements_ = 0;  // parameter_count()
  int64_t element_budget_ = 0;
  std::string budget_reason_;
};

// Checks a relative or full variable name; throws Error naming `what` and the bad part.
void check_variable_name(std::string_view name, const char* what);

}  // namespace rnnkit

// Checkpoints: a variable store saved as safetensors that explains itself, and
// restoring all or part of one into a store.
//
// Metadata keys written (all strings; docs/checkpoint-format.md):
//   format              "rnnkit"
//   rnnkit.version      the library version
//   rnnkit.seed         the store's seed, decimal
//   rnnkit.model        the caller's model description (JSON), if given
//   rnnkit.variables    JSON {name: {"init": spec, "trainable": bool, "gates": "ifgo", "hidden_size": H,
//                       "source": "init" | "checkpoint FILE:NAME"}}
//
// Restore. Each checkpoint tensor name is mapped to a store name by the rename map
// (exact renames first, then the longest matching prefix rename such as
// "pretrain/lstm/" -> "classifier/encoder/"; unmapped names stay as they are).
// include/exclude globs (glob.h) select by store name, on both sides. Then:
//   loaded            selected store variable <- checkpoint tensor of the same shape
//   missing           selected store variable with no checkpoint tensor
//   unexpected        selected checkpoint tensor that names no store variable
//   shape_mismatched  names match, shapes (or a non-float dtype) do not
//   skipped           checkpoint tensors outside include/exclude
//   unused_renames    rename entries that matched no checkpoint tensor
// Strict mode throws Error listing every problem and changes nothing; lenient mode
// loads what fits and reports the rest. Values are converted to the store's dtype.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

struct SaveOptions {
  std::string model_json;            // goes into rnnkit.model when not empty
  std::vector<std::string> include;  // globs; empty: every variable
  std::map<std::string, std::string> extra_metadata;
  // State that is not a variable (a training run's optimizer slots...): names must begin
  // with '@', which no variable name can; restore and inspect pass over such tensors.
  std::vector<SafetensorsTensor> state_tensors;
};

// True for the name of a state tensor (SaveOptions::state_tensors).
inline bool is_state_tensor_name(const std::string& name) { return !name.empty() && name[0] == '@'; }

void save_checkpoint(const VariableStore& store, const std::string& path, const SaveOptions& options = {});

struct RestoreOptions {
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::vector<std::pair<std::string, std::string>> renames;  // checkpoint name or prefix -> store name or prefix
  bool strict = true;
};

struct RestoreReport {
  std::vector<std::pair<std::string, std::string>> loaded;  // (store name, checkpoint name)
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  std::vector<std::string> shape_mismatched;  // "name: checkpoint [..] F32, store [..]"
  std::vector<std::string> skipped;
  std::vector<std::string> unused_renames;

  bool complete() const {
    return missing.empty() && unexpected.empty() && shape_mismatched.empty() && unused_renames.empty();
  }
  // One line per problem, then counts.
  std::string summary() const;
};

// Parses "OLD=NEW" (prefix renames end in '/'); throws Error on a malformed entry.
std::pair<std::string, std::string> parse_rename(const std::string& text);

RestoreReport restore_checkpoint(VariableStore& store, const SafetensorsFile& file, const RestoreOptions& options = {});
RestoreReport restore_checkpoint(VariableStore& store, const std::string& path, const RestoreOptions& options = {});

// Per-variable facts rnnkit stored in a checkpoint's metadata (empty if none or not rnnkit's).
struct StoredVariableInfo {
  std::string init_spec;
  std::string gate_letters;
  int64_t hidden_size = 0;
  bool trainable = true;
  std::string source;
};
std::map<std::string, StoredVariableInfo> stored_variable_info(const SafetensorsFile& file);

}  // namespace rnnkit

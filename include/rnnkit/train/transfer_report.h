// Where every variable of a model came from, before training starts: a checkpoint tensor
// (file and name), or its initializer spec and the seed; whether it is frozen; and which
// tensors of the checkpoint were not used (not mapped onto the model, or filtered out).
#pragma once

#include <string>
#include <vector>

#include "rnnkit/checkpoint/checkpoint.h"
#include "rnnkit/variables/variable_store.h"

namespace rnnkit {

struct TransferReport {
  struct Entry {
    std::string name;
    Shape shape;
    std::string source;  // "checkpoint FILE:NAME" or "init SPEC, seed S"
    bool trainable = true;
  };
  std::string checkpoint;  // empty: nothing was transferred
  std::vector<Entry> variables;
  std::vector<std::string> unused;  // checkpoint tensors not loaded, each with why

  // A table for people (one line per variable) and the unused tensors.
  std::string to_text() const;
  std::string to_json() const;
};

// `restore` is the report of the restore that brought the checkpoint in (null: none).
TransferReport make_transfer_report(const VariableStore& store, const std::string& checkpoint,
                                    const RestoreReport* restore);

}  // namespace rnnkit

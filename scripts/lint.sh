#!/usr/bin/env bash
# Formatting and static checks, as scripts/test.sh runs them (after the g++ build, whose
# compile_commands.json clang-tidy reads):
#   every C++ file of the project against .clang-format (clang-format-14; no file is changed);
#   clang-tidy-14 (.clang-tidy) over the recurrent engine (src/layers, src/core), the formats,
#   the other code the cell options touch, and the orthogonal initializer with its random
#   streams; any warning fails.
#   scripts/lint.sh [BUILD_DIR]     default build/
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

# The project's C++ files (found without git: a source tarball has no .git).
cxx_files() { find include src tools tests bench fuzz examples -name '*.cc' -o -name '*.h' | sort; }
count=$(cxx_files | wc -l)
if [ "$count" -lt 100 ]; then echo "lint: found only $count C++ files; run from a full source tree"; exit 1; fi
echo "clang-format: checking $count files"
cxx_files | tr '\n' '\0' | xargs -0 clang-format-14 --dry-run --Werror

tidy_files=(
  src/layers/ src/core/ src/formats/ src/train/run_config.cc src/train/sequence_model.cc
  src/analysis/forward_health.cc src/autograd/ops_linear.cc src/init/orthogonal.cc src/init/orthogonal_blocked.cc
  src/init/orthogonal_kernels.cc src/random/stream.cc tools/rnnkit/cell_arguments.cc
  tools/rnnkit/convert_commands.cc tools/rnnkit/init_command.cc tools/rnnkit/inspect_command.cc
  tools/rnnkit/probe_command.cc
)
patterns=()
for f in "${tidy_files[@]}"; do
  case "$f" in
    */) patterns+=("$PWD/$f.*\.cc$") ;;
    *) patterns+=("$PWD/$f$") ;;
  esac
done
echo "clang-tidy: ${tidy_files[*]}"
# g++'s -Wno-restrict is unknown to clang: the extra argument keeps it from being a diagnostic.
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
run-clang-tidy-14 -p "$build_dir" -j "$(nproc)" -quiet -extra-arg=-Wno-unknown-warning-option "${patterns[@]}" \
  >"$report" 2>/dev/null || status=$?
checked=$(grep -c "^clang-tidy-14 " "$report" || true)
if grep -E "warning:|error:" "$report"; then
  echo "clang-tidy: the warnings above (in $checked files)"
  exit 1
fi
if [ "$status" -ne 0 ] || [ "$checked" -lt 30 ]; then
  echo "clang-tidy failed (status $status, $checked files checked):"
  tail -n 20 "$report"
  exit 1
fi
echo "lint: clean ($checked files through clang-tidy)"

#!/usr/bin/env bash
# The main job: set up, build, and train the default model (rnnkit train: a character-level
# LSTM on the built-in text, about 10 seconds on 2 cores), then write its report and sample
# text from it. Each run gets its own directory under out/runs/.
#   scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
run_dir="out/runs/$(date +%Y%m%d-%H%M%S)"
build/tools/rnnkit/rnnkit train --run-dir "$run_dir"
build/tools/rnnkit/rnnkit report "$run_dir" -o "$run_dir/report.html"
build/tools/rnnkit/rnnkit sample "$run_dir" --prompt "The " --length 160 --seed 1

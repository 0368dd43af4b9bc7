#!/usr/bin/env bash
# The main job: set up, build, initialize a default model and inspect it.
#   scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p out
build/tools/rnnkit/rnnkit init --cell lstm --input-size 32 --hidden-size 64 --layers 2 --bidirectional \
  --seed 42 -o out/lstm.safetensors
build/tools/rnnkit/rnnkit inspect out/lstm.safetensors

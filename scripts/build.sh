#!/usr/bin/env bash
# Configures and builds rnnkit with g++ into build/ (or $RNNKIT_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${RNNKIT_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

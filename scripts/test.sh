#!/usr/bin/env bash
# Every test: set up, build with g++ and run the suite; build with clang (AddressSanitizer
# and UBSan) and run the suite again; run the safetensors fuzzer for a short while.
#   scripts/test.sh                 everything
#   RNNKIT_FUZZ_SECONDS=N           how long the fuzzer runs (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
scripts/install-deps.sh

echo "== g++ build and tests"
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== clang build (ASan + UBSan, libFuzzer) and tests"
cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DRNNKIT_SANITIZE=ON -DRNNKIT_FUZZ=ON >/dev/null
cmake --build build-clang -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-clang --output-on-failure -j "$jobs" -LE install

echo "== fuzzing the safetensors parser for ${RNNKIT_FUZZ_SECONDS:-30} s"
mkdir -p build-clang/fuzz-corpus
build-clang/fuzz/safetensors_fuzz -max_total_time="${RNNKIT_FUZZ_SECONDS:-30}" -max_len=4096 \
  -print_final_stats=1 build-clang/fuzz-corpus fuzz/corpus 2>&1 | tail -n 12
echo "all tests passed"

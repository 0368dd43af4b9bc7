#!/usr/bin/env bash
# Every test: set up, build with g++ and run the suite; check formatting and run clang-tidy
# (scripts/lint.sh); build with clang (AddressSanitizer and UBSan) and run the suite again; run
# the fuzzer for a short while.
#   scripts/test.sh                 everything
#   RNNKIT_FUZZ_SECONDS=N           how long each fuzzer runs (default 15 to 30 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
scripts/install-deps.sh
# ONNX Runtime (npm's onnxruntime-node) for the test that runs rnnkit's ONNX exports in another
# runtime. Its install script would fetch GPU builds from outside npm; the CPU library ships in
# the package, so scripts are not run. Without npm the test is skipped.
# A failed download leaves that one test skipped (it says so) rather than failing the run.
if command -v npm >/dev/null && [ ! -d build-npm/node_modules/onnxruntime-node ]; then
  npm install --prefix build-npm --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null ||
    echo "warning: npm could not install onnxruntime-node; the ONNX Runtime test will be skipped"
fi

echo "== g++ build and tests (at ${SECONDS} s)"
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== formatting and clang-tidy (at ${SECONDS} s)"
scripts/lint.sh build

echo "== clang build (ASan + UBSan, libFuzzer) and tests (at ${SECONDS} s)"
# Not again under the sanitizers: the install test and the experiments' training runs.
# Built without MPI: the build that has no MPI is tested too (and Open MPI's own allocations
# would read as leaks to the sanitizer).
cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DRNNKIT_SANITIZE=ON -DRNNKIT_FUZZ=ON -DRNNKIT_MPI=OFF >/dev/null
cmake --build build-clang -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-clang --output-on-failure -j "$jobs" -LE 'install|experiment'

# Each parser's libFuzzer target for a while, from its seed corpus (new inputs it finds go to build-clang/).
fuzz() {
  local target="$1" seconds="$2" max_len="$3"
  echo "== fuzzing ${target} for ${seconds} s (at ${SECONDS} s)"
  mkdir -p "build-clang/fuzz-corpus-${target}"
  "build-clang/fuzz/${target}" -max_total_time="${seconds}" -max_len="${max_len}" -print_final_stats=1 \
    "build-clang/fuzz-corpus-${target}" "${@:4}" 2>&1 | tail -n 12
}
# About two and a half minutes in all; seeds from the fixtures.
fuzz safetensors_fuzz "${RNNKIT_FUZZ_SECONDS:-30}" 4096 fuzz/corpus
fuzz model_description_fuzz "${RNNKIT_FUZZ_SECONDS:-15}" 2048 fuzz/corpus-model
fuzz npz_fuzz "${RNNKIT_FUZZ_SECONDS:-25}" 16384 tests/fixtures/tf1 fuzz/corpus-npz
fuzz onnx_fuzz "${RNNKIT_FUZZ_SECONDS:-25}" 16384 tests/fixtures/onnx
fuzz run_config_fuzz "${RNNKIT_FUZZ_SECONDS:-20}" 4096 fuzz/corpus-toml
# Keras .h5 read in-process (rnnkit's checks get coverage, libhdf5 none), and the decoder of what
# libhdf5's separate process sends back.
fuzz keras_fuzz "${RNNKIT_FUZZ_SECONDS:-20}" 40000 tests/fixtures/keras
fuzz keras_frames_fuzz "${RNNKIT_FUZZ_SECONDS:-20}" 16384 fuzz/corpus-keras-frames
fuzz tf_checkpoint_fuzz "${RNNKIT_FUZZ_SECONDS:-25}" 16384 fuzz/corpus-tf
echo "all tests passed (in ${SECONDS} s)"

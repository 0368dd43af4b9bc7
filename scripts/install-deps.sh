#!/usr/bin/env bash
# Installs, from Debian's packages, whatever rnnkit's build and tests need and this
# machine lacks. Idempotent: installs nothing when everything is present.
#   scripts/install-deps.sh          build + test dependencies
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libopenblas-dev          # BLAS (cblas interface): double GEMMs
  libdnnl-dev              # oneDNN: float GEMMs
  nlohmann-json3-dev       # JSON for safetensors headers and metadata
  libcli11-dev             # the rnnkit command line
  libtomlplusplus-dev      # run configurations (TOML)
  libhdf5-dev              # Keras weight files (HDF5)
  zlib1g-dev               # deflated .npz archives (TF1 variables)
  libsnappy-dev            # Snappy-compressed blocks in TensorFlow checkpoint tables
  libleveldb-dev           # tests: LevelDB reads the .index tables rnnkit writes
  python3-protobuf protobuf-compiler  # tests: an independent writer of TensorFlow checkpoint fixtures
  libonnx-dev libprotobuf-dev  # ONNX models
  libopenmpi-dev openmpi-bin   # data-parallel training (mpirun -np N rnnkit train)
  libgtest-dev libgmock-dev  # unit tests (gmock: the matchers of the hostile-file tests)
  libbenchmark-dev         # bench/ (built with the tests; run by hand, never timed in CI)
  clang libclang-rt-14-dev # the clang build, sanitizers and the libFuzzer target
  clang-format-14 clang-tidy-14  # scripts/lint.sh: formatting and static checks
  python3-numpy            # the test that reads rnnkit's files with numpy (/usr/bin/python3)
  python3-h5py             # the test that reads rnnkit's Keras exports with h5py
  python3-torch            # PyTorch 1.13 for /usr/bin/python3: the random-configuration test
                           # against nn.LSTM / GRU / RNN, and the fixture scripts
  chromium                 # the test that opens rnnkit report pages in a headless browser
  procps                   # pgrep/pkill: the tests that interrupt or kill one rank of an MPI job
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm, for the test that runs rnnkit's ONNX exports in ONNX Runtime (npm's
# onnxruntime-node, fetched by scripts/test.sh). Checked by command, not by package: a machine
# may have Node.js from elsewhere, which Debian's npm package would fight with.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# rnnkit probe on the models of the experiments (models.sh: 64 units, 2 inputs as in the
# adding problem), T = 100, three seeds: gradient flow, step Jacobians, saturation and
# spectra at initialization, one page per cell under OUT/{rnn_tanh,rnn_relu,lstm,gru}/probe.html,
# with figures (OUT/gradient-flow-CELL.svg) and a table (OUT/probe.md) from probe_figures.py.
#   experiments/probe.sh [OUT]           (default out/experiments/probe; under a minute on 2 cores)
#   experiments/probe.sh --quick OUT     the CI variant: asserts that on a tanh RNN the gradient
#                                         50 steps back is over 1000 times larger with an
#                                         orthogonal recurrent matrix than with normal(stddev=0.01)
# Environment: RNNKIT (the binary).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rnnkit="${RNNKIT:-$here/../build/tools/rnnkit/rnnkit}"
[[ -x "$rnnkit" ]] || { echo "no rnnkit at $rnnkit: run scripts/build.sh (or set RNNKIT)" >&2; exit 2; }
probe() { "$rnnkit" probe --input-size 2 --hidden-size 64 --threads 1 "$@"; }

if [[ "${1:-}" == "--quick" ]]; then
  out="${2:?usage: probe.sh --quick OUT}"
  mkdir -p "$out"
  probe --cell rnn_tanh --steps 60 --seeds 2 --batch 4 --json \
    --init 'preset=keras' --init 'preset=keras;recurrent=normal(stddev=0.01)' > "$out/quick.json"
  python3 - "$out/quick.json" <<'PY'
import json, sys
sets = json.load(open(sys.argv[1]))["sets"]
for seed in range(len(sets[0]["seeds"])):
    orthogonal = sets[0]["seeds"][seed]["state_space_norm_by_distance"][50]
    small = sets[1]["seeds"][seed]["state_space_norm_by_distance"][50]
    if not orthogonal > 1e3 * small:
        sys.exit(f"fact does not hold for seed {seed + 1}: |dL/dh| at distance 50 is {orthogonal:.3g} (orthogonal) "
                 f"vs {small:.3g} (normal(stddev=0.01)); expected over 1000 times larger")
    print(f"fact holds, seed {seed + 1}: |dL/dh| at distance 50: orthogonal {orthogonal:.3g}, normal(0.01) {small:.3g}")
PY
  exit 0
fi

out="${1:-$here/../out/experiments/probe}"
start=$SECONDS
probe --cell rnn_tanh --steps 100 -o "$out/rnn_tanh" \
  --init 'preset=pytorch' --init 'preset=keras' --init 'preset=keras;recurrent=normal(stddev=0.01)'
probe --cell rnn_relu --steps 100 -o "$out/rnn_relu" \
  --init 'preset=pytorch' --init 'preset=keras;recurrent=identity;kernel=normal(stddev=0.001)'
probe --cell lstm --steps 100 -o "$out/lstm" \
  --init 'preset=keras;forget_bias=0' --init 'preset=keras;forget_bias=1' --init 'preset=keras;bias=chrono(t_max=100)' \
  --init 'preset=pytorch'
probe --cell gru --steps 100 -o "$out/gru" --init 'preset=keras' --init 'preset=pytorch'
echo "$((SECONDS - start)) s" | tee "$out/time.txt"
python3 "$here/probe_figures.py" "$out"

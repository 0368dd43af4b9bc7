# Runs one task for every model of models.sh, sequence length and seed, JOBS runs at a time
# (default: one per core) with one thread each, and summarizes them. Sourced by adding.sh and copy_memory.sh,
# which set:
#   task            rnnkit task name (adding, copy_memory)
#   task_section    a function NAME T printing the [task] section
#   lengths seeds   arrays; budget: training steps per run; eval_every: steps between
#                   evaluations; out: the output directory
#   threshold       "solved" means a held-out evaluation below this value
# and pass any --expect-solved / --expect-unsolved MODEL:T facts on to summarize.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=models.sh
source "$here/models.sh"
rnnkit="${RNNKIT:-$root/build/tools/rnnkit/rnnkit}"
[[ -x "$rnnkit" ]] || { echo "no rnnkit at $rnnkit: run scripts/build.sh (or set RNNKIT)" >&2; exit 2; }
jobs="${JOBS:-$(nproc)}"
if [[ -n "${MODELS:-}" ]]; then
  read -r -a models <<< "$MODELS"  # a subset, e.g. MODELS="lstm_forget1 gru"
else
  models=("${model_names[@]}")
fi

write_configs() {
  mkdir -p "$out/configs"
  : > "$out/runs.tsv"
  for model in "${models[@]}"; do
    for steps in "${lengths[@]}"; do
      for seed in "${seeds[@]}"; do
        local name="$model-T$steps-s$seed"
        {
          printf 'seed = %d\n' "$seed"
          model_section "$model" "$steps"
          task_section "$steps"
          printf '[optimizer]\nname = "adam"\nlearning_rate = 0.003\n'
          printf '[clip]\nnorm = 1.0\n'
          printf '[train]\nsteps = %d\neval_every = %d\neval_batches = 8\ncheckpoint_every = 0\nlog_every = %d\n' \
            "$budget" "$eval_every" "$budget"
        } > "$out/configs/$name.toml"
        printf '%s\t%s\t%s\t%s\n' "$name" "$model" "$steps" "$seed" >> "$out/runs.tsv"
      done
    done
  done
}

run_all() {
  rm -rf "$out/runs"
  mkdir -p "$out/runs" "$out/logs"
  local start=$SECONDS
  cut -f1 "$out/runs.tsv" | xargs -P "$jobs" -I{} sh -c \
    '"$0" train --config "$1/configs/$2.toml" --run-dir "$1/runs/$2" --threads 1 > "$1/logs/$2.log" 2>&1 || { echo "run $2 failed; see $1/logs/$2.log" >&2; exit 255; }' \
    "$rnnkit" "$out" {}
  echo "$((SECONDS - start)) s for $(wc -l < "$out/runs.tsv") runs with $jobs at a time" > "$out/time.txt"
  cat "$out/time.txt"
}

run_grid() {
  mkdir -p "$out"
  write_configs
  run_all
  python3 "$here/summarize.py" --out "$out" --task "$task" --threshold "$threshold" --budget "$budget" "$@"
}

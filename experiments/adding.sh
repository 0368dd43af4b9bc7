#!/usr/bin/env bash
# The adding problem (Le, Jaitly and Hinton 2015's form) for every model of models.sh at
# T = 50, 100, 200, three seeds each, 4000 Adam steps per run; then a table and plots
# (summarize.py). "Solved": held-out MSE below 0.01 (the baseline, always answering 1, is 1/6).
#   experiments/adding.sh [OUT]            (default out/experiments/adding; about 15 minutes
#                                           on 2 cores)
#   experiments/adding.sh --quick OUT      the CI variant: T = 50, 2000 steps, two seeds, two models,
#                                           asserting what is robust
# Environment: RNNKIT (the binary), JOBS (parallel runs; default all cores), MODELS (a subset),
# BUDGET (training steps per run; default 4000).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/grid.sh"
task=adding
threshold=0.01
task_section() { printf '[task]\nname = "adding"\nsteps = %d\nbatch_size = 32\n' "$1"; }
if [[ "${1:-}" == "--quick" ]]; then
  out="${2:?usage: adding.sh --quick OUT}"
  lengths=(50); seeds=(1 2); budget=2000; eval_every=100
  models=(rnn_tanh lstm_forget1)
  run_grid --expect-solved lstm_forget1:50 --expect-unsolved rnn_tanh:50
else
  out="${1:-$root/out/experiments/adding}"
  lengths=(50 100 200); seeds=(1 2 3); budget=${BUDGET:-4000}; eval_every=100
  run_grid
fi

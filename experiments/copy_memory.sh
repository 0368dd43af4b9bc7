#!/usr/bin/env bash
# Copy memory (Hochreiter and Schmidhuber 1997; Arjovsky et al. 2016's form) at T = 100
# (10 symbols, a delay of 80 blanks, then the 10 symbols to recall) for every model of
# models.sh, three seeds each, 4000 Adam steps per run; then a table and plots. "Solved":
# held-out cross-entropy below 0.01 nats per step (the baseline, 10 ln 8 / T, is 0.208).
#   experiments/copy_memory.sh [OUT]       (default out/experiments/copy_memory; about 8 minutes
#                                           on 2 cores)
# Environment: RNNKIT (the binary), JOBS (parallel runs; default all cores), MODELS (a subset),
# BUDGET (training steps per run; default 4000).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/grid.sh"
task=copy_memory
threshold=0.01
task_section() { printf '[task]\nname = "copy_memory"\ndelay = %d\nbatch_size = 32\n' "$(($1 - 20))"; }
out="${1:-$root/out/experiments/copy_memory}"
lengths=(100); seeds=(1 2 3); budget=${BUDGET:-4000}; eval_every=100
run_grid

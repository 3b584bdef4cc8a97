#!/usr/bin/env bash
# Run tuning grids of benchmarks/studies/tune.py on one lent GPU, all variants at once.
#
#   bash benchmarks/studies/gpu_tune.sh DATA_DIR OUT_DIR SECONDS GRID...
#
# Same protocol as on the CPU (held-out split; the test split plays no part in
# the choice) with device=cuda; the runs come back as one tarball in OUT_DIR.
# SECONDS bounds the whole script, set-up and packing included.
set -u
data=$1 out=$2 budget=$3
shift 3
source "$(dirname "$0")/gpu_setup.sh"  # data, MPS (sets $jobs), log to $out

start=$(date +%s)
launch python3 benchmarks/studies/tune.py run "$@" --jobs "$jobs" device=cuda threads=2
wait_launched
echo "tuning ended after $(( $(date +%s) - start )) s"
tar czf "$out/tune_runs.tgz" --exclude='*/checkpoints/*' runs/tune
ls -l "$out"

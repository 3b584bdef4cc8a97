#!/usr/bin/env bash
# Train ablation rows on one lent GPU, all at once, inside a wall-clock budget.
#
#   bash benchmarks/studies/gpu_ablation.sh DATA_DIR OUT_DIR SECONDS [SPEC...]
#
# DATA_DIR holds cifar10_jpeg_q75.npz and cifar10_unpack.py (the shared data);
# OUT_DIR receives the log and the runs as tarballs; SECONDS bounds the whole
# script, set-up and packing included. Each SPEC is one quoted string, "ROWS
# [key=value...]": the rows of benchmarks/studies/accuracy.py with overrides for them,
# e.g. "imb+dte,dirnet seed=1" trains the second seed of two rows. The specs
# run side by side (keep their rows to 8 in all); without a SPEC the eight
# binary rows run. Rows run as separate `dirnet train` processes through
# benchmarks/studies/accuracy.py with device=cuda and otherwise the CPU-budget configs
# unchanged (same data, schedule, batch and seed). The fp row (the RBD
# teacher) is the CPU run already in runs/. When the budget ends, every run
# still going gets SIGTERM and leaves a resumable checkpoint, so nothing done
# is lost. CUDA MPS is tried first, so that the small kernels of the
# processes can share the GPU at once; without it, the first five rows of
# each spec run first and the rest queue.
set -u
data=$1 out=$2 budget=$3
shift 3
[ $# -ge 1 ] || set -- "dirnet,imb+dte,imb,bnn,irnet,xnor,bireal,reactnet"
specs=("$@")
source "$(dirname "$0")/gpu_setup.sh"  # data, MPS (sets $jobs), log to $out

# A run directory without commands.txt is a leftover, not a run: start it fresh.
dirs=()
for spec in "${specs[@]}"; do
    read -r -a words <<< "$spec"
    mapfile -t -O "${#dirs[@]}" dirs < <(python3 benchmarks/studies/accuracy.py dirs --rows "${words[@]}")
done
for d in "${dirs[@]}"; do
    [ -f "$d/commands.txt" ] || rm -rf "$d"
done

start=$(date +%s)
for spec in "${specs[@]}"; do
    read -r -a words <<< "$spec"  # ROWS key=value...
    launch python3 benchmarks/studies/accuracy.py run --rows "${words[0]}" --jobs "$jobs" \
        device=cuda threads=2 log.progress=false log.tensorboard=false "${words[@]:1}"
done
wait_launched
echo "training ended after $(( $(date +%s) - start )) s"
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv

# At most 8 files come back, 16 MiB each: two tarballs of runs plus this log.
set -- "${dirs[@]}"
half=$(( ($# + 1) / 2 ))
pack runs_a.tgz "${@:1:$half}"
pack runs_b.tgz "${@:$((half + 1))}"
ls -l "$out"

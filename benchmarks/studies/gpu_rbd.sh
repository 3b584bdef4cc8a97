#!/usr/bin/env bash
# Choose RBD's settings on held-out data and train the candidate dirnet rows, in one GPU call.
#
#   bash benchmarks/studies/gpu_rbd.sh DATA_DIR OUT_DIR SECONDS VARIANT...
#
# VARIANT names an RBD setting of tune.py's rbd-full grid without its prefix
# (a1-b0-t4, a0.25-b1-t4, none, ...). For each one, side by side on the GPU:
#   * the held-out run  runs/tune/f-VARIANT: 45,000 training images, scored on
#     the 5,000 held out, 30 epochs (tune.py run rbd-full);
#   * the candidate row runs/resnet20_dirnet_c30_VARIANT: the dirnet row's
#     config (all 50,000 images, test split) with that setting.
# Afterwards the setting with the best held-out top-1 is the one whose
# candidate row becomes the `dirnet` row; the test split plays no part in the
# choice. VARIANT `none` (no RBD) runs only held out: its row is imb+dte.
# Runs come back as tarballs in OUT_DIR (4 variants: 8 processes). SECONDS
# bounds the whole script, set-up and packing included.
set -u
data=$1 out=$2 budget=$3
shift 3
[ $# -ge 1 ] || { echo "name at least one variant" >&2; exit 2; }
source "$(dirname "$0")/gpu_setup.sh"  # data, MPS (sets $jobs), log to $out

common=(device=cuda threads=2 log.progress=false log.tensorboard=false)
variants=$(IFS=,; for v in "$@"; do printf 'f-%s,' "$v"; done)
start=$(date +%s)
launch python3 benchmarks/studies/tune.py run rbd-full --variants "${variants%,}" --jobs $# "${common[@]}"
for v in "$@"; do
    [ "$v" = none ] && continue  # without RBD the candidate row is the imb+dte row
    # the variant's distill.* overrides, as tune.py defines them
    mapfile -t over < <(python3 -c "import sys; sys.path.insert(0, 'benchmarks/studies'); import tune
print('\n'.join(a for a in tune.GRIDS['rbd-full']['f-$v'] if a.startswith('distill.')))")
    launch python3 benchmarks/studies/accuracy.py run --rows dirnet \
        "name=resnet20_dirnet_c30_$v" "${over[@]}" "${common[@]}"
done
wait_launched
echo "training ended after $(( $(date +%s) - start )) s"

pack rows.tgz $(for v in "$@"; do echo "runs/resnet20_dirnet_c30_$v"; done)
# last.pt comes back too, so a held-out run the budget cut short can be resumed
pack heldout.tgz $(for v in "$@"; do echo "runs/tune/f-$v"; done)
ls -l "$out"

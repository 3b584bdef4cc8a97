#!/bin/bash
# Behaviour fingerprint of the library, for refactors that must change nothing:
# a seeded 1-epoch dirnet run (RBD from the committed fp teacher) on a CIFAR-10
# subset, .dbnn exports of it and of committed checkpoints, dirnet eval of both,
# and a rebuild of the studies' tables. Writes OUT/hashes.json; run it on the
# old and the new commit (same machine) and compare the two files:
#
#   bash benchmarks/fingerprint.sh /tmp/fp_before [RUNS]   # on the base commit
#   bash benchmarks/fingerprint.sh /tmp/fp_after  [RUNS]   # on the change
#   diff /tmp/fp_before/hashes.json /tmp/fp_after/hashes.json && echo identical
#
# RUNS (default runs/) holds the checkpoints to export: resnet20_<m>_c30 for m in
# EXPORTS (default "dirnet fp"; a base commit that still has others, e.g. via a
# git worktree, can name them). Needs `make cifar10`. About 1 minute on 2 cores.
# The table rebuild must leave BENCHMARKS.md and benchmarks/results unchanged;
# the script restores them either way (run it on a clean tree).
set -euo pipefail
OUT=${1:?usage: fingerprint.sh OUT [RUNS]}
RUNS=${2:-runs}
EXPORTS=${EXPORTS:-dirnet fp}
rm -rf "$OUT"; mkdir -p "$OUT"
dirnet train --config configs/cifar10/resnet20_dirnet_c30.yaml data.train_subset=2560 \
  data.test_subset=500 schedule.epochs=1 threads=2 out_dir="$OUT" name=run \
  log.progress=false log.tensorboard=false > "$OUT/train.log" 2>&1
dirnet export "$OUT/run" -o "$OUT/run.dbnn" > "$OUT/export.log" 2>&1
for m in $EXPORTS; do
  dirnet export "$RUNS/resnet20_${m}_c30/checkpoints/last.pt" -o "$OUT/$m.dbnn" >> "$OUT/export.log" 2>&1
done
dirnet eval "$OUT/run" --json > "$OUT/eval_run.json"
python benchmarks/studies/accuracy.py table > "$OUT/tables.log" 2>&1
python benchmarks/studies/tune.py table >> "$OUT/tables.log" 2>&1
git diff --stat -- BENCHMARKS.md benchmarks/results > "$OUT/tables_diff.txt"
git checkout -- BENCHMARKS.md benchmarks/results
python - "$OUT" <<'PY'
import hashlib, json, sys
from pathlib import Path
import torch
out = Path(sys.argv[1])
ck = torch.load(out / "run/checkpoints/last.pt", weights_only=True, map_location="cpu")
h = hashlib.sha256()
for k in sorted(ck["model"]):
    h.update(k.encode()); h.update(ck["model"][k].contiguous().numpy().tobytes())
rows = [json.loads(line) for line in open(out / "run/metrics.jsonl")]
for r in rows:
    r.pop("epoch_s", None), r.pop("data_wait_s", None)  # timings
res = {"weights_sha256": h.hexdigest(), "checkpoint_keys": sorted(ck), "metrics": rows,
       "eval": {k: v for k, v in json.loads((out / "eval_run.json").read_text()).items()
                if k != "target"},
       "tables_changed": (out / "tables_diff.txt").read_text().strip()}
for f in sorted(out.glob("*.dbnn")):
    res[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()
(out / "hashes.json").write_text(json.dumps(res, indent=1) + "\n")
print(f"wrote {out / 'hashes.json'}")
PY

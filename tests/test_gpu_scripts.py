"""The device-call scripts (benchmarks/studies/gpu_*.sh) parse, and never wait on their own log.

They can only really run on a lent GPU, so CI checks what can go wrong before one:
a syntax error, or a bare ``wait``, which in bash >= 5.1 also waits for the
``exec > >(tee ...)`` that gpu_setup.sh opens for the log and so never returns
(two device calls of 2026-11-26 lost their packing to it).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "studies"
SCRIPTS = sorted(BENCH.glob("gpu_*.sh"))


def test_scripts_found() -> None:
    assert {p.name for p in SCRIPTS} >= {"gpu_lib.sh", "gpu_setup.sh", "gpu_ablation.sh", "gpu_rbd.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_parses(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_waits_only_on_named_jobs(script: Path) -> None:
    bare = [n for n, line in enumerate(script.read_text().splitlines(), 1)
            if re.fullmatch(r"\s*wait\s*(#.*)?", line)]
    assert not bare, f"{script.name}: bare `wait` on lines {bare}; wait on the job PIDs"


def test_bare_wait_does_hang_behind_a_tee(tmp_path: Path) -> None:
    """The reason for the rule above, checked on this machine's bash."""
    body = 'exec > >(tee -a "{log}") 2>&1\nsleep 0.1 & pid=$!\n{wait}\necho done\n'
    named = tmp_path / "named.sh"
    named.write_text(body.format(log=tmp_path / "a.log", wait='wait "$pid"'))
    assert subprocess.run(["bash", str(named)], capture_output=True, timeout=10).returncode == 0
    bare = tmp_path / "bare.sh"
    bare.write_text(body.format(log=tmp_path / "b.log", wait="wait"))
    try:
        subprocess.run(["bash", str(bare)], capture_output=True, timeout=3)
    except subprocess.TimeoutExpired:
        return
    pytest.skip("this bash returns from a bare wait (older than 5.1)")


def test_helpers_behind_a_tee(tmp_path: Path) -> None:
    """gpu_lib.sh as the scripts use it: jobs launched under the budget, waited for
    behind the log's tee, and runs packed with only what reading or resuming needs."""
    run = tmp_path / "runs" / "r"
    (run / "checkpoints").mkdir(parents=True)
    for f in ("config.yaml", "metrics.jsonl", "summary.json", "commands.txt",
              "checkpoints/last.pt", "checkpoints/best.pt", "events.tb"):
        (run / f).write_text("x")
    lib = BENCH / "gpu_lib.sh"
    script = tmp_path / "s.sh"
    script.write_text(f"""out={tmp_path} budget=1000 PACK_S=100 WAIT_PATTERN=no-such-process-{tmp_path.name}
source {lib}
exec > >(tee -a "$out/log") 2>&1
echo "budget $(training_budget)"
launch sleep 0.2
launch bash -c 'echo launched-ran'
wait_launched
budget=0; echo "floor $(training_budget)"
cd {tmp_path} && pack runs.tgz runs/r runs/missing
echo packed
""")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    budget = int(re.search(r"budget (\d+)", done.stdout).group(1))
    assert budget in (899, 900) and "floor 60" in done.stdout  # 1000 - PACK_S, less a tick
    assert "launched-ran" in done.stdout and done.stdout.rstrip().endswith("packed")
    listed = subprocess.run(["tar", "tzf", str(tmp_path / "runs.tgz")], capture_output=True,
                            text=True, check=True).stdout.split()
    assert sorted(listed) == sorted(f"runs/r/{f}" for f in (
        "config.yaml", "metrics.jsonl", "summary.json", "commands.txt", "checkpoints/last.pt"))

"""What the table studies share: rows that are `dirnet train` runs of committed configs.

A :class:`RowStudy` knows where a row's config is and which figure its table
reports. It resolves a row's run directory (a seed other than 0 trains into
``<config name>_s<seed>``, so extra seeds never resume or overwrite the
seed-0 row), the row's command (the ``dirnet`` row distils from the ``fp``
row's final model), which seeds have finished, and trains the unfinished rows
a few at a time, ``dirnet`` after ``fp``. accuracy.py (the ablation) and
detection.py (the BCCD table) are two studies of it.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/studies/ -> the repository
MAX_SEED = 9  # extra seeds the tables look for


def load_config(path: Path, overrides: list[str] | None = None):
    sys.path.insert(0, str(ROOT / "src"))
    from dirnet.config import load_config as load

    return load(path, overrides or [])


def seed_of(extra: list[str]) -> int:
    seeds = [e.partition("=")[2] for e in extra if e.startswith("seed=")]
    try:
        return int(seeds[-1]) if seeds else 0
    except ValueError:
        raise SystemExit(f"seed must be an integer, got {seeds[-1]!r}") from None


def standard_extra(extra: list[str]) -> list[str]:
    """The overrides that locate the standard rows (the fp teacher, the table's rows): all but
    a run name, a seed or an RBD setting, which make a candidate row of their own."""
    return [e for e in extra if not e.startswith(("name=", "seed=", "distill."))]


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


class RowStudy:
    def __init__(self, row_config: Callable[[str], Path], metric: str):
        self.row_config, self.metric = row_config, metric

    def row_overrides(self, row: str, extra: list[str]) -> list[str]:
        """The overrides a row's run gets: with a seed other than 0, ``name=<config name>_s<seed>``
        (unless ``name=`` is given)."""
        seed = seed_of(extra)
        if seed and not any(e.startswith("name=") for e in extra):
            return [*extra, f"name={load_config(self.row_config(row)).run_name}_s{seed}"]
        return extra

    def run_dir_of(self, row: str, extra: list[str]):
        """``(run directory, resolved config)`` of a row with ``extra`` overrides."""
        cfg = load_config(self.row_config(row), self.row_overrides(row, extra))
        return ROOT / cfg.out_dir / cfg.run_name, cfg

    def row_command(self, row: str, extra: list[str]) -> list[str]:
        cfg = self.row_config(row).relative_to(ROOT)
        cmd = ["dirnet", "train", "--config", str(cfg), *self.row_overrides(row, extra)]
        if row == "dirnet":  # RBD teacher: the fp row's final model, wherever out_dir puts it
            teacher, _ = self.run_dir_of("fp", standard_extra(extra))
            cmd.append(f"distill.teacher={rel(teacher)}")
        return cmd

    def run_facts(self, row: str, extra: list[str]) -> dict:
        """What a table reads of a row's run: ``run_dir``, ``cfg``, ``history`` (its
        metrics.jsonl rows), ``device`` (where it trained) and ``command`` (as launched)."""
        sys.path.insert(0, str(ROOT / "src"))
        from dirnet.metrics import read_metrics

        run_dir, cfg = self.run_dir_of(row, extra)
        summary = json.loads((run_dir / "summary.json").read_text()) \
            if (run_dir / "summary.json").exists() else {}
        launched = (run_dir / "commands.txt").read_text().splitlines() \
            if (run_dir / "commands.txt").exists() else []
        return {"run_dir": run_dir, "cfg": cfg, "history": read_metrics(run_dir),
                "device": summary.get("device") or (
                    "cpu" if cfg.device in ("auto", "cpu") else cfg.device),
                "command": launched[0] if launched else shlex.join(self.row_command(row, extra))}

    def finished(self, row: str, extra: list[str]) -> bool:
        run_dir, cfg = self.run_dir_of(row, extra)
        summary = run_dir / "summary.json"
        return summary.exists() and \
            json.loads(summary.read_text()).get("epochs_done", 0) >= cfg.schedule.epochs

    def finished_seeds(self, row: str, extra: list[str]) -> dict[str, float]:
        """The final figure (``metric``) of every finished seed of a row (seed 0: the row).

        Seeds are counted by run directory: with ``name=`` every seed maps to one
        directory, which is one run, not ten."""
        sys.path.insert(0, str(ROOT / "src"))
        from dirnet.metrics import read_metrics

        out, seen = {}, set()
        for seed in range(MAX_SEED + 1):
            run_dir, cfg = self.run_dir_of(row, [*extra, f"seed={seed}"])
            if run_dir in seen or not (run_dir / "metrics.jsonl").exists():
                continue
            seen.add(run_dir)
            values = [h[self.metric] for h in read_metrics(run_dir) if self.metric in h]
            if len(values) >= cfg.schedule.epochs:
                out[str(seed)] = values[-1]
        return out

    def run_rows(self, rows: list[str], extra: list[str], jobs: int,
                 on_finish: Callable[[], None]) -> None:
        """Train the unfinished rows, ``jobs`` at a time; ``dirnet`` waits for ``fp`` (its teacher).

        A failed row does not stop the others; each launch's command line is
        appended to RUN/commands.txt (the table quotes the first one).
        """
        todo = [r for r in rows if not self.finished(r, extra)]
        for r in rows:
            if r not in todo:
                print(f"[{r}] finished already", flush=True)
        running: dict[str, subprocess.Popen] = {}
        failed: list[str] = []
        while todo or running:
            for r, proc in list(running.items()):
                if proc.poll() is not None:
                    del running[r]
                    if proc.returncode != 0:
                        print(f"[{r}] failed with exit code {proc.returncode}", flush=True)
                        failed.append(r)
                    try:
                        on_finish()
                    except Exception as e:  # a table that cannot be drawn must not stop training
                        print(f"[table] not rebuilt: {e}", flush=True)
            ready = [r for r in todo
                     if r != "dirnet" or self.finished("fp", standard_extra(extra))]
            while ready and len(running) < max(1, jobs):
                r = ready.pop(0)
                todo.remove(r)
                run_dir, _ = self.run_dir_of(r, extra)
                resume = ["--resume"] if (run_dir / "checkpoints" / "last.pt").exists() else []
                cmd = self.row_command(r, extra) + resume
                print(f"[{r}] {shlex.join(cmd)}", flush=True)
                run_dir.mkdir(parents=True, exist_ok=True)
                with open(run_dir / "commands.txt", "a") as f:
                    f.write(shlex.join(cmd) + "\n")
                running[r] = subprocess.Popen([sys.executable, "-m", *cmd], cwd=ROOT)
            if todo and not ready and not running:
                raise SystemExit("the dirnet row needs the fp row (its RBD teacher): include fp")
            time.sleep(2)
        if failed:
            raise SystemExit(f"failed rows: {', '.join(failed)}")

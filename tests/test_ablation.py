"""The ablation runner end to end on a tiny subset: a complete JSON, table and PNG."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_tiny_ablation_produces_complete_json_and_table(tmp_path):
    md = tmp_path / "BENCH.md"
    md.write_text("# Benchmarks\n\nintro stays\n")
    res, png = tmp_path / "abl.json", tmp_path / "abl.png"
    over = [f"out_dir={tmp_path / 'runs'}", "data.name=fashion_mnist_demo", "data.root=null",
            "data.train_subset=96", "data.test_subset=48", "data.batch_size=48",
            "schedule.epochs=1", "log.progress=false", "log.tensorboard=false", "threads=1"]
    cmd = [sys.executable, str(ROOT / "benchmarks/accuracy.py"), "run", "--jobs", "2", "--results", str(res),
           "--markdown", str(md), "--png", str(png), "--dataset", "fmnist-tiny", *over]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    data = json.loads(res.read_text())
    names = [row["name"] for row in data["rows"]]
    assert names == ["fp", "bnn", "xnor", "bireal", "irnet", "reactnet", "imb", "imb+dte", "dirnet"]
    assert data["epochs"] == 1 and data["arch"] == "resnet20" and data["dataset"] == "fmnist-tiny"
    for row in data["rows"]:
        assert 0 <= row["top1"] <= 100 and row["finished"] and row["command"].startswith("dirnet train")
    assert "distill.teacher=" in data["rows"][-1]["command"]
    text = md.read_text()
    assert "intro stays" in text and text.count("| dirnet |") == 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run finds everything finished and trains nothing
    r2 = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0 and r2.stdout.count("finished already") == 9, r2.stdout

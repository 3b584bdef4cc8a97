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
    cmd = [sys.executable, str(ROOT / "benchmarks/studies/accuracy.py"), "run", "--jobs", "2", "--results", str(res),
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


def _load_accuracy():
    import importlib.util

    spec = importlib.util.spec_from_file_location("accuracy", ROOT / "benchmarks/studies/accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_run(run_dir: Path, tops: list[float]) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text("".join(
        json.dumps({"epoch": i, "test_top1": t, "epoch_s": 1.0}) + "\n" for i, t in enumerate(tops)))


def test_second_seed_trains_beside_seed_0_and_keeps_the_seed_0_teacher(tmp_path):
    acc = _load_accuracy()
    extra = [f"out_dir={tmp_path}", "seed=1"]
    cmd = acc.row_command("dirnet", extra)
    assert "name=resnet20_dirnet_c30_s1" in cmd and "seed=1" in cmd
    teacher = [c for c in cmd if c.startswith("distill.teacher=")]
    assert teacher == [f"distill.teacher={tmp_path / 'resnet20_fp_c30'}"]
    assert acc.run_dir_of("imb", extra)[0] == tmp_path / "resnet20_imb_c30_s1"
    assert acc.run_dir_of("imb", [f"out_dir={tmp_path}"])[0] == tmp_path / "resnet20_imb_c30"
    # an explicit name wins over the seed suffix
    assert acc.run_dir_of("imb", [*extra, "name=mine"])[0] == tmp_path / "mine"


def test_table_reports_each_finished_seed_and_their_mean(tmp_path):
    acc = _load_accuracy()
    extra = [f"out_dir={tmp_path}", "schedule.epochs=2"]
    _fake_run(tmp_path / "resnet20_imb_c30", [50.0, 70.0])
    _fake_run(tmp_path / "resnet20_imb_c30_s1", [55.0, 71.0])
    _fake_run(tmp_path / "resnet20_imb_c30_s2", [40.0])  # unfinished: left out of the mean
    _fake_run(tmp_path / "resnet20_bnn_c30", [30.0, 60.0])
    rows = {r["name"]: r for r in acc.read_rows(["bnn", "imb"], extra)}
    assert rows["imb"]["top1"] == 70.0
    assert rows["imb"]["seed_top1"] == {"0": 70.0, "1": 71.0}
    assert rows["imb"]["mean_top1"] == 70.5
    assert "seed_top1" not in rows["bnn"] and "mean_top1" not in rows["bnn"]
    md = tmp_path / "B.md"
    acc.write_table(list(rows.values()), tmp_path / "a.json", md, tmp_path / "a.png", 2, "x")
    assert "s0 70.00, s1 71.00 (**70.50**)" in md.read_text()


def test_dirs_prints_each_rows_run_directory(tmp_path, capsys):
    acc = _load_accuracy()
    assert acc.main(["dirs", "--rows", "imb,dirnet", f"out_dir={tmp_path}", "seed=2"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "resnet20_imb_c30_s2"),
                                               str(tmp_path / "resnet20_dirnet_c30_s2")]

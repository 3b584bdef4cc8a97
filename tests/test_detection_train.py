"""Detection through the training engine: dirnet train on any VOC-format folder, RBD, resume."""
import json
from pathlib import Path

import pytest
import torch

from dirnet.cli import main as cli
from dirnet.detection.toy import make_toy_voc


@pytest.fixture(scope="module")
def voc(tmp_path_factory) -> Path:
    return make_toy_voc(tmp_path_factory.mktemp("voc") / "toy", num_images=24)


def _args(voc: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "model.arch=ssd_resnet20", "model.input_size=64", "model.kwargs.width=8",
            "data.name=voc", f"data.root={voc}", "data.batch_size=6", "data.eval_batch_size=6",
            "schedule.epochs=2", "optim.name=adam", "optim.lr=0.002", "log.progress=false",
            "log.tensorboard=false", f"out_dir={out}", *extra]


def _rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("epoch_s"), r.pop("data_wait_s")
    return rows


@pytest.fixture(scope="module")
def teacher(voc, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert cli(_args(voc, out, "method=fp", "name=fp")) == 0
    return out / "fp"


def test_fp_detector_trains_and_logs_map(teacher, capsys):
    rows = _rows(teacher)
    assert [r["epoch"] for r in rows] == [0, 1]
    for key in ("test_map50", "test_map", "test_map50_voc07", "val_map50", "train_loss"):
        assert key in rows[-1] and 0.0 <= rows[-1][key] <= 100.0 or key == "train_loss", key
    assert "train_top1" not in rows[-1]
    summary = json.loads((teacher / "summary.json").read_text())
    assert summary["test_map50"] == rows[-1]["test_map50"]
    assert (teacher / "checkpoints" / "best.pt").exists()  # picked on val_map50


def test_binary_detector_with_rbd_and_exact_resume(voc, teacher, tmp_path, capsys):
    common = ["method=dirnet", f"distill.teacher={teacher}", "name=bin"]
    assert cli(_args(voc, tmp_path / "a", *common)) == 0
    assert cli(_args(voc, tmp_path / "b", *common, "--stop-epoch", "1")) == 0
    assert cli(_args(voc, tmp_path / "b", *common, "--resume")) == 0
    out = capsys.readouterr().out
    assert "final test mAP@0.5" in out
    a, b = tmp_path / "a" / "bin", tmp_path / "b" / "bin"
    assert _rows(a) == _rows(b) and "train_det" in _rows(a)[0]
    wa = torch.load(a / "checkpoints/last.pt", weights_only=True)["model"]
    wb = torch.load(b / "checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # the prediction convs (head) and the first conv stay full precision, as in BiDet/BiBench
    from dirnet.checkpoint import load_model

    model, _ = load_model(a)
    kinds = {n: type(m).__name__ for n, m in model.named_modules()}
    assert all(v == "Conv2d" for n, v in kinds.items() if n.startswith("head.") and "." in n[5:])
    assert any(v == "BinaryConv2d" for v in kinds.values())


def test_voc_errors_are_one_line(voc, tmp_path, capsys):
    assert cli(_args(voc, tmp_path, "method=fp", "model.input_size=null")) == 2
    assert "model.input_size" in capsys.readouterr().err
    assert cli(_args(tmp_path / "nowhere", tmp_path, "method=fp")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a VOC-format folder" in err

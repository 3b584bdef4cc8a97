"""Detector tools: `dirnet eval` on a detection run, `dirnet detect`, the drawing, and the
BCCD table study's builder (benchmarks/studies/detection.py) on fake and toy runs."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dirnet.cli import main
from dirnet.detection.toy import TOY_CLASSES, make_toy_voc

ROOT = Path(__file__).resolve().parents[1]
FM_CKPT = ROOT / "tests" / "fixtures" / "v0_1" / "dirnet_resnet20w8.pt"  # a classifier
FM_DBNN = ROOT / "tests" / "fixtures" / "v0_1" / "dirnet_resnet20w8.dbnn"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLASSES = sorted(TOY_CLASSES)  # discovered from the annotations: sorted names
RUN_NAME = "ssd_resnet20_fp_bccd"  # the study's fp row, so the table test can use this run


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse
        return int(e.code or 0)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict[str, Path]:
    """A toy VOC folder and a 1-epoch detector trained on it (tests/test_detection_train.py's
    settings), named like the study's fp row."""
    base = tmp_path_factory.mktemp("det_tools")
    voc = make_toy_voc(base / "voc", num_images=24)
    out = base / "runs"
    argv = ["train", "model.arch=ssd_resnet20", "model.input_size=64", "model.kwargs.width=8",
            "data.name=voc", f"data.root={voc}", "data.batch_size=6", "data.eval_batch_size=6",
            "schedule.epochs=1", "optim.name=adam", "optim.lr=0.002", "log.progress=false",
            "log.tensorboard=false", f"out_dir={out}", "method=fp", f"name={RUN_NAME}"]
    assert main(argv) == 0
    return {"voc": voc, "out": out, "run": out / RUN_NAME}


def _last_metrics(run: Path) -> dict:
    return json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])


# --- dirnet eval ---------------------------------------------------------------------------

def test_eval_prints_the_runs_map_line_and_json(toy, capsys):
    run, last = toy["run"], _last_metrics(toy["run"])
    assert main(["eval", str(run)]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(rf"{re.escape(str(run))}  test \(6 images\): mAP@0\.5 \d+\.\d\d  "
                        r"mAP@\[\.5:\.95\] \d+\.\d\d", line), line
    # the trainer's own figures: what metrics.jsonl logged for the final epoch
    assert f"mAP@0.5 {last['test_map50']:.2f}  mAP@[.5:.95] {last['test_map']:.2f}" in line
    assert main(["eval", str(run), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["task"] == "detection" and res["n"] == 6 and res["split"] == "test"
    assert res["map50"] == pytest.approx(last["test_map50"]) and res["map"] == pytest.approx(last["test_map"])
    assert set(res["ap50"]) == set(TOY_CLASSES)
    present = [v for v in res["ap50"].values() if v is not None]
    assert present and all(0 <= v <= 100 for v in present)
    assert np.nanmean(np.array(present)) == pytest.approx(res["map50"])
    assert main(["eval", str(run), "--split", "val"]) == 0
    assert "  val (6 images): mAP@0.5 " in capsys.readouterr().out


def test_eval_detector_errors_are_one_line(toy, tmp_path, capsys):
    from dirnet.deploy import fileformat

    header, tensors = fileformat.read(FM_DBNN)
    header = {**header, "data": {"name": "voc", "root": str(toy["voc"])}}
    fileformat.write(tmp_path / "det.dbnn", header, tensors)
    cases = [(["eval", str(tmp_path / "det.dbnn")], "but no 'detection' entry"),
             (["eval", str(toy["run"]), "--data", "cifar10"], "is a detector"),
             (["eval", str(FM_CKPT), "--data", "voc"], "needs a detector")]
    for argv, text in cases:
        assert run_cli(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("dirnet eval: error: ") and text in err[0], err


# --- dirnet detect -------------------------------------------------------------------------

def test_detect_draws_pngs_and_writes_json(toy, tmp_path, capsys):
    from dirnet.checkpoint import load_model
    from dirnet.evaluate import evaluate_detector

    test_ids = (toy["voc"] / "ImageSets/Main/test.txt").read_text().split()[:2]
    images = [str(toy["voc"] / "JPEGImages" / f"{i}.jpg") for i in test_ids]
    out = tmp_path / "out" / "nested"
    assert main(["detect", str(toy["run"]), *images, "-o", str(out), "--json",
                 "--score-threshold", "0.01"]) == 0
    printed = capsys.readouterr().out
    assert printed.count(" boxes (") == 2 and "detections.json" in printed
    data = json.loads((out / "detections.json").read_text())
    assert data["classes"] == CLASSES and data["input_size"] == 64
    assert data["score_threshold"] == 0.01 and data["iou_threshold"] == 0.45
    model, cfg = load_model(toy["run"])
    ev = evaluate_detector(model, cfg, CLASSES)  # the eval loader's view of the same images
    for k, (img, rec) in enumerate(zip(images, data["images"])):
        png = out / f"{test_ids[k]}.png"
        assert rec["image"] == img and rec["output"] == str(png)
        assert png.read_bytes()[:8] == PNG_MAGIC
        with Image.open(img) as src, Image.open(png) as drawn:
            assert drawn.size == src.size == (rec["width"], rec["height"])
            assert drawn.mode == "RGB"
            changed = np.asarray(drawn).astype(int) - np.asarray(src.convert("RGB")).astype(int)
            assert (np.abs(changed) > 0).any() == bool(rec["boxes"])
        assert len(rec["boxes"]) == len(rec["labels"]) == len(rec["scores"])
        assert all(lab in TOY_CLASSES for lab in rec["labels"])
        assert rec["scores"] == sorted(rec["scores"], reverse=True)
        boxes = np.array(rec["boxes"]).reshape(-1, 4)
        assert (boxes >= 0).all() and (boxes[:, [0, 2]] <= rec["width"]).all() \
            and (boxes[:, [1, 3]] <= rec["height"]).all()
        # the same detections as `dirnet eval` scores, mapped to pixels
        r = ev.evaluator.records[k]
        scale = np.array([rec["width"], rec["height"]] * 2)
        assert len(boxes) == len(r.det_boxes)
        np.testing.assert_allclose(boxes, r.det_boxes * scale, atol=0.02)
        assert rec["labels"] == [CLASSES[i] for i in r.det_labels]
    # a higher threshold keeps fewer boxes, never more
    assert main(["detect", str(toy["run"]), images[0], "-o", str(tmp_path / "hi"), "--json",
                 "--score-threshold", "0.9"]) == 0
    hi = json.loads((tmp_path / "hi" / "detections.json").read_text())["images"][0]
    assert len(hi["boxes"]) <= len(data["images"][0]["boxes"])
    assert all(s > 0.9 for s in hi["scores"])


def test_detect_errors_are_one_line_and_leave_nothing(toy, tmp_path, capsys):
    image = str(toy["voc"] / "JPEGImages" / "toy_00000.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "afile").write_text("x\n")
    cases = [
        ([str(toy["run"]), str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o1")], "no such image"),
        ([str(toy["run"]), str(tmp_path / "broken.jpg"), "-o", str(tmp_path / "o2")], "cannot read image"),
        ([str(FM_CKPT), image, "-o", str(tmp_path / "o3")], "is a classifier"),
        ([str(toy["run"]), image, "-o", str(tmp_path / "afile")], "is a file"),
        ([str(tmp_path / "norun"), image, "-o", str(tmp_path / "o4")], "no checkpoint or run directory"),
    ]
    before = sorted(tmp_path.rglob("*"))
    for argv, text in cases:
        assert run_cli(["detect", *argv]) == 2
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert out == "" and len(lines) == 1 and lines[0].startswith("dirnet detect: error: ")
        assert text in lines[0], lines
    assert sorted(tmp_path.rglob("*")) == before  # no output folder, no file
    assert run_cli(["detect", str(toy["run"]), image]) == 2  # -o is required (argparse)
    assert "usage: dirnet detect" in capsys.readouterr().err


def test_draw_boxes_colours_and_labels():
    from dirnet.detection.draw import class_color, draw_boxes, side_by_side

    assert len({class_color(i) for i in range(25)}) == 25
    img = Image.new("RGB", (200, 100), (128, 128, 128))
    out = draw_boxes(img, [[10, 30, 60, 90], [100, 5, 190, 50]], [0, 2], [0.91, 0.5],
                     class_names=["a", "b", "c"])
    px = np.asarray(out)
    assert out.size == img.size and np.asarray(img).max() == 128  # the input is left alone
    assert tuple(px[60, 10]) == class_color(0) and tuple(px[40, 100]) == class_color(2)
    named = draw_boxes(img, np.zeros((1, 4)) + [5, 5, 50, 50], ["c"], class_names=["a", "b", "c"])
    assert tuple(np.asarray(named)[40, 5]) == class_color(2)
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        draw_boxes(img, np.zeros((2, 4)), [0])
    assert side_by_side([img, out], ["gt", "pred"]).size[0] > 400


def test_pr_curve_integrates_to_voc_ap():
    from dirnet.detection.metrics import ImageRecord, average_precision, pr_curve, voc_ap

    rng = np.random.default_rng(0)

    def boxes(k):
        a = rng.random((k, 2)) * 0.7
        return np.concatenate([a, a + 0.05 + rng.random((k, 2)) * 0.3], 1)

    for _ in range(20):
        records = []
        for _ in range(6):
            n, m = int(rng.integers(0, 5)), int(rng.integers(0, 8))
            gt = boxes(n)
            det = np.concatenate([gt + rng.normal(0, 0.03, gt.shape), boxes(m)])
            records.append(ImageRecord(det, rng.random(len(det)).round(1),  # ties included
                                       rng.integers(0, 3, len(det)), gt, rng.integers(0, 3, n),
                                       rng.random(n) < 0.2))
        ap = voc_ap(records, None, 3)
        for c in range(3):
            recall, precision, scores = pr_curve(records, c)
            assert len(recall) == len(precision) == len(scores)
            assert (np.diff(scores) <= 0).all()
            if np.isnan(ap[c]):
                assert np.isnan(recall).all()
            else:
                assert average_precision(recall, precision) == pytest.approx(ap[c], abs=1e-12)


# --- the table study -----------------------------------------------------------------------

def _study():
    spec = importlib.util.spec_from_file_location("detection_study",
                                                  ROOT / "benchmarks/studies/detection.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_run(run_dir: Path, maps: list[float]) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text("".join(
        json.dumps({"epoch": i, "test_map50": m, "test_map": m / 2, "test_map50_voc07": m,
                    "epoch_s": 2.0}) + "\n" for i, m in enumerate(maps)))


def test_table_on_partial_fake_runs(tmp_path, capsys):
    study = _study()
    runs = tmp_path / "runs"
    _fake_run(runs / "ssd_resnet20_fp_bccd", [50.0, 60.0, 70.0])
    _fake_run(runs / "ssd_resnet20_bnn_bccd", [20.0, 30.0])  # unfinished: 2 of 3 epochs
    _fake_run(runs / "ssd_resnet20_imb+dte_bccd", [40.0, 55.0, 66.0])
    _fake_run(runs / "ssd_resnet20_dirnet_bccd", [40.0, 60.0, 65.0])
    _fake_run(runs / "ssd_resnet20_dirnet_bccd_s1", [40.0, 60.0, 63.0])  # a second seed
    # irnet: no run at all
    md = tmp_path / "BENCH.md"
    md.write_text("# Benchmarks\n\nintro stays\n")
    res = tmp_path / "det.json"
    args = ["table", "--no-pictures", "--results", str(res), "--markdown", str(md),
            f"out_dir={runs}", "schedule.epochs=3"]
    assert study.main(args) == 0
    data = json.loads(res.read_text())
    assert {"dataset", "backbone", "input_size", "epochs", "budget", "rows"} <= set(data)
    assert data["epochs"] == 3 and data["input_size"] == 300 and "batch 16" in data["budget"]
    rows = {r["name"]: r for r in data["rows"]}
    assert list(rows) == ["fp", "bnn", "irnet", "imb+dte", "dirnet"]
    assert rows["fp"]["map50"] == 70.0 and rows["fp"]["map"] == 35.0 and rows["fp"]["finished"]
    assert rows["fp"]["seeds"] == {"0": 70.0} and rows["fp"]["mean_map50"] == 70.0
    assert rows["bnn"]["status"] == "unfinished" and not rows["bnn"]["finished"]
    assert rows["bnn"]["seeds"] == {} and rows["bnn"]["mean_map50"] is None
    assert rows["irnet"]["status"] == "missing" and rows["irnet"]["map50"] is None
    assert rows["dirnet"]["seeds"] == {"0": 65.0, "1": 63.0} and rows["dirnet"]["mean_map50"] == 64.0
    assert "distill.teacher=" in rows["dirnet"]["command"]
    for r in rows.values():
        assert r["command"].startswith("dirnet train --config configs/bccd/ssd_resnet20_")
        assert {"name", "map50", "map", "seeds", "mean_map50", "command", "device", "finished"} <= set(r)
    claims = {c["claim"]: c["status"] for c in data["verdict"]["claims"]}
    assert claims == {"fp > dirnet": "holds", "dirnet > irnet": "open", "irnet > bnn": "open",
                      "dirnet > imb+dte": "fails"}
    text = md.read_text()
    assert "intro stays" in text and "## Binary object detection (BCCD)" in text
    block = text.split("<!-- detection:start -->")[1].split("<!-- detection:end -->")[0]
    assert "fp > dirnet > irnet > bnn" in block and "dirnet > imb+dte" in block
    assert "Not final" in block and "bnn (unfinished, 2/3 epochs)" in block and "irnet (missing" in block
    assert "| irnet | not run |" in block and "2/3 (unfinished)" in block
    assert "s0 65.00, s1 63.00 (**64.00**)" in block
    assert "fp > dirnet holds (70.00 vs 64.00)" in block
    assert "dirnet > imb+dte does not hold (64.00 vs 66.00)" in block
    assert "not decided yet" in block
    # rebuilt in place, once the rows have finished
    _fake_run(runs / "ssd_resnet20_irnet_bccd", [30.0, 40.0, 50.0])
    (runs / "ssd_resnet20_bnn_bccd" / "metrics.jsonl").open("a").write(
        json.dumps({"epoch": 2, "test_map50": 45.0, "test_map": 20.0, "epoch_s": 2.0}) + "\n")
    assert study.main(args) == 0
    text = md.read_text()
    assert text.count("<!-- detection:start -->") == 1 and text.count("## Binary object detection") == 1
    assert "Not final" not in text
    line = json.loads(res.read_text())["verdict"]["line"]
    assert "the ordering fp > dirnet > irnet > bnn holds" in line and "dirnet > imb+dte does not hold" in line
    # `run` trains nothing when every row's summary says it is finished, and rebuilds the table
    for d in runs.iterdir():
        (d / "summary.json").write_text(json.dumps({"epochs_done": 3}))
    assert study.main(["run", "--results", str(res), "--markdown", str(md), "--grid",
                       str(tmp_path / "g.png"), "--pr", str(tmp_path / "p.png"), *args[6:]]) == 0
    assert capsys.readouterr().out.count("finished already") == 5
    assert not (tmp_path / "g.png").exists()  # no checkpoints: no pictures


def test_table_pictures_from_a_toy_run(toy, tmp_path):
    study = _study()
    md, res = tmp_path / "BENCH.md", tmp_path / "det.json"
    grid, pr = tmp_path / "grid.png", tmp_path / "pr.png"
    assert study.main(["table", "--results", str(res), "--markdown", str(md), "--grid", str(grid),
                       "--pr", str(pr), "--grid-images", "2", f"out_dir={toy['out']}",
                       "schedule.epochs=1"]) == 0
    assert grid.read_bytes()[:8] == PNG_MAGIC and pr.read_bytes()[:8] == PNG_MAGIC
    with Image.open(grid) as g:
        assert g.size[0] > g.size[1]  # one row (fp): 2 images x (ground truth, prediction)
    data = json.loads(res.read_text())
    assert data["pictures"] == {"grid": str(grid), "pr": str(pr)}
    assert data["rows"][0]["finished"] and [r["status"] for r in data["rows"][1:]] == ["missing"] * 4


def test_row_commands_seed_and_teacher(tmp_path):
    study = _study()
    cmd = study.row_command("dirnet", [f"out_dir={tmp_path}", "seed=1", "threads=1"])
    assert cmd[:4] == ["dirnet", "train", "--config", "configs/bccd/ssd_resnet20_dirnet.yaml"]
    assert "name=ssd_resnet20_dirnet_bccd_s1" in cmd
    assert f"distill.teacher={tmp_path / 'ssd_resnet20_fp_bccd'}" in cmd  # seed 0's fp
    assert study.run_dir_of("imb+dte", [f"out_dir={tmp_path}", "seed=2"])[0] == \
        tmp_path / "ssd_resnet20_imb+dte_bccd_s2"

"""Detectors on the native engine (dirnet.deploy.detector): export, load, outputs and decoded
detections against PyTorch on every kernel path; `dirnet export` / `eval` / `detect` on a .dbnn."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import dirnet
from dirnet import detection as det
from dirnet.cli import main
from dirnet.deploy import fileformat
from dirnet.deploy._native import kernels
from dirnet.deploy.detector import (
    ANCHORS_TENSOR,
    SSDMaps,
    assemble,
    export_detector,
    load_detector,
)
from dirnet.detection.toy import make_toy_voc
from dirnet.models import create

PATHS = ("avx512", "avx2", "neon_dot", "neon", "portable", "reference")
ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER_DBNN = ROOT / "tests" / "fixtures" / "v0_1" / "dirnet_resnet20w8.dbnn"


def _detector(method: str | None, seed: int = 0) -> torch.nn.Module:
    """A small seeded ssd_resnet20 at 64 px whose BN statistics and prediction convs are
    randomised (a fresh head predicts near-constant outputs, which would test little)."""
    torch.manual_seed(seed)
    m = create("ssd_resnet20", num_classes=3, input_size=64, width=8)
    if method is not None:
        m = dirnet.binarize(m, method, keep=m.binarize_keep)
    g = torch.Generator().manual_seed(seed + 1)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            n = mod.num_features
            mod.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            mod.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            mod.bias.data.copy_(torch.rand(n, generator=g) * 0.6 - 0.3)
    for conv in [*m.head.loc, *m.head.conf]:
        conv.weight.data.copy_(torch.randn(conv.weight.shape, generator=g) * 0.3)
        conv.bias.data.copy_(torch.randn(conv.bias.shape, generator=g) * 0.3)
    return m.eval()


@pytest.fixture(scope="module", params=["fp", "dirnet"])
def exported(request, tmp_path_factory):
    model = _detector(None if request.param == "fp" else request.param)
    path = export_detector(model, tmp_path_factory.mktemp("det") / f"{request.param}.dbnn",
                           precision="fp32", class_names=["a", "b", "c"], arch="ssd_resnet20")
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ref = model(x)
    return {"model": model, "path": path, "x": x, "ref": ref, "method": request.param}


def test_maps_reassemble_to_the_models_outputs(exported):
    model, x = exported["model"], exported["x"]
    with torch.no_grad():
        maps = SSDMaps(model)(x)
    assert list(maps) == [f"{k}{i}" for i in range(6) for k in ("loc", "conf")]
    loc, conf = assemble(maps, 6, model.num_classes)
    assert torch.equal(loc, exported["ref"][0]) and torch.equal(conf, exported["ref"][1])


def test_header_records_what_decoding_needs(exported):
    model = exported["model"]
    header, tensors = fileformat.read(exported["path"])
    entry = header["detection"]
    assert header["architecture"] == "SSD" and header["output_structure"] == "dict"
    assert header["class_names"] == ["a", "b", "c"] and header["input"]["size_hint"] == [3, 64, 64]
    assert entry["num_classes"] == 3 and entry["input_size"] == 64 and entry["levels"] == 6
    assert entry["num_anchors"] == model.num_anchors and entry["variances"] == list(det.VARIANCES)
    assert entry["anchors"]["feature_sizes"] == list(model.feature_sizes)
    assert entry["normalize"]["mean"] == list(det.IMAGENET_MEAN)
    assert np.array_equal(tensors[ANCHORS_TENSOR], model.anchors.numpy())
    rebuilt = det.default_boxes(entry["anchors"]["feature_sizes"], entry["anchors"]["aspect_ratios"],
                                entry["anchors"]["scales"])
    assert torch.equal(rebuilt, model.anchors)
    # prediction convs stay full precision, binary layers are packed
    ops = {op["name"]: op["op"] for op in header["graph"]}
    assert all(ops[f"head.{k}.{i}"] == "conv2d" for k in ("loc", "conf") for i in range(6))
    assert ("bconv2d" in ops.values()) == (exported["method"] != "fp")


@pytest.mark.parametrize("path", PATHS)
def test_native_outputs_and_detections_match_pytorch(exported, path):
    if path not in kernels().paths():
        pytest.skip(f"this CPU has no {path} kernels")
    native = load_detector(exported["path"], threads=2, kernel=path)
    assert native.runtime.kernel_path == path
    assert torch.equal(native.anchors, exported["model"].anchors)
    loc, conf = native(exported["x"])
    ref_loc, ref_conf = exported["ref"]
    assert loc.shape == ref_loc.shape and conf.shape == ref_conf.shape
    for got, ref in ((loc, ref_loc), (conf, ref_conf)):
        assert float((got - ref).abs().max()) <= 1e-4 * max(1.0, float(ref.abs().max()))
    ours = det.postprocess(loc, conf, native.anchors)
    theirs = det.postprocess(ref_loc, ref_conf, exported["model"].anchors)
    for a, b in zip(ours, theirs):
        _same_detections(a, b)


def _same_detections(a: dict, b: dict) -> None:
    """The same detections up to float tolerance: logits within ~1e-5 relative (the portable
    fp32 conv sums in another order) move a softmax score by at most half that and a box by
    a few 1e-6; two boxes of one class with scores that close may swap places in the list,
    so each detection is matched to the other side's nearest one of the same class."""
    assert len(a["scores"]) == len(b["scores"]) > 0
    assert torch.equal(a["labels"].sort().values, b["labels"].sort().values)
    dist = (a["boxes"][:, None] - b["boxes"][None]).abs().amax(-1)
    dist = dist + 1e9 * (a["labels"][:, None] != b["labels"][None])
    dist = dist + (a["scores"][:, None] - b["scores"][None]).abs()
    nearest = dist.argmin(1)
    assert nearest.unique().numel() == len(nearest)  # one to one
    assert float(dist.min(1).values.max()) <= 3e-4


def test_load_detector_refuses_classifiers_and_mismatched_anchors(exported, tmp_path):
    with pytest.raises(ValueError, match="not a detector file"):
        load_detector(CLASSIFIER_DBNN)
    header, tensors = fileformat.read(exported["path"])
    header.pop(fileformat.CHECKSUM_KEY)
    tensors[ANCHORS_TENSOR] = tensors[ANCHORS_TENSOR][:-1]
    fileformat.write(tmp_path / "bad.dbnn", header, tensors)
    with pytest.raises(fileformat.FormatError, match="anchors"):
        load_detector(tmp_path / "bad.dbnn")


# --- the command line on a toy run -----------------------------------------------------------

@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A toy VOC folder and a 1-epoch detector trained on it (tests/test_detection_tools.py's
    settings), exported to an fp32 .dbnn with `dirnet export`."""
    base = tmp_path_factory.mktemp("det_cli")
    voc = make_toy_voc(base / "voc", num_images=24)
    argv = ["train", "model.arch=ssd_resnet20", "model.input_size=64", "model.kwargs.width=8",
            "data.name=voc", f"data.root={voc}", "data.batch_size=6", "data.eval_batch_size=6",
            "schedule.epochs=1", "optim.name=adam", "optim.lr=0.002", "log.progress=false",
            "log.tensorboard=false", f"out_dir={base / 'runs'}", "method=fp", "name=toy_ssd"]
    assert main(argv) == 0
    run = base / "runs" / "toy_ssd"
    dbnn = base / "toy_ssd.dbnn"
    assert main(["export", str(run), "-o", str(dbnn), "--precision", "fp32"]) == 0
    return {"voc": voc, "run": run, "dbnn": dbnn}


def test_eval_of_the_file_equals_eval_of_the_run(toy_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(toy_run["run"]), "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert main(["eval", str(toy_run["dbnn"]), "--json"]) == 0
    theirs = json.loads(capsys.readouterr().out)
    assert theirs["task"] == "detection" and theirs["n"] == ours["n"] == 6
    for key in ("map50", "map", "map50_voc07"):
        assert theirs[key] == pytest.approx(ours[key], abs=1e-6)
    assert main(["eval", str(toy_run["dbnn"])]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(rf"{re.escape(str(toy_run['dbnn']))}  test \(6 images\): mAP@0\.5 "
                        r"\d+\.\d\d  mAP@\[\.5:\.95\] \d+\.\d\d", line), line
    assert f"mAP@0.5 {ours['map50']:.2f}  mAP@[.5:.95] {ours['map']:.2f}" in line
    assert main(["eval", str(toy_run["dbnn"]), "--split", "val"]) == 0
    assert "  val (6 images): mAP@0.5 " in capsys.readouterr().out


def test_detect_draws_the_files_boxes_as_the_runs(toy_run, tmp_path, capsys):
    ids = (toy_run["voc"] / "ImageSets/Main/test.txt").read_text().split()[:2]
    images = [str(toy_run["voc"] / "JPEGImages" / f"{i}.jpg") for i in ids]
    out = {}
    for kind in ("run", "dbnn"):
        folder = tmp_path / kind
        assert main(["detect", str(toy_run[kind]), *images, "-o", str(folder), "--json",
                     "--score-threshold", "0.01"]) == 0
        assert capsys.readouterr().out.count(" boxes (") == 2
        assert all((folder / f"{i}.png").is_file() for i in ids)
        out[kind] = json.loads((folder / "detections.json").read_text())
    assert out["dbnn"]["classes"] == out["run"]["classes"] and out["dbnn"]["input_size"] == 64
    for a, b in zip(out["dbnn"]["images"], out["run"]["images"]):
        assert a["labels"] == b["labels"] and len(a["boxes"]) == len(b["boxes"])
        np.testing.assert_allclose(np.array(a["boxes"]).reshape(-1, 4),
                                   np.array(b["boxes"]).reshape(-1, 4), atol=0.02)
        np.testing.assert_allclose(a["scores"], b["scores"], atol=2e-4)


def test_detect_refuses_a_classifier_file(tmp_path, capsys, toy_run):
    image = str(toy_run["voc"] / "JPEGImages" / "toy_00000.jpg")
    assert main(["detect", str(CLASSIFIER_DBNN), image, "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a classifier file, not a detector" in err[0], err
    assert not (tmp_path / "o").exists()

"""dirnet.analysis: entropy, flips, diagnostics, run reading, plots and `dirnet analyze`."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import matplotlib.image
import pytest
import torch
from torch import nn

import dirnet
import dirnet.analysis as A
from dirnet.analysis import plots
from dirnet.analysis.cli import analyze_main
from dirnet.nn import BinaryConv2d, BinaryLinear

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small models: one thread avoids oversubscribing the shared cores (much faster here)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def assert_png(path) -> None:
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE, path
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50


def one_conv(method: str, weight: torch.Tensor) -> nn.Module:
    conv = dirnet.methods.get(method).conv2d(weight.shape[1], weight.shape[0], weight.shape[2], padding=1)
    with torch.no_grad():
        conv.weight.copy_(weight)
    return nn.Sequential(conv)


@pytest.fixture(scope="module")
def resnet20_fp():
    torch.manual_seed(0)
    return dirnet.models.create("resnet20")


# -- entropy -------------------------------------------------------------------------------------

def test_bernoulli_entropy_values():
    h = A.bernoulli_entropy(torch.tensor([0.0, 0.5, 1.0, 0.11]))
    assert h[:3].tolist() == [0.0, 1.0, 0.0]
    assert h[3] == pytest.approx(0.4999, abs=1e-3)


def test_balanced_random_weights_carry_about_one_bit():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(32, 16, 3, 3, generator=g)
    for method in ("bnn", "irnet", "dirnet"):
        ent = A.weight_entropy(one_conv(method, w))
        assert list(ent) == ["0"]
        assert ent["0"] == pytest.approx(1.0, abs=0.02), method


def test_constant_sign_filters_zero_bits_for_sign_and_imb_restores_them():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(32, 16, 3, 3, generator=g).abs() + 1e-3  # every weight positive
    assert A.weight_entropy(one_conv("bnn", w))["0"] == 0.0
    assert A.weight_entropy(one_conv("xnor", w))["0"] == 0.0  # a scale does not help
    imb = A.weight_entropy(one_conv("dirnet", w))["0"]
    assert imb > 0.95  # balancing: about half the signs become -1


def test_weight_entropy_on_models_lists_binary_layers_in_order(resnet20_fp):
    model = dirnet.binarize(resnet20_fp, "irnet")
    ent = A.weight_entropy(model)
    names = [n for n, m in model.named_modules() if isinstance(m, (BinaryConv2d, BinaryLinear))]
    assert list(ent) == names and len(names) == 18
    assert all(0.95 < v <= 1.0 for v in ent.values())
    assert A.weight_entropy(resnet20_fp) == {}


# -- flips ---------------------------------------------------------------------------------------

def test_flip_ratio_of_unchanged_model_is_zero_and_counts_flips(resnet20_fp):
    model = dirnet.binarize(resnet20_fp, "bnn")
    a = A.weight_signs(model)
    assert A.flip_ratio(a, A.weight_signs(model)) == 0.0
    assert all(v == 0.0 for v in A.flip_ratios(a, A.weight_signs(model)).values())
    with torch.no_grad():
        model.layer1[0].conv1.weight[0].neg_()  # flip every sign of one of 16 filters
    per_layer = A.flip_ratios(a, A.weight_signs(model))
    assert per_layer["layer1.0.conv1"] == pytest.approx(1 / 16)
    assert A.flip_ratio(a, A.weight_signs(model)) == pytest.approx(1 / 16 / 18)


def test_flip_ratio_tensors_and_errors():
    x = torch.tensor([1.0, -1.0, 0.0, 2.0])
    assert A.flip_ratio(x, torch.tensor([1.0, 1.0, 1.0, -1.0])) == 0.5  # sign(0) = +1
    with pytest.raises(ValueError, match="shape"):
        A.flip_ratio(x, torch.ones(3))
    with pytest.raises(ValueError, match="different layers"):
        A.flip_ratios({"a": x}, {"b": x})
    with pytest.raises(TypeError):
        A.flip_ratio([1, 2], [1, 2])


# -- other diagnostics ---------------------------------------------------------------------------

def test_scale_exponents_and_quantization_error():
    g = torch.Generator().manual_seed(2)
    w = torch.randn(64, 64, 3, 3, generator=g) * 0.05
    exps = A.scale_exponents(one_conv("irnet", w))["0"]
    assert torch.equal(exps, exps.round())  # IMB: powers of two
    xnor = A.scale_exponents(one_conv("xnor", w))["0"]
    assert not torch.equal(xnor, xnor.round())
    # Gaussian weights with the optimal scale: relative error 1 - 2/pi
    err = A.quantization_error(one_conv("xnor", w))["0"]
    assert err == pytest.approx(1 - 2 / math.pi, abs=0.01)
    assert A.quantization_error(one_conv("bnn", w), optimal_scale=True)["0"] == pytest.approx(
        1 - 2 / math.pi, abs=0.01)
    assert A.quantization_error(one_conv("bnn", w))["0"] > 100  # scale 1 on weights ~0.05


def test_weight_updating_capability_follows_the_schedule():
    g = torch.Generator().manual_seed(3)
    model = one_conv("irnet", torch.randn(16, 16, 3, 3, generator=g))
    dirnet.set_progress(model, 0.0)
    nz0, above0 = A.weight_updating_capability(model)["0"]
    assert nz0 == 1.0 and above0 == 1.0  # stage 1: nearly identity, everything updates
    dirnet.set_progress(model, 1.0)
    nz1, above1 = A.weight_updating_capability(model)["0"]
    assert above1 < 0.6 and nz1 >= above1  # stage 2: sharp, only values near 0 update


def test_diagnose_with_a_batch_leaves_the_model_untouched(resnet20_fp):
    model = dirnet.binarize(resnet20_fp, "dirnet")
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g)
    d = A.diagnose(model, x, y)
    assert [r["name"] for r in d.rows] == list(A.weight_entropy(model))
    for r in d.rows:
        assert 0.0 <= r["act_pos_fraction"] <= 1.0 and 0.0 <= r["act_entropy"] <= 1.0
        assert r["grad_mean_abs"] > 0 and r["scale_power_of_two"]
        assert 0.0 <= r["act_update_above"] <= r["act_update_nonzero"] <= 1.0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert all(m.training for m in model.modules())
    text = str(d)
    assert "layer3.2.conv2" in text and "W entropy" in text and "train mode" in text
    assert json.loads(d.to_json())["layers"][0]["name"] == "layer1.0.conv1"
    ev = A.diagnose(model, x, mode="eval")
    assert "eval mode" in ev.batch_note
    with pytest.raises(ValueError, match="mode"):
        A.diagnose(model, x, mode="test")
    with pytest.raises(ValueError, match="at least 2"):
        A.diagnose(model, x[:1])


def test_diagnose_without_batch_and_without_binary_layers(resnet20_fp):
    d = A.diagnose(dirnet.binarize(resnet20_fp, "bnn"))
    assert "act_pos_fraction" not in d.rows[0] and "skipped" in d.batch_note
    assert "A +1 frac" not in str(d)
    with pytest.raises(ValueError, match="no binary layers"):
        A.diagnose(resnet20_fp)
    with pytest.raises(TypeError, match="floating-point"):
        A.diagnose(dirnet.binarize(resnet20_fp, "bnn"), torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


# -- runs ----------------------------------------------------------------------------------------

def write_run(root, name: str, epochs: int = 6, flips: bool = True, layers=("a", "b")):
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    rows = []
    for e in range(epochs):
        row = {"epoch": e, "train_loss": 2.0 / (e + 1), "train_top1": 30.0 + 5 * e,
               "test_loss": 2.2 / (e + 1), "test_top1": 28.0 + 5 * e, "test_top5": 80.0 + e,
               "lr": 0.1 * math.cos(math.pi * e / (2 * epochs)), "epoch_s": 1.5, "val_top1": 29.0 + 5 * e}
        if flips:
            row["flip"] = {k: 0.1 / (e + 1) / (i + 1) for i, k in enumerate(layers)}
            row["flip_ratio"] = sum(row["flip"].values()) / len(layers)
        rows.append(row)
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_read_metrics_and_errors(tmp_path):
    run = write_run(tmp_path, "r")
    rows = A.read_metrics(run)
    assert len(rows) == 6 and rows[2]["epoch"] == 2 and "flip" in rows[0]
    assert A.read_metrics(run / "metrics.jsonl") == rows
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"epoch": 0}\n\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:3"):
        A.read_metrics(bad)
    bad.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match="one JSON object"):
        A.read_metrics(bad)
    assert A.read_metrics(tmp_path / "nowhere") == []  # a run that has written no epoch yet
    with pytest.raises(FileNotFoundError, match="metrics"):
        A.read_metrics(tmp_path / "nowhere", missing_ok=False)
    with pytest.raises(FileNotFoundError, match="neither a checkpoint"):
        A.open_run(tmp_path / "r" / "checkpoints")


# -- plots ---------------------------------------------------------------------------------------

def test_plots_are_valid_pngs(tmp_path, resnet20_fp):
    m1, m2 = A.read_metrics(write_run(tmp_path, "r1")), A.read_metrics(write_run(tmp_path, "r2", 4))
    model = dirnet.binarize(resnet20_fp, "irnet")
    ent = A.weight_entropy(model)
    files = [
        plots.plot_training_curves(m1, tmp_path / "out" / "curves.png", title="r1"),
        plots.plot_flip_ratio(m1, tmp_path / "flip.png"),
        plots.plot_flip_ratio({"r1": m1, "r2": m2}, tmp_path / "flip2.png"),
        plots.plot_layer_entropy(ent, tmp_path / "ent.png"),
        plots.plot_layer_entropy({"irnet": ent, "bnn": {k: 0.2 for k in ent}}, tmp_path / "e2.png"),
        plots.plot_estimator_shapes(tmp_path / "est.png"),
        plots.plot_weight_histograms(model, tmp_path / "hist.png", max_layers=3),
    ]
    for f in files:
        assert_png(f)
    with pytest.raises(ValueError, match="flip_ratio"):
        plots.plot_flip_ratio([{"epoch": 0}], tmp_path / "x.png")
    with pytest.raises(ValueError, match="no epochs"):
        plots.plot_training_curves([], tmp_path / "x.png")


# -- analyze -------------------------------------------------------------------------------------

def test_analyze_two_runs_with_checkpoints(tmp_path, monkeypatch, resnet20_fp):
    """Two runs (IMB vs plain sign); the loader is replaced by models built here."""
    import dirnet.analysis.analyze_run as run_mod

    layers = [n for n, m in dirnet.binarize(resnet20_fp, "bnn").named_modules()
              if isinstance(m, BinaryConv2d)]
    r1 = write_run(tmp_path, "imb_run", layers=layers)
    r2 = write_run(tmp_path, "bnn_run", epochs=3, layers=layers)
    for r in (r1, r2):
        (r / "checkpoints" / "last.pt").write_bytes(b"stand-in")
    (r1 / "config.yaml").write_text("data:\n  name: fashion_mnist_demo\n")
    models = {"imb_run": dirnet.binarize(dirnet.models.create("resnet20", in_channels=1), "irnet"),
              "bnn_run": dirnet.binarize(resnet20_fp, "bnn")}
    monkeypatch.setattr(run_mod, "_load_model",
                        lambda ckpt: (models[ckpt.parent.parent.name], {}))
    res = A.analyze(r1, r2, out=tmp_path / "out", batch_size=16)
    names = sorted(p.name for p in res.files)
    for expected in ("curves.png", "curves_2.png", "flip_ratio.png", "flip_ratio_2.png",
                     "entropy.png", "entropy_2.png", "weight_hist.png", "weight_hist_2.png",
                     "estimators.png", "compare_entropy.png", "compare_flip_ratio.png",
                     "diagnostics.json", "diagnostics_2.txt", "compare_entropy.txt"):
        assert expected in names
    for f in res.files:
        assert f.is_file()
        if f.suffix == ".png":
            assert_png(f)
    assert "imb_run" in res.entropy_table and "bnn_run" in res.entropy_table
    assert "layer3.2.conv2" in res.entropy_table
    assert "fashion_mnist_demo" in res.diagnostics["imb_run"].batch_note
    assert "random" in res.diagnostics["bnn_run"].batch_note  # no data configured: noted
    saved = json.loads((tmp_path / "out" / "diagnostics.json").read_text())
    assert len(saved["layers"]) == 18 and saved["layers"][0]["method"] == "irnet"


def test_analyze_cli_on_metrics_only_run(tmp_path, capsys):
    run = write_run(tmp_path, "r", flips=False)
    assert analyze_main([str(run)]) == 0
    out = capsys.readouterr().out
    assert "no checkpoint" in out and "no flip_ratio" in out
    assert (run / "analysis" / "curves.png").is_file()
    assert_png(run / "analysis" / "estimators.png")
    assert analyze_main([str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_training_side_never_imports_analysis():
    code = ("import sys, dirnet, dirnet.train, dirnet.models, dirnet.data, dirnet.nn, "
            "dirnet.parts\nassert 'dirnet.analysis' not in sys.modules, 'imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

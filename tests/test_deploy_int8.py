"""int8 export (``precision="int8"``): file ops qconv2d / qlinear, calibration,
the kernel paths agreeing bit for bit, the scheme against a fake-quantized
PyTorch model, refusals, and ``dirnet export --precision int8``.
(The kernels' own bit-exact checks per variant are C++: csrc/tests/test_qconv2d.cpp.)"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import dirnet
from dirnet.deploy import export, load
from dirnet.deploy.calibrate import calibrate, quantize_weight

FM_CKPT = Path(__file__).resolve().parent / "fixtures" / "v0_1" / "dirnet_resnet20w8.pt"


def _paths() -> list[str]:
    import dirnet._kernels as k

    return list(k.paths())


class Small(nn.Module):
    """Stem 7x7/2 on 3 channels, a binary 3x3 conv, a 1x1/2 downsample, the classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 7, 2, 3, bias=False)
        self.bn0 = nn.BatchNorm2d(16)
        self.body = nn.Conv2d(16, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.down = nn.Conv2d(16, 24, 1, 2, 0, bias=True)
        self.fc = nn.Linear(24, 7)

    def forward(self, x):
        x = torch.relu(self.bn0(self.stem(x)))
        x = x + nn.functional.hardtanh(self.bn1(self.body(x)))
        x = self.down(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _model(binary: bool) -> nn.Module:
    torch.manual_seed(0)
    m = Small()
    for bn in (m.bn0, m.bn1):
        bn.running_mean.normal_(0, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.normal_(1, 0.2)
    if binary:
        m = dirnet.binarize(m, "dirnet")
    return m.eval()


def _calib(n=3, size=19):
    g = torch.Generator().manual_seed(1)
    return [torch.randn(4, 3, size, size, generator=g) for _ in range(n)]


def _fake_quant_logits(m: nn.Module, batches, x: torch.Tensor) -> np.ndarray:
    """The scheme in PyTorch fp32: each quantized layer sees s_x * clamp(round(x / s_x)) and
    s_w * w_q (same scales as the export), so only summation order differs from the native int8."""
    scales, _ = calibrate(m, batches)
    saved = {}
    hooks = []
    for mod, s in scales.items():
        q, sw = quantize_weight(mod.weight)
        saved[mod] = mod.weight.data.clone()
        shape = (-1,) + (1,) * (mod.weight.dim() - 1)
        mod.weight.data = torch.from_numpy(q).float() * torch.from_numpy(sw).reshape(shape)
        r = np.float32(1.0) / np.float32(s)

        def pre(module, args, s=s, r=r):
            return (torch.clamp(torch.round(args[0] * float(r)), -127, 127) * s,)
        hooks.append(mod.register_forward_pre_hook(pre))
    try:
        with torch.no_grad():
            return m(x).numpy()
    finally:
        for h in hooks:
            h.remove()
        for mod, w in saved.items():
            mod.weight.data = w


@pytest.mark.parametrize("binary", [False, True])
def test_int8_export_round_trip(tmp_path, binary):
    m = _model(binary)
    batches = _calib()
    path = export(m, tmp_path / "m.dbnn", precision="int8", calibration=batches, input_size=(3, 19, 19),
                  quantize_stem=True)
    x = torch.randn(8, 3, 19, 19, generator=torch.Generator().manual_seed(2))
    outs = {k: np.asarray(load(path, kernel=k, threads=2)(x)) for k in _paths()}
    rt = load(path)
    assert rt.precision == "int8"
    graph = rt.header["graph"]
    ops = [op["op"] for op in graph]
    assert ops.count("qconv2d") == (2 if binary else 3) and ops.count("qlinear") == 1
    assert ("bconv2d" in ops) == binary and "conv2d" not in ops and "linear" not in ops
    q = rt.header["quantization"]
    assert q["estimator"] == "mse" and q["batches"] == 3 and q["images"] == 12
    from dirnet.deploy import fileformat

    _, tensors = fileformat.read(path)
    assert tensors["stem.weight"].dtype == np.int8 and tensors["stem.weight"].shape == (16, 3, 7, 7)
    assert np.abs(tensors["stem.weight"].astype(int)).max() == 127
    assert tensors["fc.weight_scale"].shape == (7,) and tensors["fc.input_scale"].dtype == np.float32
    ref = outs["reference"]
    for k, v in outs.items():  # every kernel path, bit for bit
        assert v.tobytes() == ref.tobytes(), k
    if not binary:  # a binary body amplifies float rounding into sign flips: compare the fp model only
        # Float summation order differs, so an x_q next to a rounding boundary may move by one
        # step in a later layer: most logits agree to float rounding, all within a few steps, and
        # the int8 file is far closer to the fake-quantized model than to the fp32 one.
        fq = _fake_quant_logits(m, batches, x)
        with torch.no_grad():
            fp = m(x).numpy()
        scale = np.abs(fq).max()
        assert np.mean(np.abs(ref - fq) <= 1e-5 * scale) >= 0.6
        assert np.abs(ref - fq).max() <= 0.02 * scale
        assert np.median(np.abs(ref - fq)) * 10 < np.median(np.abs(ref - fp))


def test_int8_needs_calibration(tmp_path):
    m = _model(False)
    with pytest.raises(ValueError, match="calibration"):
        export(m, tmp_path / "m.dbnn", precision="int8")
    with pytest.raises(ValueError, match="no batches"):
        export(m, tmp_path / "m.dbnn", precision="int8", calibration=[])
    with pytest.raises(ValueError, match="only used by precision='int8'"):
        export(m, tmp_path / "m.dbnn", precision="fp16", calibration=_calib())
    with pytest.raises(ValueError, match="estimator"):
        export(m, tmp_path / "m.dbnn", precision="int8", calibration=_calib(), calibration_estimator="p99")
    assert not (tmp_path / "m.dbnn").exists()


def test_weight_quantization_is_per_channel_symmetric():
    w = torch.tensor([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [3.0, 1.5, -0.01]])
    q, s = quantize_weight(w)
    assert s.dtype == np.float32 and list(s) == pytest.approx([1 / 127, 1.0, 3 / 127])
    assert q.tolist() == [[64, -127, 32], [0, 0, 0], [127, 64, 0]]  # 63.5 -> 64 (half to even), 0.42 -> 0


def test_cli_export_int8(tmp_path, capsys):
    from dirnet.cli import main

    out = tmp_path / "fm8.dbnn"
    with pytest.raises(SystemExit) as e:
        main(["export", str(FM_CKPT), "-o", str(out), "--precision", "int8"])
    assert e.value.code == 2 and "--calibrate" in capsys.readouterr().err
    assert main(["export", str(FM_CKPT), "-o", str(out), "--precision", "int8", "--calibrate", str(FM_CKPT),
                 "--calib-batches", "2"]) == 0
    assert "calibrated on 128 training images" in capsys.readouterr().out
    rt = load(out)
    assert rt.header["quantization"]["images"] == 128 and rt.header["data"]["name"] == "fashion_mnist_demo"
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    ref = np.asarray(load(out, kernel="reference")(x))
    for k in _paths():
        assert np.asarray(load(out, kernel=k)(x)).tobytes() == ref.tobytes(), k
    assert main(["export", str(FM_CKPT), "-o", str(out), "--precision", "int8", "--calibrate", str(FM_CKPT),
                 "--calib-batches", "1", "--int8-stem", "fp32"]) == 0
    assert "stem fp32" in capsys.readouterr().out
    assert {op["name"]: op["op"] for op in load(out).header["graph"]}["conv1"] == "conv2d"
    with pytest.raises(SystemExit) as e:
        main(["export", str(FM_CKPT), "-o", str(out), "--int8-stem", "fp32"])
    assert e.value.code == 2 and "--int8-stem" in capsys.readouterr().err


@pytest.mark.parametrize("edit, msg", [
    (lambda t: t["stem.input_scale"].__setitem__(0, 0.0), "input_scale must be finite and positive"),
    (lambda t: t["fc.weight_scale"].__setitem__(3, np.inf), "weight_scale must be finite and positive"),
    (lambda t: t["down.weight"].__setitem__((0, 0, 0, 0), -128), "int8 weight -128"),
])
def test_malformed_int8_files_are_refused(tmp_path, edit, msg):
    from dirnet.deploy import FormatError, fileformat

    path = export(_model(False), tmp_path / "m.dbnn", precision="int8", calibration=_calib(1),
                  input_size=(3, 19, 19), quantize_stem=True)
    header, tensors = fileformat.read(path)
    tensors = {k: v.copy() for k, v in tensors.items()}
    edit(tensors)
    header.pop(fileformat.CHECKSUM_KEY)
    fileformat.write(path, header, tensors)
    with pytest.raises(FormatError, match=msg):
        load(path)


def test_bench_int8_times_the_fp16_export_beside_it(tmp_path):
    from dirnet.deploy import bench

    report, _ = bench.run(["--arch", "resnet20", "--input-size", "3", "16", "16", "--batch", "1", "--threads", "1",
                           "--reps", "1", "--warmup", "0", "--budget", "0.5", "--precision", "int8",
                           "--kernels", "reference", "--out", str(tmp_path / "r.json")])
    assert report["precision"] == "int8" and "random normal inputs" in report["calibration"]
    assert report["kernels_timed"] == ["reference", "reference_fp16"]
    row = report["end_to_end"][0]
    assert set(row["ms"]) >= {"torch_fp32", "native_reference", "native_reference_fp16"}
    stem = next(r for r in report["per_layer"] if r["op"].startswith("conv1"))
    assert set(stem["native_ms"]) == {"reference", "reference_fp16"}


def test_bench_int8_stem_option_reaches_the_export(tmp_path, monkeypatch):
    from dirnet.deploy import bench, exporter

    seen = []
    real = exporter.export

    def spy(*args, **kw):
        seen.append((kw.get("precision"), kw.get("quantize_stem")))
        return real(*args, **kw)

    monkeypatch.setattr(exporter, "export", spy)
    report, _ = bench.run(["--arch", "resnet20", "--input-size", "3", "16", "16", "--batch", "1", "--threads", "1",
                           "--reps", "1", "--warmup", "0", "--budget", "0.5", "--precision", "int8",
                           "--int8-stem", "fp32", "--no-per-layer", "--kernels", "reference",
                           "--out", str(tmp_path / "r.json")])
    assert ("int8", False) in seen and "stem fp32" in report["calibration"]


class Signed(nn.Module):
    """Class 0 when the mean input is positive, else class 1: a stem whose rounding decides."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 1, 1, bias=False)
        self.fc = nn.Linear(1, 2)
        with torch.no_grad():
            self.stem.weight.fill_(1.0)
            self.fc.weight.copy_(torch.tensor([[1.0], [-1.0]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.stem(x), 1), 1))


def _signed_calib(level: float) -> list[torch.Tensor]:
    """64 images of +-level (half each sign) and 2 of +-1, which set the input range."""
    s = torch.tensor([1.0, -1.0]).repeat(33)
    v = torch.cat([torch.tensor([1.0, -1.0]), s[:64] * level])
    return [v.reshape(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()]


@pytest.mark.parametrize("level, stem", [(1e-4, "fp32"), (0.5, "int8")])
def test_int8_auto_stem_keeps_a_stem_whose_rounding_changes_predictions(tmp_path, level, stem):
    # +-1e-4 rounds to 0 on a grid of 1/127: the logits tie, so the negative half changes
    # class (far above 0.5%) and the auto check keeps the stem fp32; +-0.5 changes nothing.
    path = export(Signed().eval(), tmp_path / "s.dbnn", precision="int8", calibration=_signed_calib(level),
                  input_size=(1, 4, 4))
    rt = load(path)
    q = rt.header["quantization"]
    assert q["stem"] == stem and q["stem_check"]["images"] == 66
    assert (q["stem_check"]["top1_changed"] > 0.4) == (stem == "fp32")
    ops = {op["name"]: op["op"] for op in rt.header["graph"]}
    assert ops["stem"] == ("conv2d" if stem == "fp32" else "qconv2d") and ops["fc"] == "qlinear"
    forced = export(Signed().eval(), tmp_path / "f.dbnn", precision="int8", calibration=_signed_calib(level),
                    input_size=(1, 4, 4), quantize_stem=True)
    assert load(forced).header["quantization"]["stem"] == "int8"


def test_int8_can_keep_the_stem_in_fp32(tmp_path):
    path = export(_model(True), tmp_path / "m.dbnn", precision="int8", calibration=_calib(1),
                  input_size=(3, 19, 19), quantize_stem=False)
    rt = load(path)
    ops = {op["name"]: op["op"] for op in rt.header["graph"]}
    assert ops["stem"] == "conv2d" and ops["down"] == "qconv2d" and ops["fc"] == "qlinear"
    assert rt.header["quantization"]["stem"] == "fp32"
    from dirnet.deploy import fileformat

    _, tensors = fileformat.read(path)
    assert tensors["stem.weight"].dtype == np.float32  # as an fp16 file keeps its stem


def test_layers_beyond_the_int8_limit_stay_full_precision(tmp_path):
    from dirnet.deploy.calibrate import MAX_K, quantizable

    assert quantizable(nn.Linear(MAX_K, 2)) and not quantizable(nn.Linear(MAX_K + 1, 2))
    assert not quantizable(nn.Conv2d(4, 4, 3, groups=2))

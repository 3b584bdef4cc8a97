"""Export -> load -> native inference against the PyTorch model (eval mode)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dirnet
from dirnet.deploy import exporter, fileformat, runtime
from dirnet.deploy._native import kernels
from dirnet.deploy.bitpack import pack_signs
from dirnet.nn import BinaryConv2d, BinaryLinear


def _randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN statistics/affine and RSign/RPReLU values, so the test sees real numbers."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 2 - 1)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
            for name, p in m.named_parameters(recurse=False):
                if name in ("gamma", "zeta") or (name == "bias" and type(m).__name__ == "RSign"):
                    p.copy_((torch.rand(p.shape, generator=g) - 0.5) * 0.2)
    return model.eval()


def _binary(arch: str, method: str = "dirnet", seed: int = 0, **kw) -> nn.Module:
    torch.manual_seed(seed)
    fp = dirnet.models.create(arch, num_classes=10, **kw.pop("model_kw", {}))
    bnn = dirnet.binarize(fp, method=method, **kw)
    if method == "reactnet":  # materialise lazy RPReLU parameters
        bnn.eval()
        with torch.no_grad():
            bnn(torch.zeros(1, 3, 32, 32))
    return _randomize(bnn, seed)


def _check(model, path, x, precision="fp32", atol=1e-4, **load_kw):
    with torch.no_grad():
        ref = model(x)
    exporter.export(model, path, precision=precision)
    rt = runtime.load(path, **load_kw)
    out = rt(x)
    assert isinstance(out, torch.Tensor) and out.shape == ref.shape
    if precision == "fp32":
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=atol)
        assert torch.equal(out.argmax(1), ref.argmax(1))
    return rt, out, ref


@pytest.mark.parametrize("arch,kw,size", [
    ("resnet20", {}, 32),
    ("vgg_small", {}, 32),
    ("resnet18", {}, 64),               # ImageNet form: 7x7 stem, maxpool, 1x1 downsample
    ("resnet18", {"cifar": True}, 32),
])
def test_fp32_export_matches_pytorch(tmp_path, arch, kw, size):
    model = _binary(arch, model_kw=kw)
    x = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(1))
    _check(model, tmp_path / "m.dbnn", x)


@pytest.mark.parametrize("path", kernels().paths())
def test_every_kernel_path_end_to_end(tmp_path, path):
    model = _binary("resnet20", seed=3)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    _check(model, tmp_path / "m.dbnn", x, kernel=path, threads=2)


def test_zero_padding_and_reactnet(tmp_path):
    model = _binary("resnet20", method="reactnet", seed=4, pad_value=0.0)
    assert any(isinstance(m, BinaryConv2d) and m.pad_value == 0.0 for m in model.modules())
    assert any(isinstance(m, BinaryConv2d) and m.input_threshold() is not None for m in model.modules())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    _check(model, tmp_path / "m.dbnn", x)


def test_batch_and_spatial_size_vary(tmp_path):
    model = _binary("resnet20", seed=6)
    exporter.export(model, tmp_path / "m.dbnn", precision="fp32")
    rt = runtime.load(tmp_path / "m.dbnn", threads=1)
    for shape in [(1, 3, 32, 32), (5, 3, 40, 24), (2, 3, 32, 32)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            torch.testing.assert_close(rt(x), model(x), rtol=1e-4, atol=1e-4)


def test_numpy_in_numpy_out(tmp_path):
    model = _binary("resnet20", seed=7)
    exporter.export(model, tmp_path / "m.dbnn", precision="fp32", class_names=[str(i) for i in range(10)])
    rt = runtime.load(tmp_path / "m.dbnn")
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    y = rt(x)
    assert isinstance(y, np.ndarray) and y.shape == (2, 10) and y.dtype == np.float32
    assert rt.class_names == [str(i) for i in range(10)]
    assert rt.input_size == (3, 32, 32)


def test_fp16_export_is_smaller_and_close(tmp_path):
    model = _binary("resnet18", seed=8, model_kw={"cifar": True})
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    exporter.export(model, tmp_path / "a.dbnn", precision="fp32")
    exporter.export(model, tmp_path / "b.dbnn", precision="fp16")
    a, b = runtime.load(tmp_path / "a.dbnn"), runtime.load(tmp_path / "b.dbnn")
    assert b.precision == "fp16"
    sa, sb = (tmp_path / "a.dbnn").stat().st_size, (tmp_path / "b.dbnn").stat().st_size
    assert sb < sa
    fp_bytes = sum(t.numel() * 4 for t in model.state_dict().values() if t.is_floating_point())
    assert sb * 12 < fp_bytes  # binary weights are 1 bit
    ya, yb = a(x), b(x)
    assert (ya.argmax(1) == yb.argmax(1)).float().mean() >= 0.75


def _capture_inputs(model: nn.Module, x: torch.Tensor) -> dict[nn.Module, torch.Tensor]:
    seen: dict[nn.Module, torch.Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, inp: seen.__setitem__(mod, inp[0].detach()))
             for m in model.modules() if isinstance(m, (BinaryConv2d, BinaryLinear))]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("pad_value", [1.0, 0.0])
def test_binary_layers_integer_exact(pad_value):
    """Every binary conv's integer result equals PyTorch's, bit for bit."""
    model = _binary("resnet20", method="reactnet", seed=10, pad_value=pad_value)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(11))
    K = kernels()
    checked = 0
    for layer, inp in _capture_inputs(model, x).items():
        if not isinstance(layer, BinaryConv2d):
            continue
        thr = layer.input_threshold()
        shifted = inp if thr is None else inp - thr.view(1, -1, 1, 1)
        s = torch.where(shifted >= 0, 1.0, -1.0)
        signs, _ = layer.binary_weight()
        left, right, top, bottom = layer._pads
        ref = F.conv2d(F.pad(s, (left, right, top, bottom), value=layer.pad_value), signs,
                       None, layer.stride, 0, layer.dilation)
        xb = K.pack(np.ascontiguousarray(inp.permute(0, 2, 3, 1).numpy()),
                    None if thr is None else thr.numpy().astype(np.float32))
        wb = pack_signs(signs.permute(0, 2, 3, 1).numpy())
        got = K.bconv2d(xb, wb, layer.in_channels, list(layer.stride), [top, left, bottom, right],
                        list(layer.dilation), layer.pad_value, 1)
        np.testing.assert_array_equal(got, ref.permute(0, 2, 3, 1).round().to(torch.int64).numpy())
        checked += 1
    assert checked >= 18


def test_unsupported_module_named(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GELU(), nn.Flatten(), nn.LazyLinear(2))
    model(torch.zeros(1, 3, 8, 8))
    with pytest.raises(exporter.ExportError, match=r"'1'.*GELU"):
        exporter.export(model, tmp_path / "m.dbnn")
    dw = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4, padding_mode="reflect"))  # grouped: gconv2d
    with pytest.raises(exporter.ExportError, match="padding_mode='reflect'"):
        exporter.export(dw, tmp_path / "m.dbnn")


def test_op_registry_keeps_the_lists_and_dispatch():
    """The registry (dirnet.deploy.ops) rebuilds the exact lists the messages always printed."""
    from dirnet.deploy import ops
    from dirnet.models.shortcut import OptionAShortcut
    from dirnet.nn import RPReLU

    assert exporter.SUPPORTED == (
        "Conv2d (grouped/depthwise: gconv2d), BinaryConv2d, Linear, BinaryLinear, BatchNorm1d/2d, "
        "Hardtanh, ReLU, ReLU6, "
        "PReLU, RPReLU, SiLU, Sigmoid, Hardswish, Hardsigmoid, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, "
        "Flatten, Identity, Dropout, OptionAShortcut, darts Zero, residual '+', '*' (same shape or channel gate), "
        "relu/hardtanh/flatten/mean/silu/sigmoid/hardswish/hardsigmoid/cat(dim=1)/x[:, :, h0:h1, w0:w1]/F.pad (zeros) "
        "functions")
    # the file ops the native planner reads (C++ op handlers), as its messages list them
    assert set(kernels().known_ops().split(", ")) >= {
        "conv2d", "bconv2d", "linear", "blinear", "hardtanh", "relu", "prelu", "input", "affine", "add",
        "maxpool2d", "avgpool2d", "adaptive_avgpool2d", "flatten", "shortcut_a",
        "silu", "sigmoid", "hardswish", "hardsigmoid", "mul"}
    from dirnet.models.darts_ops import Zero

    assert set(exporter._leaf_types()) == {BinaryConv2d, BinaryLinear, RPReLU, OptionAShortcut, Zero}
    # nearest registered class wins: BinaryConv2d before Conv2d, ReLU6 before Hardtanh
    conv = dirnet.methods.get("bnn").conv2d(4, 4, 3)
    assert ops.module_spec(conv).name == "bconv2d" and ops.module_spec(nn.Conv2d(1, 1, 1)).name == "conv2d"
    assert ops.module_spec(nn.ReLU6()).name == "relu6" and ops.module_spec(nn.Hardtanh()).name == "hardtanh"
    assert ops.module_spec(nn.GELU()) is None


def test_generic_supported_ops(tmp_path):
    """A model built from the supported ops (not from the zoo) exports and matches."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 16, 3, padding=1, bias=True)
            self.p1 = nn.PReLU(16)
            self.b1 = dirnet.methods.get("bnn").conv2d(16, 16, 3, padding=1)
            self.bn = nn.BatchNorm2d(16)
            self.ap = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
            self.b2 = dirnet.methods.get("xnor").conv2d(16, 24, 1)
            self.mp = nn.MaxPool2d(2, ceil_mode=True)
            self.relu6 = nn.ReLU6()
            self.fc1 = dirnet.methods.get("dirnet").linear(24, 12)
            self.bn1d = nn.BatchNorm1d(12)
            self.fc2 = nn.Linear(12, 5)

        def forward(self, x):
            x = self.p1(self.c1(x))
            x = F.hardtanh(self.bn(self.b1(x)) + x)
            x = self.mp(self.b2(self.ap(x)))
            x = torch.flatten(F.adaptive_avg_pool2d(self.relu6(x), 1), 1)
            return self.fc2(F.relu(self.bn1d(self.fc1(x))))

    model = _randomize(Net(), 12)
    x = torch.randn(3, 3, 13, 11, generator=torch.Generator().manual_seed(13))
    _check(model, tmp_path / "m.dbnn", x)


def test_bad_call_inputs(tmp_path):
    model = _binary("resnet20", seed=14)
    exporter.export(model, tmp_path / "m.dbnn")
    rt = runtime.load(tmp_path / "m.dbnn")
    with pytest.raises(ValueError, match="expects 3"):
        rt(torch.zeros(1, 4, 32, 32))
    with pytest.raises(ValueError, match="batch dimension"):
        rt(torch.zeros(3, 32, 32))
    with pytest.raises(TypeError, match="floating-point"):
        rt(torch.zeros(1, 3, 32, 32, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch tensor or a numpy array"):
        rt([[1.0]])
    with torch.no_grad():  # tiny inputs are legal where PyTorch takes them
        torch.testing.assert_close(rt(torch.ones(1, 3, 1, 1)), model(torch.ones(1, 3, 1, 1)), rtol=1e-2, atol=1e-2)
    assert rt(torch.zeros(1, 3, 32, 32, dtype=torch.float64)).shape == (1, 10)


def test_header_contents(tmp_path):
    model = _binary("resnet20", seed=15)
    exporter.export(model, tmp_path / "m.dbnn", precision="fp16", input_size=(3, 32, 32))
    header, tensors = fileformat.read(tmp_path / "m.dbnn")
    assert header["format"] == "dirnet.dbnn" and header["version"] == fileformat.FORMAT_VERSION
    assert header["conventions"]["bit_one_means"] == -1 and header["conventions"]["sign_of_zero"] == 1
    ops = {op["op"] for op in header["graph"]}
    assert {"input", "conv2d", "bconv2d", "affine", "add", "hardtanh", "shortcut_a", "linear"} <= ops
    assert any(t.dtype == np.uint64 for t in tensors.values())
    assert tensors["conv1.weight"].dtype == np.float32  # the stem stays fp32
    assert tensors["fc.weight"].dtype == np.float16


def test_bench_writes_report(tmp_path):
    from dirnet.deploy.bench import main

    out = tmp_path / "r.json"
    assert main(["--arch", "resnet20", "--batch", "1", "--threads", "1", "--reps", "2", "--warmup", "1",
                 "--kernels", "portable", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["command"].startswith("dirnet bench --arch resnet20")
    assert r["cpu"]["model"] and r["cpu"]["flags"] is not None
    assert r["end_to_end"][0]["speedup"]["portable"] > 0
    assert any(row.get("binary") for row in r["per_layer"])
    assert r["size"]["ratio"] > 1
    assert "targets" not in r  # the library measures; issue 5's verdicts are benchmarks/bench_deploy.py's


def _benchmarks_module(name: str):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_issue_targets_are_judged_in_benchmarks():
    """benchmarks/deploy_report.py judges the committed reports as the library once did."""
    targets = _benchmarks_module("deploy_report").targets
    r = json.loads((Path(__file__).resolve().parents[1] / "benchmarks/results/deploy_resnet18.json").read_text())
    stored = r.pop("targets")
    assert targets(r) == stored
    r["size"]["ratio"] = 15.9
    r["warning"] = "busy"
    judged = targets(r)
    assert judged["size_ratio"]["met"] is False and judged["warning"] == "busy"


def test_bench_deploy_adds_targets(tmp_path):
    out = tmp_path / "r.json"
    bench_deploy = _benchmarks_module("bench_deploy")
    assert bench_deploy.main(["--arch", "resnet20", "--batch", "1", "--threads", "1", "--reps", "2",
                              "--warmup", "1", "--kernels", "portable", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["command"].startswith("dirnet bench --arch resnet20")
    assert {"end_to_end_speedup_threads1", "binary_3x3_speedup_min_threads1", "size_ratio"} <= set(r["targets"])


def test_binary_body_is_bit_exact_through_batchnorm(tmp_path):
    """Binary conv + BN (+ residual, hardtanh) + binary conv: the fp32 export equals PyTorch
    bit for bit, even with BN means placed right at reachable pre-activations (the
    near-zero values whose sign a differently rounded BN would flip)."""

    class Body(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = dirnet.methods.get("dirnet").conv2d(3, 24, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(24)
            self.c2 = dirnet.methods.get("dirnet").conv2d(24, 24, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(24)
            self.c3 = dirnet.methods.get("dirnet").conv2d(24, 40, 3, padding=1, stride=2)
            self.bn3 = nn.BatchNorm2d(40)
            self.act = nn.Hardtanh()
            self.flat = nn.Flatten()

        def forward(self, x):
            y = self.act(self.bn1(self.c1(x)))
            y = self.act(self.bn2(self.c2(y)) + y)
            return self.flat(self.bn3(self.c3(y)))

    torch.manual_seed(3)
    model = _randomize(Body(), seed=4)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for conv, bn in ((model.c1, model.bn1), (model.c2, model.bn2), (model.c3, model.bn3)):
            _, scale = conv.binary_weight()
            k = conv.in_channels * 9
            dots = torch.randint(-k // 4, k // 4, bn.running_mean.shape, generator=g).float()
            jitter = (torch.rand(bn.running_mean.shape, generator=g) - 0.5) * 1e-6
            bn.running_mean.copy_(dots * scale.flatten() + jitter)
    x = torch.randn(4, 3, 12, 12, generator=g)
    with torch.no_grad():
        ref = model(x)
    path = tmp_path / "body.dbnn"
    exporter.export(model, path, precision="fp32")
    for isa in kernels().paths():
        out = runtime.load(path, kernel=isa)(x)
        assert torch.equal(out, ref), f"{isa}: {int((out != ref).sum())} values differ"


def _small_header() -> dict:
    return {"format": fileformat.FORMAT, "version": fileformat.FORMAT_VERSION, "precision": "fp32",
            "input": {"channels": 1, "size_hint": None}, "class_names": None,
            "graph": [{"op": "input", "name": "input", "inputs": [], "output": "v0"}], "output": "v0"}


def test_write_refuses_bad_outputs_and_leaves_nothing(tmp_path, monkeypatch):
    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match=r"output '.*out' is a directory"):
        fileformat.write(tmp_path / "out", _small_header(), tensors)
    with pytest.raises(FileNotFoundError, match=r"directory '.*nope' does not exist"):
        fileformat.write(tmp_path / "nope" / "m.dbnn", _small_header(), tensors)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        fileformat.write(tmp_path / "file" / "m.dbnn", _small_header(), tensors)
    with pytest.raises(ValueError):
        fileformat.write(tmp_path / "m.dbnn", {**_small_header(), "bad": float("nan")}, tensors)

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileformat.os, "fsync", fail)  # fails mid-write: the temporary file goes
    with pytest.raises(OSError, match="No space"):
        fileformat.write(tmp_path / "m.dbnn", _small_header(), tensors)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out"]
    assert not any((tmp_path / "out").iterdir())


def test_written_files_respect_the_umask(tmp_path):
    import os

    tensors = {"w": np.zeros(4, np.float32)}
    old = os.umask(0o022)
    try:
        fileformat.write(tmp_path / "a.dbnn", _small_header(), tensors)
        os.umask(0o077)
        fileformat.write(tmp_path / "b.dbnn", _small_header(), tensors)
    finally:
        os.umask(old)
    assert (tmp_path / "a.dbnn").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.dbnn").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dbnn", "b.dbnn"]


def test_tensor_checksum_written_and_checked(tmp_path):
    import hashlib

    tensors = {"b": np.arange(3, dtype=np.uint64), "a": np.ones((2, 2), np.float16)}
    fileformat.write(tmp_path / "m.dbnn", _small_header(), tensors)
    header, read = fileformat.read(tmp_path / "m.dbnn")
    # the documented recipe, spelt out
    h = hashlib.sha256()
    h.update(b'["a","F16",[2,2]]' + tensors["a"].astype("<f2").tobytes())
    h.update(b'["b","U64",[3]]' + tensors["b"].astype("<u8").tobytes())
    assert header["tensors_sha256"] == h.hexdigest() == fileformat.tensors_sha256(read)
    # a file without the key (written before it existed) still reads
    from safetensors.numpy import save_file

    save_file(tensors, str(tmp_path / "old.dbnn"), metadata={"dirnet": json.dumps(_small_header())})
    header, _ = fileformat.read(tmp_path / "old.dbnn")
    assert "tensors_sha256" not in header
    bad = {**_small_header(), "tensors_sha256": "0" * 64}
    save_file(tensors, str(tmp_path / "bad.dbnn"), metadata={"dirnet": json.dumps(bad)})
    with pytest.raises(fileformat.FormatError, match="checksum mismatch: the file is corrupted"):
        fileformat.read(tmp_path / "bad.dbnn")
    bad["tensors_sha256"] = 7
    save_file(tensors, str(tmp_path / "bad.dbnn"), metadata={"dirnet": json.dumps(bad)})
    with pytest.raises(fileformat.FormatError, match="64 hex digits"):
        fileformat.read(tmp_path / "bad.dbnn")


def test_threads_out_of_range_names_threads(tmp_path):
    exporter.export(_binary("resnet20", seed=16), tmp_path / "m.dbnn")
    for bad in (0, 10000, -1, 2.0, True):
        with pytest.raises(ValueError, match=r"threads must be an integer in \[1, 1024\]") as e:
            runtime.load(tmp_path / "m.dbnn", threads=bad)
        assert not isinstance(e.value, fileformat.FormatError)
    assert runtime.load(tmp_path / "m.dbnn", threads=runtime.MAX_THREADS).threads == runtime.MAX_THREADS


@pytest.mark.parametrize("dims", [2, (2,), (1, 2)])
def test_a_mean_over_other_dims_is_an_export_error(tmp_path, dims):
    class Mean(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv(x).mean(dims)

    with pytest.raises(exporter.ExportError, match=r"only the spatial mean x.mean\(\(2, 3\)\)"):
        dirnet.deploy.export(Mean().eval(), tmp_path / "m.dbnn", input_size=(3, 8, 8))


def test_non_finite_parameters_are_an_export_error(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    with torch.no_grad():
        model[1].running_var[2] = float("nan")
    with pytest.raises(exporter.ExportError, match=r"NaN or infinite values: the model diverged"):
        dirnet.deploy.export(model, tmp_path / "m.dbnn", input_size=(3, 8, 8))

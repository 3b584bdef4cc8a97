"""MobileNet V1/V2 and DARTS through the native runtime: grouped/depthwise convs
(``gconv2d``), channel concat (``concat``) and DARTS' ``slice`` / ``pad`` /
``zero`` ops, full precision and dirnet-binarized, on every kernel path.

Loaded with ``dirnet.deploy.load`` (the native loader and planner) with each
kernel path forced.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from zoo_weights import randomize_for_export

import dirnet
from dirnet.deploy import fileformat
from dirnet.deploy._native import kernels

PATHS = kernels().paths()  # best first, "reference" last


def _load(path, kernel: str, threads: int = 2):
    return dirnet.deploy.load(path, threads=threads, kernel=kernel)


def _run(path, kernel: str, x: torch.Tensor) -> np.ndarray:
    return _load(path, kernel)(x).numpy()


FAMILIES = {
    "mobilenet_v1": {"small_input": True, "width_mult": 0.5},
    "mobilenet_v2": {"small_input": True, "width_mult": 0.5},
    "darts": {"C": 8, "layers": 5},
}


def _model(arch: str, method: str) -> nn.Module:
    torch.manual_seed(1)
    m = dirnet.models.create(arch, num_classes=10, **FAMILIES[arch])
    if method != "fp":
        m = dirnet.binarize(m, method=method)
    return randomize_for_export(m, seed=2)


@pytest.mark.parametrize("method", ["fp", "dirnet"])
@pytest.mark.parametrize("arch", sorted(FAMILIES))
def test_family_matches_pytorch_on_every_path(tmp_path, arch, method):
    model = _model(arch, method)
    path = tmp_path / f"{arch}.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(3, 32, 32))
    ops = {op["op"] for op in fileformat.read(path)[0]["graph"]}
    assert "gconv2d" in ops and ("concat" in ops) == (arch == "darts")
    if method == "dirnet":
        assert "bconv2d" in ops
    x = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = model(x).numpy()
    assert ref.std(axis=0).max() > 1e-3  # the samples' logits differ: argmax means something
    for kernel in PATHS:
        got = _run(path, kernel, x)
        assert got.shape == ref.shape
        scale = np.abs(ref).max()
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * scale, err_msg=f"{arch} {method} {kernel}")
        assert (got.argmax(1) == ref.argmax(1)).all(), (arch, method, kernel)


ALL_PRIMITIVES = {  # every DARTS primitive, strided ones in the reduction cell
    "normal": [("none", 0), ("avg_pool_3x3", 1), ("dil_conv_5x5", 0), ("sep_conv_5x5", 1),
               ("max_pool_3x3", 2), ("skip_connect", 0), ("dil_conv_3x3", 3), ("sep_conv_3x3", 2)],
    "normal_concat": [2, 3, 4, 5],
    "reduce": [("none", 0), ("skip_connect", 1), ("avg_pool_3x3", 0), ("dil_conv_5x5", 1),
               ("sep_conv_5x5", 0), ("max_pool_3x3", 2), ("dil_conv_3x3", 1), ("sep_conv_3x3", 3)],
    "reduce_concat": [2, 4, 5],
}


@pytest.mark.parametrize("method", ["fp", "dirnet"])
def test_darts_every_primitive(tmp_path, method):
    torch.manual_seed(4)
    model = dirnet.models.create("darts", num_classes=10, C=6, layers=3, genotype=ALL_PRIMITIVES)
    if method != "fp":
        model = dirnet.binarize(model, method=method)
    model = randomize_for_export(model, seed=5)
    path = tmp_path / "d.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(3, 32, 32))
    ops = {op["op"] for op in fileformat.read(path)[0]["graph"]}
    assert {"zero", "slice", "pad", "concat", "gconv2d", "avgpool2d", "maxpool2d"} <= ops
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        ref = model(x).numpy()
    for kernel in PATHS:
        got = _run(path, kernel, x)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * np.abs(ref).max(), err_msg=kernel)
        assert (got.argmax(1) == ref.argmax(1)).all(), kernel


def test_fp16_file_runs(tmp_path):
    """The default precision stores depthwise weights in fp16 (the stem stays fp32). Full
    precision model: in a binary one, fp16 rounding moves signs (docs/deploy.md)."""
    model = _model("mobilenet_v1", "fp")
    path = tmp_path / "m.dbnn"
    dirnet.deploy.export(model, path, input_size=(3, 32, 32))
    header, tensors = fileformat.read(path)
    dw = [op for op in header["graph"] if op["op"] == "gconv2d"]
    assert dw and all(tensors[op["tensors"]["weight"]].dtype == np.float16 for op in dw)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model(x).numpy()
    got = _run(path, PATHS[0], x)
    assert np.isfinite(got).all() and np.abs(got - ref).max() < 0.05 * np.abs(ref).max()


# -- gconv2d layers on randomised shapes


def _gconv_cases():
    rng = np.random.default_rng(7)
    cases = [  # C, groups, multiplier, kernel, stride, dilation, padding, bias
        (13, 13, 1, 3, 1, 1, 1, True),      # odd depthwise
        (21, 21, 1, 5, 2, 1, 2, False),     # 5x5 stride 2
        (16, 16, 1, 3, 1, 2, 2, False),     # dilated (DARTS dil_conv_3x3)
        (6, 6, 3, 3, 2, 2, 0, True),        # multiplier 3, no padding
        (12, 4, 2, 3, 1, 1, 1, True),       # 3 channels per group
        (10, 2, 1, (3, 5), (2, 1), (1, 2), (2, 3), False),
        (8, 8, 1, 4, 1, 1, "same", True),   # even kernel: asymmetric padding
    ]
    for _ in range(4):
        groups = int(rng.integers(2, 6))
        cases.append((groups * int(rng.integers(1, 5)), groups, int(rng.integers(1, 3)), int(rng.choice([3, 5])),
                      int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(0, 3)), bool(rng.integers(2))))
    return cases


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("case", _gconv_cases())
def test_gconv2d_layer_matches_torch(tmp_path, case):
    c, groups, mult, k, s, d, p, bias = case
    oc = (c // groups) * mult * groups if groups != c else c * mult
    torch.manual_seed(sum(map(hash, map(str, case))) % 1000)
    model = nn.Sequential(
        nn.Conv2d(3, c, 1),  # the stem stays fp32 in fp16 files: put the grouped conv second
        nn.Conv2d(c, oc, k, s, p, d, groups=groups, bias=bias),
        nn.BatchNorm2d(oc), nn.ReLU6())
    randomize_for_export(model, seed=4, size=(3, 11, 12))
    path = tmp_path / "g.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(3, 11, 12))
    assert [op["op"] for op in fileformat.read(path)[0]["graph"]][2] == "gconv2d"
    x = torch.randn(3, 3, 11, 12)
    with torch.no_grad():
        ref = model(x).numpy()
    # BN and ReLU6 run in the gconv2d's epilogue (the planner's fuse_tails)
    assert any(line.startswith("gconv2d ") and line.count("+") == 2 for line in _load(path, "reference").ops)
    for kernel in PATHS:
        got = _run(path, kernel, x)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=f"{case} {kernel}")


def test_concat_slice_pad_zero_match_torch(tmp_path):
    from dirnet.models.darts_ops import FactorizedReduce, Zero

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fr = FactorizedReduce(4, 6, "hardtanh")
            self.zero = Zero(2)

        def forward(self, x):  # x: (N, 4, 7, 8)
            y = self.fr(x)  # (N, 6, 4, 4): odd height, the shifted branch pads a row
            z = self.zero(x[:, :, 1:, :])  # zeros (N, 4, 3, 4)
            crop = torch.nn.functional.pad(x[:, :, 0:7:2, 1::2], (1, 0, 2, 1))  # (N, 4, 7, 5)
            return torch.cat([y, crop[:, :, 1:5, 0:4], nn.functional.pad(z, (0, 0, 0, 1))], dim=1)

    model = randomize_for_export(Net(), seed=5, size=(4, 7, 8))
    x = torch.randn(2, 4, 7, 8)
    with torch.no_grad():
        ref = model(x).numpy()
    path = tmp_path / "c.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(4, 7, 8))
    ops = [op["op"] for op in fileformat.read(path)[0]["graph"]]
    for op in ("concat", "slice", "pad", "zero"):
        assert op in ops
    for kernel in PATHS:
        np.testing.assert_allclose(_run(path, kernel, x), ref, rtol=1e-5, atol=1e-6, err_msg=kernel)


# -- malformed ops


def _graph_file(tmp_path):
    from dirnet.models.darts_ops import FactorizedReduce, Zero

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.dw = nn.Conv2d(4, 8, 3, 1, 1, groups=4)
            self.fr = FactorizedReduce(8, 8, "hardtanh")
            self.zero = Zero(2)

        def forward(self, x):
            y = self.dw(x)
            return torch.cat([self.fr(y), self.zero(y)], dim=1)

    path = tmp_path / "ok.dbnn"
    dirnet.deploy.export(Net().eval(), path, precision="fp32", input_size=(4, 8, 8))
    return fileformat.read(path)


def _op(header, kind):
    return next(op for op in header["graph"] if op["op"] == kind)


MALFORMED = [
    ("gconv2d", lambda op, t: op["attrs"].update(groups=3), "multiples of groups"),
    ("gconv2d", lambda op, t: op["attrs"].update(groups=0), "'groups'"),
    ("gconv2d", lambda op, t: op["attrs"].pop("groups"), "'groups'"),
    ("gconv2d", lambda op, t: op["attrs"].update(groups=2), "has shape"),
    ("gconv2d", lambda op, t: op["attrs"].update(padding=[1, 1, 1]), "'padding'"),
    ("gconv2d", lambda op, t: op["attrs"].update(dilation=[0, 1]), "'dilation'"),
    ("gconv2d", lambda op, t: op["tensors"].pop("weight"), "missing tensor 'weight'"),
    ("gconv2d", lambda op, t: t.__setitem__(op["tensors"]["weight"],
                                            t[op["tensors"]["weight"]].astype(np.float64)), "dtype"),
    ("concat", lambda op, t: op.update(inputs=[]), "at least 1"),
    ("concat", lambda op, t: op.update(inputs=op["inputs"] + ["v999"]), "not computed"),
    ("slice", lambda op, t: op["attrs"].update(step=[0, 1]), "'step'"),
    ("slice", lambda op, t: op["attrs"].update(stop=[1, "x"]), "'stop'"),
    ("slice", lambda op, t: op["attrs"].update(start=[-1, 0]), "'start'"),
    ("pad", lambda op, t: op["attrs"].update(padding=[0, 1, -1, 0]), "'padding'"),
    ("zero", lambda op, t: op["attrs"].update(stride=0), "'stride'"),
]


@pytest.mark.parametrize("kind,mutate,message", MALFORMED)
def test_malformed_ops_are_format_errors_naming_the_op(tmp_path, kind, mutate, message):
    header, tensors = _graph_file(tmp_path)
    op = _op(header, kind)
    mutate(op, tensors)
    bad = tmp_path / "bad.dbnn"
    header.pop("tensors_sha256", None)
    fileformat.write(bad, header, tensors)
    with pytest.raises(fileformat.FormatError) as err:
        _load(bad, PATHS[-1], threads=1)
    msg = str(err.value)
    assert repr(op["name"]) in msg and message in msg, msg


def test_concat_shape_mismatch_names_the_op(tmp_path):
    header, tensors = _graph_file(tmp_path)
    cat = _op(header, "concat")
    cat["inputs"] = [cat["inputs"][0], header["graph"][0]["output"]]  # 4x4 with the 8x8 input
    bad = tmp_path / "bad.dbnn"
    header.pop("tensors_sha256", None)
    fileformat.write(bad, header, tensors)
    m = _load(bad, PATHS[-1], threads=1)
    with pytest.raises(ValueError, match=repr(cat["name"]) + ".*differ"):
        m(np.zeros((1, 4, 8, 8), np.float32))

"""EfficientNet-B0 through the native runtime (SiLU, squeeze-and-excitation:
``sigmoid`` and the channel ``mul``; its depthwise convs are ``gconv2d``),
full precision and dirnet-binarized, on every kernel path; the four smooth /
hard activations and ``mul`` on small models; multi-output models (tuple,
list, dict) keep their structure; malformed new ops are FormatErrors naming
the op.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from zoo_weights import randomize_for_export

import dirnet
from dirnet.deploy import ExportError, fileformat
from dirnet.deploy._native import kernels

PATHS = kernels().paths()  # best first, "reference" last


def _load(path, kernel: str | None = None):
    return dirnet.deploy.load(path, threads=2, kernel=kernel)


# -- EfficientNet-B0


@pytest.mark.parametrize("method", ["fp", "dirnet"])
def test_efficientnet_b0_matches_pytorch_on_every_path(tmp_path, method):
    torch.manual_seed(1)
    model = dirnet.models.create("efficientnet_b0", num_classes=10)
    if method != "fp":
        model = dirnet.binarize(model, method=method)
    model = randomize_for_export(model, seed=2)
    path = tmp_path / "effnet.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(3, 32, 32))
    ops = [op["op"] for op in fileformat.read(path)[0]["graph"]]
    assert {"silu", "sigmoid", "mul", "gconv2d", "adaptive_avgpool2d"} <= set(ops)
    assert ops.count("mul") == 16  # one squeeze-excite gate per MBConv block
    assert ("bconv2d" in ops) == (method == "dirnet")
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = model(x).numpy()
    assert ref.std(axis=0).max() > 1e-3
    for kernel in PATHS:
        got = _load(path, kernel)(x).numpy()
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * np.abs(ref).max(), err_msg=f"{method} {kernel}")
        assert (got.argmax(1) == ref.argmax(1)).all(), (method, kernel)


# -- activations and mul on small models


class Acts(nn.Module):
    """Every spelling of the four activations, and both operand orders of the gate."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.silu, self.sig, self.hsw, self.hsig = nn.SiLU(), nn.Sigmoid(), nn.Hardswish(), nn.Hardsigmoid()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce, self.expand = nn.Conv2d(8, 3, 1), nn.Conv2d(3, 8, 1)

    def forward(self, x):
        x = self.conv(x)
        a = self.silu(x) + F.silu(x) + x.sigmoid() + torch.sigmoid(x) + self.sig(x)
        b = self.hsw(a) + F.hardswish(a) + self.hsig(a) + F.hardsigmoid(a)
        s = self.sig(self.expand(F.silu(self.reduce(self.pool(b)))))
        y = b * s + torch.mul(s, b)  # (N, C, H, W) * (N, C, 1, 1), either order
        return y * y  # same shape


def test_activations_and_gate_match_pytorch(tmp_path):
    torch.manual_seed(0)
    model = Acts().eval()
    path = tmp_path / "acts.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(3, 9, 7))
    ops = [op["op"] for op in fileformat.read(path)[0]["graph"]]
    # every spelling is written, and the identical ones on the same input become one op
    # (the exporter reuses a tensorless op's value); b * s and s * b stay two
    assert ops.count("silu") == 2 and ops.count("sigmoid") == 2 and ops.count("mul") == 3
    assert ops.count("hardswish") == 1 and ops.count("hardsigmoid") == 1
    x = torch.randn(2, 3, 9, 7) * 3
    with torch.no_grad():
        ref = model(x).numpy()
    for kernel in PATHS:
        got = _load(path, kernel)(x).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max(), err_msg=kernel)


@pytest.mark.parametrize("act", [nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid])
def test_activation_values(tmp_path, act):
    """On their own, over a wide range: hardswish/hardsigmoid equal PyTorch's bits, sigmoid/silu
    are within 1e-6 relative (docs/deploy.md)."""
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), act()).eval()
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    path = tmp_path / "a.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(1, 4, 4))
    x = torch.cat([torch.linspace(-120, 120, 4001), torch.linspace(-4, 4, 4001),
                   torch.tensor([0.0, -0.0, 3.0, -3.0, 1e-30, -1e-30])]).reshape(1, 1, 1, -1)
    with torch.no_grad():
        ref = model(x).numpy()
    for kernel in PATHS:
        got = _load(path, kernel)(x).numpy()
        if act in (nn.Hardswish, nn.Hardsigmoid):
            np.testing.assert_array_equal(got, ref, err_msg=kernel)
        else:
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-37, err_msg=kernel)


def test_mul_refuses_other_broadcasts():
    class Row(nn.Module):
        def forward(self, x):
            return x * F.adaptive_avg_pool2d(x, (1, 8))  # (N, C, 1, W): not a channel gate

    class Const(nn.Module):
        def forward(self, x):
            return x * 2.0

    with pytest.raises(ExportError, match=r"mul 'mul'.*\[1, 3, 8, 8\] and \[1, 3, 1, 8\]"):
        dirnet.deploy.export(Row(), "/dev/null", input_size=(3, 8, 8))
    with pytest.raises(ExportError, match=r"mul 'mul': both operands must be tensors"):
        dirnet.deploy.export(Const(), "/dev/null", input_size=(3, 8, 8))


# -- multi-output models


class Heads(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        f = F.hardswish(self.conv(x))
        logits = self.fc(torch.flatten(F.adaptive_avg_pool2d(f, 1), 1))
        if self.kind == "tuple":
            return logits, f
        if self.kind == "list":
            return [f, logits, logits]
        if self.kind == "one":
            return (logits,)
        return {"logits": logits, "features": f, "gate": torch.sigmoid(f)}


@pytest.mark.parametrize("kind", ["tuple", "list", "dict", "one"])
def test_multi_output_structure(tmp_path, kind):
    torch.manual_seed(0)
    model = Heads(kind).eval()
    path = tmp_path / f"{kind}.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(3, 6, 5))
    header = fileformat.read(path)[0]
    assert "output" not in header
    assert header["output_structure"] == ("tuple" if kind == "one" else kind)
    x = torch.randn(2, 3, 6, 5)
    with torch.no_grad():
        ref = model(x)
    rt = _load(path)
    got = rt(x)
    assert type(got) is type(ref)
    if kind == "dict":
        assert list(got) == list(ref) == rt.output_names == ["logits", "features", "gate"]
        pairs = [(got[k], ref[k]) for k in ref]
    else:
        assert len(got) == len(ref)
        assert rt.output_names == [str(i) for i in range(len(ref))]
        pairs = list(zip(got, ref))
    for g, r in pairs:
        assert g.shape == r.shape
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-5, atol=1e-5)
    arrays = rt(x.numpy())  # numpy in, numpy out, same structure
    assert type(arrays) is type(ref)
    assert all(isinstance(a, np.ndarray) for a in (arrays.values() if kind == "dict" else arrays))


def test_single_output_still_returns_a_tensor(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU(), nn.Flatten()).eval()
    path = tmp_path / "one.dbnn"
    dirnet.deploy.export(model, path, precision="fp32", input_size=(3, 5, 5))
    header = fileformat.read(path)[0]
    assert isinstance(header["output"], str) and "outputs" not in header and "output_structure" not in header
    got = _load(path)(torch.randn(1, 3, 5, 5))
    assert isinstance(got, torch.Tensor) and got.shape == (1, 36)


def test_multi_output_refusals():
    class Nested(nn.Module):
        def forward(self, x):
            return F.silu(x), (F.silu(x), x.sigmoid())

    class IntKey(nn.Module):
        def forward(self, x):
            return {0: F.silu(x)}

    class ReturnsInput(nn.Module):
        def forward(self, x):
            return F.silu(x), x

    with pytest.raises(ExportError, match="nested tuples"):
        dirnet.deploy.export(Nested(), "/dev/null", input_size=(3, 4, 4))
    with pytest.raises(ExportError, match="output names must be strings"):
        dirnet.deploy.export(IntKey(), "/dev/null", input_size=(3, 4, 4))
    with pytest.raises(ExportError, match="returns its input unchanged"):
        dirnet.deploy.export(ReturnsInput(), "/dev/null", input_size=(3, 4, 4))


# -- malformed files


def _edited(src, dst, edit) -> None:
    header, tensors = fileformat.read(src)
    edit(header)
    fileformat.write(dst, header, tensors)


def _op(header, kind: str) -> dict:
    return next(op for op in header["graph"] if op["op"] == kind)


def test_malformed_new_ops_name_the_op(tmp_path):
    torch.manual_seed(0)
    src = tmp_path / "dict.dbnn"
    dirnet.deploy.export(Heads("dict").eval(), src, precision="fp32", input_size=(3, 6, 5))
    model = Acts().eval()
    acts = tmp_path / "acts.dbnn"
    dirnet.deploy.export(model, acts, precision="fp32", input_size=(3, 9, 7))
    cases = [
        (acts, "silu", lambda op: op["attrs"].update(beta=1.0), "silu takes no attributes"),
        (acts, "hardsigmoid", lambda op: op["tensors"].update(w="conv.weight"), "hardsigmoid takes no tensors"),
        (acts, "sigmoid", lambda op: op["inputs"].append(op["inputs"][0]), "sigmoid takes 1 input(s), got 2"),
        (acts, "mul", lambda op: op["inputs"].pop(), "mul takes 2 input(s), got 1"),
        (acts, "mul", lambda op: op["attrs"].update(k=2), "mul takes no attributes"),
    ]
    for i, (file, kind, edit, msg) in enumerate(cases):
        dst = tmp_path / f"bad{i}.dbnn"
        name = _op(fileformat.read(file)[0], kind)["name"]
        _edited(file, dst, lambda h: edit(_op(h, kind)))
        with pytest.raises(fileformat.FormatError, match=re.escape(f"op '{name}': {msg}")):
            _load(dst)
    bad_structures = [
        (lambda h: h.update(output_structure="set"), "output_structure must be 'tuple', 'list' or 'dict'"),
        (lambda h: h.update(output_structure="tuple"), "the outputs of a tuple must be named '0', '1'"),
        (lambda h: h["outputs"].append(dict(h["outputs"][0])), "output names must be unique"),
    ]
    for i, (edit, msg) in enumerate(bad_structures):
        header, tensors = fileformat.read(src)
        edit(header)
        with pytest.raises(fileformat.FormatError, match=re.escape(msg)):
            fileformat.check_header(header)
        dst = tmp_path / f"struct{i}.dbnn"
        fileformat.write(dst, header, tensors)  # writing does not check the header
        with pytest.raises(fileformat.FormatError, match=re.escape(msg)):
            _load(dst)


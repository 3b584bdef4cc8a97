"""dirnet.summary: totals equal hand counts made from the architectures' layer lists."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import dirnet
from dirnet.analysis.cli import summary_main
from dirnet.analysis.summary import Summary, summary


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small models: one thread avoids oversubscribing the shared cores (much faster here)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

# A conv in the hand counts: (in_channels, out_channels, kernel, output side, binary?)


def resnet20_layers() -> tuple[list[tuple[int, int, int, int, bool]], list[int]]:
    """Convs and BatchNorm widths of the CIFAR ResNet-20 (Bi-Real blocks, option-A shortcuts)."""
    convs = [(3, 16, 3, 32, False)]  # full-precision stem
    bns = [16]
    c_in, side = 16, 32
    for c_out, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            side = side // (stride if i == 0 else 1)
            convs += [(c_in, c_out, 3, side, True), (c_out, c_out, 3, side, True)]
            bns += [c_out, c_out]
            c_in = c_out  # option-A shortcuts have no parameters
    bns.append(64)  # BatchNorm1d before the classifier
    return convs, bns


def resnet18_layers(size: int) -> tuple[list[tuple[int, int, int, int, bool]], list[int]]:
    """Convs and BatchNorm widths of the ImageNet ResNet-18 (Bi-Real), ``size`` x ``size`` input."""
    convs = [(3, 64, 7, size // 2, False)]  # 7x7/2 stem, then 3x3/2 maxpool
    bns = [64]
    c_in, side = 64, size // 4
    for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for i in range(2):
            s = stride if i == 0 else 1
            side = side // s
            convs += [(c_in, c_out, 3, side, True), (c_out, c_out, 3, side, True)]
            bns += [c_out, c_out]
            if s != 1 or c_in != c_out:  # FP 1x1 stride-2 downsample + BN
                convs.append((c_in, c_out, 1, side, False))
                bns.append(c_out)
            c_in = c_out
    bns.append(512)
    return convs, bns


def hand_totals(convs, bns, fc_in: int, classes: int, scale_bits: int = 32) -> dict[str, float]:
    binary = sum(ci * co * k * k for ci, co, k, _, b in convs if b)
    fp_conv = sum(ci * co * k * k for ci, co, k, _, b in convs if not b)
    fp = fp_conv + 2 * sum(bns) + fc_in * classes + classes
    channels = sum(co for _, co, _, _, b in convs if b)
    return {
        "binary_params": binary,
        "fp_params": fp,
        "memory_bytes": (binary + scale_bits * channels + 32 * fp) / 8,
        "binary_macs": sum(ci * co * k * k * s * s for ci, co, k, s, b in convs if b),
        "float_macs": sum(ci * co * k * k * s * s for ci, co, k, s, b in convs if not b)
        + fc_in * classes,
        "compression": 32 * (binary + fp) / (binary + scale_bits * channels + 32 * fp),
    }


def _check(totals: dict, expected: dict) -> None:
    for key, value in expected.items():
        assert totals[key] == pytest.approx(value, rel=1e-12), key


@pytest.mark.parametrize("method", ["bnn", "dirnet"])
def test_resnet20_totals_equal_hand_count(method):
    model = dirnet.binarize(dirnet.models.create("resnet20", num_classes=10), method)
    s = dirnet.summary(model, input_size=(1, 3, 32, 32))
    _check(s.totals, hand_totals(*resnet20_layers(), fc_in=64, classes=10))
    assert s.totals["params"] == s.totals["binary_params"] + s.totals["fp_params"]
    assert s.methods == [method]


def test_resnet18_totals_equal_hand_count():
    model = dirnet.binarize(dirnet.models.create("resnet18", num_classes=10), "bnn")
    # 224x224 is the ImageNet size; 64x64 keeps the test fast (the counting is the same)
    s = summary(model, (1, 3, 64, 64))
    _check(s.totals, hand_totals(*resnet18_layers(64), fc_in=512, classes=10))
    # folded scales (a scale absorbed by the following BatchNorm costs nothing)
    s0 = summary(model, (1, 3, 64, 64), scale_bits=0)
    _check(s0.totals, hand_totals(*resnet18_layers(64), fc_in=512, classes=10, scale_bits=0))
    assert 10.9e6 < s.totals["binary_params"] < 11.0e6  # "about 10.99 M" in the paper


def test_resnet18_imagenet_parameter_count_matches_torchvision_plus_bn1d():
    # torchvision's resnet18 has 11,689,512 parameters; the Bi-Real form adds BatchNorm1d(512).
    model = dirnet.models.create("resnet18", num_classes=1000)
    s = summary(model, (1, 3, 32, 32))
    assert s.totals["params"] == 11_689_512 + 2 * 512
    assert s.totals["binary_params"] == 0 and s.totals["binary_macs"] == 0
    assert s.totals["compression"] == pytest.approx(1.0)


def test_macs_are_per_example_and_rows_are_consistent():
    model = dirnet.binarize(dirnet.models.create("resnet20"), "irnet")
    one, four = summary(model, (1, 3, 32, 32)), summary(model, (3, 3, 32, 32))
    assert one.totals["binary_macs"] == four.totals["binary_macs"]
    assert one.totals["float_macs"] == four.totals["float_macs"]
    names = [r["name"] for r in one.rows]
    assert len(names) == len(set(names))
    for r in one.rows:
        assert r["precision"] == ("binary" if r["kind"].startswith("Binary") else "fp32")
        assert r["memory_bytes"] == r["memory_bits"] / 8
        if r["precision"] != "binary":
            assert r["binary_macs"] == 0
    fc = next(r for r in one.rows if r["name"] == "fc")
    assert fc["float_macs"] == 640 and fc["output_shape"] == [1, 10]


def test_summary_leaves_the_model_untouched():
    model = dirnet.binarize(dirnet.models.create("resnet20"), "dirnet")
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    summary(model, (2, 3, 32, 32))
    assert all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_fp16_shared_parameters_and_reactnet_extras():
    lin = nn.Linear(8, 8)
    model = nn.Sequential(lin, nn.ReLU(), lin).half()  # one Linear used twice
    s = summary(model, (2, 8))
    assert s.totals["fp_params"] == 72 and len(s.rows) == 1
    assert s.rows[0]["precision"] == "fp16" and s.totals["memory_bytes"] == 72 * 2
    assert s.totals["float_macs"] == 2 * 64  # both calls counted
    # ReActNet adds RSign thresholds and RPReLU parameters: all counted as fp32
    r = summary(dirnet.binarize(dirnet.models.create("resnet20"), "reactnet"), (1, 3, 32, 32))
    kinds = {row["kind"] for row in r.rows}
    assert {"RSign", "RPReLU", "BinaryConv2d"} <= kinds
    extra = sum(row["params"] for row in r.rows if row["kind"] in ("RSign", "RPReLU"))
    assert r.totals["fp_params"] == hand_totals(*resnet20_layers(), 64, 10)["fp_params"] + extra


def test_str_and_json():
    s = summary(dirnet.binarize(dirnet.models.create("resnet20"), "bnn"), (1, 3, 32, 32))
    assert isinstance(s, Summary)
    text = str(s)
    assert "layer1.0.conv1" in text and "compression" in text and "binary" in text
    d = json.loads(s.to_json())
    assert d["totals"]["binary_params"] == s.totals["binary_params"]
    assert len(d["rows"]) == len(s.rows)


@pytest.mark.parametrize("bad", [(3, 32, 32, 0), "1x3x32x32", (1,), (1, 3, 32.0, 32)])
def test_bad_input_size(bad):
    with pytest.raises(ValueError, match="input_size"):
        summary(nn.Linear(3, 3), bad)


def test_bad_model_and_mismatched_input():
    with pytest.raises(TypeError, match="nn.Module"):
        summary("resnet20", (1, 3, 32, 32))
    with pytest.raises(ValueError, match="could not run"):
        summary(nn.Linear(3, 3), (1, 5))
    with pytest.raises(ValueError, match="scale_bits"):
        summary(nn.Linear(3, 3), (1, 3), scale_bits=-1)


def test_cli(capsys):
    assert summary_main(["--arch", "resnet20", "--method", "bnn", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["totals"]["binary_params"] == hand_totals(*resnet20_layers(), 64, 10)["binary_params"]
    assert summary_main(["--arch", "resnet20", "--method", "fp", "--num-classes", "100"]) == 0
    out = capsys.readouterr().out
    assert "compression 1.00x" in out and "(1, 3, 32, 32)" in out
    assert summary_main(["--arch", "no_such_net"]) == 2
    assert "no_such_net" in capsys.readouterr().err
    assert summary_main(["--arch", "resnet20", "--input-size", "1", "3", "0", "32"]) == 2

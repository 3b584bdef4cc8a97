"""Tests of the model zoo (dirnet.models): shapes, gradients, binarization, fx, registry."""

from __future__ import annotations

import pytest
import torch
import torch.fx
from torch import nn

import dirnet
from dirnet import models
from dirnet.models import OptionAShortcut
from dirnet.models.registry import _REGISTRY

NAMES = [
    "darts",
    "efficientnet_b0",
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet56",
    "vgg_small",
]
# 32x32 forms (the ImageNet forms shrink 32x32 inputs to 1x1 maps, where train-mode BatchNorm
# over a batch of 2 divides by ~sqrt(eps) and binary gradients explode), kept small for speed
SMALL = {
    "darts": {"C": 8, "layers": 3},
    "resnet18": {"cifar": True, "width": 16},
    "resnet32": {"width": 8},
    "resnet34": {"cifar": True, "width": 8},
    "resnet44": {"width": 8},
    "resnet56": {"width": 8},
    "vgg_small": {"width": 32},
    "mobilenet_v1": {"small_input": True, "width_mult": 0.25},
    "mobilenet_v2": {"small_input": True, "width_mult": 0.25},
    "efficientnet_b0": {"small_input": True, "width_mult": 0.25, "depth_mult": 0.5},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These tensors are tiny: a second intra-op thread only adds barrier waits, and on the
    shared 2-core machine (load > 2) those waits made this file 5-10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _small(name: str, **kw) -> nn.Module:
    return models.create(name, **{**SMALL.get(name, {}), **kw})


def _forward_backward(model: nn.Module, size: int = 32, batch: int = 2, channels: int = 3):
    model.train()
    x = torch.randn(batch, channels, size, size)
    y = model(x)
    assert isinstance(y, torch.Tensor) and y.shape == (batch, 10)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"
    bad = [
        n for n, p in model.named_parameters() if p.grad is not None and not p.grad.isfinite().all()
    ]
    assert not bad, f"non-finite gradients: {bad[:5]}"
    return y


def test_list_is_sorted_and_complete():
    names = models.names()
    assert names == sorted(names)
    assert set(NAMES) <= set(names)


@pytest.mark.parametrize("name", NAMES)
def test_full_precision_forward_backward(name):
    model = _small(name)
    assert not any(
        isinstance(m, (dirnet.BinaryConv2d, dirnet.BinaryLinear)) for m in model.modules()
    )
    _forward_backward(model)


@pytest.mark.parametrize("name", NAMES)
def test_binarized_forward_backward(name):
    fp = _small(name)
    bnn = dirnet.binarize(fp, method="dirnet")
    assert any(isinstance(m, dirnet.BinaryConv2d) for m in bnn.modules())
    dirnet.set_progress(bnn, 0.5)
    _forward_backward(bnn)
    # latent weights of binary layers receive gradient
    for m in bnn.modules():
        if isinstance(m, dirnet.BinaryConv2d):
            assert m.weight.grad is not None and m.weight.grad.abs().sum() > 0
            break


@pytest.mark.parametrize("name", NAMES)
def test_stage_names_resolve(name):
    model = _small(name)
    assert len(model.stage_names) >= 3
    for stage in model.stage_names:
        model.get_submodule(stage)


@pytest.mark.parametrize("name", NAMES)
def test_every_activation_is_a_separate_module(name):
    model = _small(name)
    acts = [
        m
        for _, m in model.named_modules(remove_duplicate=False)
        if isinstance(m, (nn.Hardtanh, nn.SiLU, nn.ReLU, nn.ReLU6))
    ]
    assert acts and len({id(a) for a in acts}) == len(acts)


@pytest.mark.parametrize(
    "name", ["resnet20", "resnet18", "vgg_small", "mobilenet_v2", "efficientnet_b0", "darts"]
)
def test_fx_traceable(name):
    model = _small(name).eval()
    graph = torch.fx.symbolic_trace(model)
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(graph(x), model(x))


def test_fx_sees_option_a_shortcut_as_a_module():
    class Leafy(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, OptionAShortcut) or super().is_leaf_module(m, qualname)

    graph = Leafy().trace(models.create("resnet20"))
    targets = [n.target for n in graph.nodes if n.op == "call_module"]
    assert "layer2.0.shortcut" in targets and "layer3.0.shortcut" in targets


def test_imagenet_forms_at_224():
    with torch.no_grad():
        r18 = models.create("resnet18", num_classes=1000).eval()
        assert r18(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
        mb2 = models.create("mobilenet_v2", num_classes=1000, width_mult=0.5).eval()
        assert mb2(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts():
    # measured; the ImageNet counts equal torchvision's plus 2*C for the BatchNorm1d head
    assert _count(models.create("resnet20")) == 269_850
    assert _count(models.create("resnet18", num_classes=1000)) == 11_690_536
    assert _count(models.create("resnet34", num_classes=1000)) == 21_798_696
    assert _count(models.create("mobilenet_v2", num_classes=1000)) == 3_504_872
    assert _count(models.create("efficientnet_b0", num_classes=1000)) == 5_288_548


def test_cifar_resnet_structure():
    model = models.create("resnet20")
    assert model.conv1.kernel_size == (3, 3) and model.conv1.out_channels == 16
    assert model.conv1.bias is None
    assert isinstance(model.bn2, nn.BatchNorm1d) and model.bn2.num_features == 64
    assert [len(s) for s in (model.layer1, model.layer2, model.layer3)] == [3, 3, 3]
    assert isinstance(model.layer1[0].shortcut, nn.Identity)
    assert isinstance(model.layer2[0].shortcut, OptionAShortcut)
    assert [len(models.create(f"resnet{d}").layer1) for d in (32, 44, 56)] == [5, 7, 9]
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))


def test_bireal_block_has_a_shortcut_around_each_conv():
    block = models.create("resnet20").layer2[0].eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        mid = block.act1(block.bn1(block.conv1(x)) + block.shortcut(x))
        expected = block.act2(block.bn2(block.conv2(mid)) + mid)
        torch.testing.assert_close(block(x), expected)


def test_option_a_shortcut_shapes_and_values():
    short = OptionAShortcut(16, 32, stride=2)
    x = torch.randn(2, 16, 32, 32)
    y = short(x)
    assert y.shape == (2, 32, 16, 16)
    torch.testing.assert_close(y[:, 8:24], x[:, :, ::2, ::2])
    assert y[:, :8].abs().sum() == 0 and y[:, 24:].abs().sum() == 0
    assert OptionAShortcut(32, 64)(torch.randn(1, 32, 15, 15)).shape == (1, 64, 8, 8)
    assert OptionAShortcut(16, 19, stride=1)(torch.randn(1, 16, 4, 4)).shape == (1, 19, 4, 4)
    with pytest.raises(ValueError, match="only add channels"):
        OptionAShortcut(32, 16)


def test_binarize_resnet20_keeps_stem_and_classifier():
    bnn, report = dirnet.binarize(models.create("resnet20"), method="dirnet", return_report=True)
    assert type(bnn.conv1) is nn.Conv2d
    assert type(bnn.fc) is nn.Linear
    binary = [n for n, m in bnn.named_modules() if isinstance(m, dirnet.BinaryConv2d)]
    assert len(binary) == 18
    assert all(n.startswith("layer") and n.endswith(("conv1", "conv2")) for n in binary)
    assert sorted(report.kept()) == ["conv1", "fc"]


def test_binarize_resnet18_keeps_downsample_full_precision():
    bnn = dirnet.binarize(models.create("resnet18"), method="dirnet")
    binary = [n for n, m in bnn.named_modules() if isinstance(m, dirnet.BinaryConv2d)]
    assert len(binary) == 16
    for stage in ("layer2", "layer3", "layer4"):
        down = bnn.get_submodule(f"{stage}.0.shortcut.0")
        assert type(down) is nn.Conv2d and down.kernel_size == (1, 1) and down.stride == (2, 2)


def test_binarize_keeps_depthwise_convs():
    bnn = dirnet.binarize(models.create("mobilenet_v1", width_mult=0.25), method="dirnet")
    for block in bnn.features:
        assert type(block.dw) is nn.Conv2d and block.dw.groups > 1
        assert isinstance(block.pw, dirnet.BinaryConv2d)


def test_resnet18_cifar_stem():
    for model in (models.create("resnet18", cifar=True), models.create("resnet18", stem="cifar")):
        assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
        assert isinstance(model.maxpool, nn.Identity)
        feats = model.layer4(
            model.layer3(
                model.layer2(
                    model.layer1(model.act1(model.bn1(model.conv1(torch.randn(2, 3, 32, 32)))))
                )
            )
        )
        assert feats.shape[-2:] == (4, 4)
    imagenet = models.create("resnet18")
    assert imagenet.conv1.kernel_size == (7, 7) and isinstance(imagenet.maxpool, nn.MaxPool2d)
    with pytest.raises(ValueError, match="contradicts"):
        models.create("resnet18", cifar=True, stem="imagenet")
    with pytest.raises(ValueError, match="stem"):
        models.create("resnet18", stem="tiny")


def test_vgg_small_structure():
    model = models.create("vgg_small")
    assert model.fc.in_features == 8192
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (3, 128),
        (128, 128),
        (128, 256),
        (256, 256),
        (256, 512),
        (512, 512),
    ]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.bias is None for c in convs)
    assert models.create("vgg_small", in_channels=1, input_size=28).fc.in_features == 512 * 9


def test_grayscale_inputs():
    _forward_backward(models.create("resnet20", in_channels=1), size=28, channels=1)
    _forward_backward(
        models.create("vgg_small", in_channels=1, input_size=28, width=32), size=28, channels=1
    )


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "efficientnet_b0"])
def test_small_input_keeps_a_4x4_map(name):
    x = torch.randn(2, 3, 32, 32)
    small = models.create(name, small_input=True, width_mult=0.25)
    big = models.create(name, width_mult=0.25)
    assert small.features(small.stem(x)).shape[-2:] == (4, 4)
    assert big.features(big.stem(x)).shape[-2:] == (1, 1)


def test_efficientnet_blocks():
    model = models.create("efficientnet_b0")
    assert len(model.features) == 16
    assert isinstance(model.features[1].se, models.squeeze_excite.SqueezeExcite)
    assert isinstance(model.stem[2], nn.SiLU)
    assert all(m.p == 0 for m in model.modules() if isinstance(m, models.drop_path.DropPath))
    bnn = dirnet.binarize(model, keep=["*.se.*"])
    assert type(bnn.features[1].se.reduce) is nn.Conv2d
    assert isinstance(bnn.features[1].project[0], dirnet.BinaryConv2d)


def test_darts_defaults_and_options():
    model = models.create("darts")
    assert model.genotype == models.DARTS_V2._replace(
        normal=list(models.DARTS_V2.normal), reduce=list(models.DARTS_V2.reduce)
    )
    assert len(model.cells) == 20 and model.aux_head is None
    assert [i for i, c in enumerate(model.cells) if c.reduction] == [6, 13]
    assert model.stem[0].out_channels == 108

    aux = models.create("darts", C=8, layers=5, auxiliary=True, genotype="DARTS_V1")
    x = torch.randn(2, 3, 32, 32)
    logits, aux_logits = aux.train()(x)
    assert logits.shape == aux_logits.shape == (2, 10)
    assert aux.eval()(x).shape == (2, 10)

    aux.set_drop_path_prob(0.2)
    drops = [m for m in aux.modules() if isinstance(m, models.drop_path.DropPath)]
    assert drops and all(m.p == 0.2 for m in drops)


def test_darts_custom_genotype_and_errors():
    geno = models.Genotype(
        normal=[("sep_conv_5x5", 0), ("dil_conv_5x5", 1), ("avg_pool_3x3", 2), ("none", 0)],
        normal_concat=[2, 3],
        reduce=[("skip_connect", 0), ("dil_conv_3x3", 1), ("max_pool_3x3", 2), ("sep_conv_3x3", 1)],
        reduce_concat=[2, 3],
    )
    model = models.create("darts", C=4, layers=3, genotype=geno)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown op"):
        models.create("darts", genotype=geno._replace(normal=[("conv_9x9", 0), ("none", 1)]))
    with pytest.raises(ValueError, match="reads node"):
        models.create("darts", genotype=geno._replace(normal=[("none", 2), ("none", 1)]))
    with pytest.raises(ValueError, match="unknown genotype name"):
        models.create("darts", genotype="DARTS_V9")


def test_unknown_name_lists_available_models():
    for exc in (KeyError, ValueError):
        with pytest.raises(exc) as info:
            models.create("resnet21")
        assert "resnet20" in str(info.value) and "vgg_small" in str(info.value)


def test_unknown_option_names_accepted_ones():
    with pytest.raises(TypeError, match="depht") as info:
        models.create("resnet20", depht=3)
    assert "in_channels" in str(info.value) and "width" in str(info.value)
    with pytest.raises(ValueError, match="num_classes"):
        models.create("resnet20", num_classes=0)
    with pytest.raises(ValueError, match="activation"):
        models.create("resnet20", act="sigmoidal")


def test_register_custom_builder():
    try:

        @models.register("tiny_test_net")
        def tiny(num_classes: int = 10, in_channels: int = 3, hidden: int = 4) -> nn.Module:
            return nn.Sequential(
                nn.Conv2d(in_channels, hidden, 3),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Linear(hidden, num_classes),
            )

        assert "tiny_test_net" in models.names()
        assert models.create("tiny_test_net", num_classes=3, hidden=5)(
            torch.randn(1, 3, 8, 8)
        ).shape == (1, 3)
        with pytest.raises(ValueError, match="already registered"):
            models.register("tiny_test_net")(lambda num_classes=10: nn.Identity())
        with pytest.raises(TypeError, match="hidden"):
            models.create("tiny_test_net", depth=3)
    finally:
        _REGISTRY.pop("tiny_test_net", None)


def test_register_class_with_fixed_model_args():
    class Tiny(nn.Module):
        def __init__(self, num_classes: int = 10, depth: int = 1, hidden: int = 4) -> None:
            super().__init__()
            self.depth = depth
            self.fc = nn.Linear(hidden, num_classes)

    try:
        assert models.register("tiny_cls_net")(Tiny) is Tiny
        models.register("tiny_cls_net3", model_args={"depth": 3})(Tiny)
        assert models.create("tiny_cls_net", num_classes=3, depth=2).depth == 2
        m = models.create("tiny_cls_net3", num_classes=3, hidden=5)
        assert isinstance(m, Tiny) and m.depth == 3 and m.fc.weight.shape == (3, 5)
        with pytest.raises(TypeError, match="accepted options: hidden"):
            models.create("tiny_cls_net3", depth=2)  # fixed by the name, not an option
        models.register("tiny_cls_net3", model_args={"depth": 3})(Tiny)  # same entry again: fine
        with pytest.raises(ValueError, match="already registered"):
            models.register("tiny_cls_net3", model_args={"depth": 4})(Tiny)
        with pytest.raises(TypeError, match="no argument"):
            models.register("tiny_cls_bad", model_args={"dept": 3})(Tiny)
    finally:
        for name in ("tiny_cls_net", "tiny_cls_net3", "tiny_cls_bad"):
            _REGISTRY.pop(name, None)


def test_create_returns_fresh_models():
    a, b = models.create("resnet20"), models.create("resnet20")
    assert a is not b and a.conv1.weight.data_ptr() != b.conv1.weight.data_ptr()


@pytest.mark.parametrize("method", ["bnn", "xnor", "bireal", "irnet", "reactnet"])
def test_resnet20_binarizes_with_every_method(method):
    bnn = dirnet.binarize(models.create("resnet20"), method=method)
    _forward_backward(bnn)

"""binarize(): which layers convert, copies, state round trips, set_progress."""
import copy

import pytest
import torch
from torch import nn

import dirnet
from dirnet.nn import BinaryConv2d, BinaryLinear, RPReLU


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = nn.Hardtanh()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = nn.Hardtanh()
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        sc = x if self.down is None else self.down(x)
        out = self.act1(self.bn1(self.conv1(x)) + sc)
        return self.act2(self.bn2(self.conv2(out)) + out)


def tiny_resnet(classes=10):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.Hardtanh(),
        Block(8, 8, 1), Block(8, 16, 2),
        nn.Conv2d(16, 16, 3, 1, 1, groups=16),  # depthwise: kept
        nn.Conv2d(16, 16, 1),  # pointwise stride 1: binarized
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.BatchNorm1d(16), nn.Linear(16, classes))


def test_converts_exactly_the_expected_layers():
    fp = tiny_resnet()
    before = copy.deepcopy(fp.state_dict())
    bnn, report = dirnet.binarize(fp, "dirnet", return_report=True)
    assert sorted(report.binarized()) == sorted(
        ["3.conv1", "3.conv2", "4.conv1", "4.conv2", "6"])
    assert sorted(report.kept()) == sorted(["0", "4.down.0", "5", "10"])
    assert type(bnn[0]) is nn.Conv2d and type(bnn[10]) is nn.Linear
    assert type(bnn[4].down[0]) is nn.Conv2d and type(bnn[5]) is nn.Conv2d
    assert isinstance(bnn[3].conv1, BinaryConv2d) and isinstance(bnn[6], BinaryConv2d)
    # input untouched; latent weights copied
    assert all(type(m) in (nn.Conv2d, nn.Linear) for m in fp.modules() if hasattr(m, "weight")
               and isinstance(m, (nn.Conv2d, nn.Linear)))
    for k, v in fp.state_dict().items():
        assert torch.equal(v, before[k])
    torch.testing.assert_close(bnn[3].conv1.weight, fp[3].conv1.weight)
    x = torch.randn(2, 3, 16, 16)
    assert bnn(x).shape == fp(x).shape == (2, 10)
    # names of the original modules are preserved
    fp_names = {n for n, _ in fp.named_modules()}
    bnn_names = {n for n, _ in bnn.named_modules()}
    assert fp_names <= bnn_names


def test_keep_patterns_and_predicates():
    fp = tiny_resnet()
    _, r = dirnet.binarize(fp, keep=["3.*"], return_report=True)
    assert "3.conv1" in r.kept() and "4.conv1" in r.binarized()
    _, r = dirnet.binarize(fp, keep=lambda n, m: isinstance(m, nn.Conv2d) and m.stride == (2, 2),
                           return_report=True)
    assert "4.conv1" in r.kept() and "3.conv1" in r.binarized()
    with pytest.raises(TypeError, match="keep entries"):
        dirnet.binarize(fp, keep=[3])
    with pytest.raises(TypeError, match="keep must be a name pattern.*got int"):
        dirnet.binarize(fp, keep=5)


def test_reactnet_replaces_activations():
    bnn, r = dirnet.binarize(tiny_resnet(), "reactnet", return_report=True)
    assert isinstance(bnn[3].act1, RPReLU)
    assert any(e.action == "replaced" for e in r)
    bnn(torch.randn(2, 3, 16, 16))  # materialises the lazy RPReLUs


@pytest.mark.parametrize("method", dirnet.methods.names())
def test_state_dict_round_trip_outputs_and_grads(method):
    torch.manual_seed(1)
    a = dirnet.binarize(tiny_resnet(), method)
    x = torch.randn(4, 3, 16, 16)
    a(x)  # materialise lazy modules, move running stats
    dirnet.set_progress(a, 0.6, epochs=5)
    torch.manual_seed(2)
    b = dirnet.binarize(tiny_resnet(), method)
    b(x)
    b.load_state_dict(a.state_dict())
    if method in ("irnet", "dirnet"):
        est = b[3].conv1.input_quantizer.estimator
        assert float(est.progress) == pytest.approx(0.6)
    for m in (a, b):
        m.train()
    ya, yb = a(x), b(x)
    torch.testing.assert_close(ya, yb)
    ya.square().sum().backward()
    yb.square().sum().backward()
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, msg=n)


@pytest.mark.parametrize("method", dirnet.methods.names())
def test_training_steps_reduce_loss(method):
    torch.manual_seed(0)
    model = dirnet.binarize(tiny_resnet(4), method)
    x = torch.randn(32, 3, 16, 16)
    y = torch.randint(0, 4, (32,))
    model(x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(30):
        dirnet.set_progress(model, step / 30)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < losses[0] * 0.8, losses


def test_binary_linear_inside():
    fp = nn.Sequential(nn.Linear(8, 16), nn.Hardtanh(), nn.Linear(16, 16), nn.Linear(16, 3))
    bnn, r = dirnet.binarize(fp, "irnet", return_report=True)
    assert isinstance(bnn[2], BinaryLinear) and type(bnn[0]) is nn.Linear and type(bnn[3]) is nn.Linear


def test_errors():
    with pytest.raises(TypeError, match="nn.Module"):
        dirnet.binarize("resnet20")
    with pytest.raises(KeyError, match="available"):
        dirnet.binarize(tiny_resnet(), "bogus")
    with pytest.raises(TypeError, match="unknown recipe field"):
        dirnet.binarize(tiny_resnet(), "dirnet", temperature=3)
    bnn = dirnet.binarize(tiny_resnet())
    with pytest.raises(ValueError, match="already contains binary"):
        dirnet.binarize(bnn)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dirnet.set_progress(bnn, 1.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dirnet.set_progress(bnn, float("nan"))
    reflect = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
                            nn.Flatten(), nn.LazyLinear(2))
    with pytest.raises(ValueError, match="padding_mode"):
        dirnet.binarize(reflect)


def test_public_names_resolve():
    """Every name in dirnet.__all__ (lazy submodules included) imports."""
    for name in dirnet.__all__:
        assert getattr(dirnet, name) is not None, name
    assert set(dirnet._LAZY_SUBMODULES) <= set(dirnet.__all__)

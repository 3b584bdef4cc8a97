"""BinaryConv2d / BinaryLinear: numerics, padding, state."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dirnet
from dirnet.nn import BinaryConv2d
from dirnet.parts import sign_pm1


def reference_conv(layer: BinaryConv2d, x):
    signs, scale = layer.binary_weight()
    xb = sign_pm1(x)
    ph, pw = layer.padding
    xb = F.pad(xb, (pw, pw, ph, ph), value=layer.pad_value)
    return F.conv2d(xb, signs * scale.view(-1, 1, 1, 1), layer.bias, layer.stride)


@pytest.mark.parametrize("method", dirnet.methods.names())
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_matches_reference(method, stride):
    layer = dirnet.methods.get(method).conv2d(5, 7, 3, stride=stride, padding=1).eval()
    x = torch.randn(2, 5, 9, 9)
    if method == "reactnet":
        x = x + layer.input_quantizer.shift.bias.view(1, -1, 1, 1)  # zero threshold anyway
    torch.testing.assert_close(layer(x), reference_conv(layer, x))


def test_one_padding_at_borders():
    layer = dirnet.methods.get("bnn").conv2d(1, 1, 3, padding=1)
    with torch.no_grad():
        layer.weight.fill_(1.0)  # binary weight: all +1, scale 1
    x = -torch.ones(1, 1, 4, 4)  # binarized input: all -1
    y = layer(x)[0, 0]
    assert y[1, 1].item() == -9  # interior: 9 x (-1)
    assert y[0, 0].item() == -4 + 5  # corner: 4 inputs, 5 padded +1s
    assert y[0, 1].item() == -6 + 3  # edge: 6 inputs, 3 padded +1s


def test_zero_padding_option_is_exact():
    layer = dirnet.methods.get("bnn").conv2d(1, 1, 3, padding=1, pad_value=0.0)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    y = layer(-torch.ones(1, 1, 4, 4))[0, 0]
    assert y[0, 0].item() == -4 and y[0, 1].item() == -6 and y[1, 1].item() == -9


def test_zero_input_binarizes_to_plus_one():
    layer = dirnet.methods.get("bnn").conv2d(2, 1, 1)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    assert layer(torch.zeros(1, 2, 3, 3)).flatten().tolist() == [2.0] * 9


def test_same_padding_string():
    layer = dirnet.methods.get("bnn").conv2d(3, 4, 3, padding="same")
    assert layer(torch.randn(1, 3, 6, 5)).shape == (1, 4, 6, 5)


def test_linear_matches_reference():
    layer = dirnet.methods.get("dirnet").linear(10, 4).eval()
    x = torch.randn(3, 10)
    signs, scale = layer.binary_weight()
    torch.testing.assert_close(layer(x), F.linear(sign_pm1(x), signs * scale[:, None], layer.bias))


def test_usual_attributes():
    conv = dirnet.methods.get("dirnet").conv2d(3, 8, 3, stride=2, padding=1)
    assert isinstance(conv, nn.Conv2d)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
            conv.groups) == (3, 8, (3, 3), (2, 2), (1, 1), 1)
    lin = dirnet.methods.get("dirnet").linear(5, 2)
    assert isinstance(lin, nn.Linear) and (lin.in_features, lin.out_features) == (5, 2)


def test_dte_running_sigma_tracks_spread():
    layer = dirnet.methods.get("dirnet").conv2d(3, 2, 3, padding=1)
    x = torch.randn(16, 3, 8, 8) * torch.tensor([0.5, 1.0, 2.0]).view(1, 3, 1, 1)
    for _ in range(60):
        layer(x)
    torch.testing.assert_close(layer.input_quantizer.running_sigma, torch.tensor([0.5, 1.0, 2.0]),
                               atol=0.05, rtol=0.05)


def test_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        dirnet.methods.get("dirnet").conv2d(3, 3, 3, padding=1, padding_mode="reflect")
    with pytest.raises(ValueError, match="pad_value"):
        dirnet.methods.get("dirnet").conv2d(3, 3, 3, pad_value=0.5)
    with pytest.raises(KeyError, match="available"):
        dirnet.methods.get("magic").conv2d(3, 3, 3)

"""IMB and the other weight transforms."""

import pytest
import torch

from dirnet.nn.quantizers import WeightQuantizer
from dirnet.parts import IMB, NoTransform, XNORScale, make_weight_transform
from dirnet.parts.estimators import ClippedSTE


def test_imb_balance_standardize_power_of_two():
    w = torch.randn(8, 4, 3, 3) * 0.05 + 0.3  # unbalanced: all filters shifted positive
    imb = IMB()
    w_std, scale = imb(w)
    flat = w_std.reshape(8, -1)
    torch.testing.assert_close(flat.mean(1), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(flat.std(1), torch.ones(8), atol=1e-3, rtol=0)
    exps = torch.log2(scale)
    assert torch.all(exps == torch.round(exps))
    expected = 2 ** torch.round(torch.log2(flat.abs().mean(1)))
    torch.testing.assert_close(scale, expected)
    assert not scale.requires_grad


def test_imb_binary_weights_exactly_pm_scale():
    w = torch.randn(6, 3, 3, 3)
    q = WeightQuantizer(IMB(), ClippedSTE())
    out = q(w)
    signs, scale = q.binary_weight(w)
    torch.testing.assert_close(out, signs * scale.view(-1, 1, 1, 1))
    assert set(signs.unique().tolist()) <= {-1.0, 1.0}
    for c in range(6):
        assert set(out[c].abs().unique().tolist()) == {scale[c].item()}


def test_imb_restores_balance_of_constant_sign_filter():
    w = torch.rand(1, 16, 3, 3) + 0.1  # every latent weight positive
    signs, _ = WeightQuantizer(NoTransform(), ClippedSTE()).binary_weight(w)
    assert signs.mean().item() == 1.0
    signs, _ = WeightQuantizer(IMB(), ClippedSTE()).binary_weight(w)
    assert abs(signs.mean().item()) < 0.3


def test_imb_gradients_flow_through_mean_and_std():
    imb = IMB()
    w = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda v: imb.standardize(v), (w,))


def test_xnor_scale_is_mean_abs():
    w = torch.randn(5, 3, 3, 3)
    w_t, scale = XNORScale()(w)
    torch.testing.assert_close(scale, w.abs().reshape(5, -1).mean(1))
    assert w_t is w


def test_constant_filter_has_finite_scale():
    w = torch.ones(2, 3, 3, 3)
    w_std, scale = IMB()(w)
    assert torch.isfinite(w_std).all() and torch.isfinite(scale).all()


def test_unknown_transform():
    with pytest.raises(KeyError, match="choose one of"):
        make_weight_transform("ternary")


def test_power_of_two_rounding_boundary():
    # mean |w_std| of a standard normal is sqrt(2/pi) ~ 0.80 -> log2 ~ -0.33 -> scale 1
    w = torch.randn(1, 20000)
    _, scale = IMB()(w)
    assert scale.item() == 1.0

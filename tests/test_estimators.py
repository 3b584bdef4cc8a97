"""Each estimator's gradient equals its closed form, across the schedule."""
import math

import pytest
import torch

from dirnet.parts import (
    DTE,
    EDE,
    ApproxSign,
    ClippedSTE,
    IdentitySTE,
    binarize_with,
    make_estimator,
    sign_pm1,
    tanh_schedule,
)

POINTS = torch.tensor([-2.0, -1.0, -0.999, -0.5, -1e-3, 0.0, 1e-3, 0.5, 0.999, 1.0, 2.0],
                      dtype=torch.float64)


def grad_through(est, x, inv_scale=None):
    x = x.clone().requires_grad_(True)
    binarize_with(x, est, inv_scale).sum().backward()
    return x.grad


def test_sign_zero_is_plus_one():
    x = torch.tensor([-1.0, -0.0, 0.0, 1e-30, -1e-30, 3.0])
    assert sign_pm1(x).tolist() == [-1.0, 1.0, 1.0, 1.0, -1.0, 1.0]
    assert binarize_with(x, ClippedSTE()).tolist() == [-1.0, 1.0, 1.0, 1.0, -1.0, 1.0]


def test_clipped_ste_closed_form():
    g = grad_through(ClippedSTE(), POINTS)
    assert g.tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]


def test_identity_ste():
    assert torch.all(grad_through(IdentitySTE(), POINTS) == 1)


def test_approxsign_closed_form():
    g = grad_through(ApproxSign(), POINTS)
    expected = torch.clamp(2 - 2 * POINTS.abs(), min=0)
    torch.testing.assert_close(g, expected)
    # it is the derivative of the piecewise polynomial 2x + x|x| on [-1, 1], ±1 outside
    x = POINTS.clone().requires_grad_(True)
    poly = torch.where(x.abs() < 1, 2 * x - x * x.abs() * 1.0, torch.sign(x))
    poly.sum().backward()
    torch.testing.assert_close(g, x.grad)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.75, 1.0])
def test_ede_closed_form_across_schedule(p):
    est = EDE(t_min=1e-3, t_max=10.0, granularity="iteration")
    est.set_progress(p)
    t = 1e-3 * 10 ** (p * math.log10(10 / 1e-3))
    k = max(1 / t, 1.0)
    assert float(est.t) == pytest.approx(t, rel=1e-6)
    assert float(est.k) == pytest.approx(k, rel=1e-6)
    expected = k * t * (1 - torch.tanh(t * POINTS) ** 2)
    torch.testing.assert_close(grad_through(est, POINTS), expected, rtol=1e-5, atol=1e-7)
    # and it is the derivative of k * tanh(t x)
    x = POINTS.clone().requires_grad_(True)
    (k * torch.tanh(t * x)).sum().backward()
    torch.testing.assert_close(grad_through(est, POINTS), x.grad, rtol=1e-5, atol=1e-7)


def test_ede_stage_boundary():
    # t = 1 happens at p = log10(1/t_min) / log10(t_max/t_min) = 3/4 for (1e-3, 10)
    t, k = tanh_schedule(0.75, 1e-3, 10.0)
    assert t == pytest.approx(1.0) and k == pytest.approx(1.0)
    t0, k0 = tanh_schedule(0.0, 1e-3, 10.0)
    assert k0 * t0 == pytest.approx(1.0)  # stage 1: k t = 1, gradient near identity
    est = EDE(granularity="iteration")
    est.set_progress(0.0)
    assert torch.allclose(grad_through(est, POINTS), torch.ones_like(POINTS), atol=1e-5)
    est.set_progress(1.0)
    assert grad_through(est, torch.tensor([0.0], dtype=torch.float64)).item() == pytest.approx(10.0)


def test_ede_per_epoch_rounds_down():
    est = EDE(granularity="epoch")
    est.set_progress(0.379, epochs=10)  # inside epoch 3
    assert float(est.progress) == pytest.approx(0.3)
    per_iter = DTE(granularity="iteration")
    per_iter.set_progress(0.379, epochs=10)
    assert float(per_iter.progress) == pytest.approx(0.379)


def test_dte_distribution_scaling():
    est = DTE(granularity="iteration")
    est.set_progress(0.9)
    t, k = float(est.t), float(est.k)
    sigma = torch.tensor([0.5, 2.0], dtype=torch.float64).view(1, 2)
    x = torch.randn(5, 2, dtype=torch.float64)
    g = grad_through(est, x, 1 / sigma)
    expected = (k * t / sigma) * (1 - torch.tanh(t * x / sigma) ** 2)
    torch.testing.assert_close(g, expected)


def test_state_in_buffers():
    est = EDE()
    est.set_progress(0.5)
    fresh = EDE()
    fresh.load_state_dict(est.state_dict())
    assert float(fresh.t) == float(est.t) and float(fresh.k) == float(est.k)
    # the backward pass reads host copies of t and k: loading must refresh them
    assert torch.equal(grad_through(fresh, POINTS), grad_through(est, POINTS))
    assert not torch.equal(grad_through(fresh, POINTS), grad_through(EDE(), POINTS))


def test_errors():
    with pytest.raises(KeyError, match="choose one of"):
        make_estimator("nope")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tanh_schedule(1.5, 1e-3, 10)
    with pytest.raises(ValueError, match="granularity"):
        EDE(granularity="weekly")

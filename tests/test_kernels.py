"""Bit-exact tests of the native binary kernels against a slow numpy reference.

Every kernel path this CPU supports is checked (avx512, avx2 or neon_dot, neon, portable, and
the plain `reference` kernels, which the C++ tests compare the others against).
No torch here: `make sanitize` runs this file under AddressSanitizer.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dirnet.deploy import reference as R
from dirnet.deploy._native import kernels

K = kernels()
PATHS = K.paths()
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_paths_reported():
    assert PATHS[-2:] == ["portable", "reference"]
    assert K.path() in PATHS
    assert K.path() != "reference" or os.environ.get("DIRNET_KERNEL") == "reference"
    assert set(PATHS) <= {"avx512", "avx2", "neon_dot", "neon", "portable", "reference"}


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(
    n=st.integers(1, 2), h=st.integers(1, 5), w=st.integers(1, 5), c=st.integers(1, 200),
    border=st.integers(0, 2), use_thr=st.booleans(), seed=st.integers(0, 2**31),
)
def test_pack_matches_reference(path, n, h, w, c, border, use_thr, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = 0.0  # sign(0) = +1
    thr = rng.standard_normal(c).astype(np.float32) if use_thr else None
    if thr is not None:
        x[..., : c // 2] = thr[: c // 2]  # x == thr -> +1
    got = K.pack(x, thr, border, path)
    want = R.pack_signs(R.signs(x, thr))
    b = border
    assert got.shape == (n, h + 2 * b, w + 2 * b, (c + 63) // 64)
    np.testing.assert_array_equal(got[:, b : b + h, b : b + w], want)
    inner = np.zeros(got.shape, bool)
    inner[:, b : b + h, b : b + w] = True
    assert not got[~inner].any(), "border must be zero (= +1)"


def _bconv_case(rng, n, h, w, c, oc, k, stride, pads, dil):
    x = np.where(rng.random((n, h, w, c)) < 0.5, -1.0, 1.0).astype(np.float32)
    wt = np.where(rng.random((oc, c, k, k)) < 0.5, -1.0, 1.0).astype(np.float32)
    xb = R.pack_signs(x)
    wb = R.pack_signs(wt.transpose(0, 2, 3, 1))
    return x, wt, xb, wb


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(
    n=st.integers(1, 2), h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 150),
    oc=st.integers(1, 70), k=st.sampled_from([1, 3, 3, 2]), stride=st.sampled_from([1, 2]),
    pad=st.sampled_from([0, 1]), asym=st.booleans(), dil=st.sampled_from([1, 1, 2]),
    pad_value=st.sampled_from([1.0, 0.0]), seed=st.integers(0, 2**31),
)
def test_bconv_matches_reference(path, n, h, w, c, oc, k, stride, pad, asym, dil, pad_value, seed):
    rng = np.random.default_rng(seed)
    pads = (pad, pad, 1 - pad if asym else pad, pad)
    span = dil * (k - 1) + 1
    if h + pads[0] + pads[2] < span or w + pads[1] + pads[3] < span:
        return
    x, wt, xb, wb = _bconv_case(rng, n, h, w, c, oc, k, stride, pads, dil)
    got = K.bconv2d(xb, wb, c, [stride, stride], list(pads), [dil, dil], pad_value, 2, path)
    want = R.bconv2d_ref(x, wt, (stride, stride), pads, (dil, dil), pad_value)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("c,oc,stride", [(64, 64, 1), (128, 256, 2), (65, 33, 1), (512, 40, 1)])
@pytest.mark.parametrize("pad_value", [1.0, 0.0])
def test_bconv_resnet_shapes(path, c, oc, stride, pad_value):
    """The shapes the ResNets use, with both border conventions."""
    rng = np.random.default_rng(c + oc)
    x, wt, xb, wb = _bconv_case(rng, 2, 7, 6, c, oc, 3, stride, (1, 1, 1, 1), 1)
    got = K.bconv2d(xb, wb, c, [stride, stride], [1, 1, 1, 1], [1, 1], pad_value, 2, path)
    want = R.bconv2d_ref(x, wt, (stride, stride), (1, 1, 1, 1), (1, 1), pad_value)
    np.testing.assert_array_equal(got, want)


def test_paths_agree_exactly():
    rng = np.random.default_rng(7)
    _, _, xb, wb = _bconv_case(rng, 1, 11, 13, 200, 77, 3, 1, (1, 1, 1, 1), 1)
    outs = [K.bconv2d(xb, wb, 200, [1, 1], [1, 1, 1, 1], [1, 1], 0.0, 2, p) for p in PATHS]
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_channel_padding_bits_in_weights_rejected():
    p = K.Plan(1, "portable")
    t0 = p.add_tensor(0, 3)
    p.set_input(t0, 3)
    tb = p.add_tensor(1, 3)
    p.add_pack("pack", t0, tb)
    to = p.add_tensor(0, 4)
    w = np.full((4, 1, 1, 1), 0xFF, dtype=np.uint64)  # bits past channel 3 set
    with pytest.raises(ValueError, match="channel-padding"):
        p.add_bconv("b", tb, to, -1, -1, w, 3, [1, 1], [0, 0, 0, 0], [1, 1], False,
                    A=np.ones(4, np.float32), B=np.zeros(4, np.float32))


def _run(env_value: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIRNET_KERNEL=env_value)
    code = "from dirnet.deploy._native import kernels; print(kernels().path())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize("name", ["portable", "reference"])
def test_env_var_forces_path(name):
    r = _run(name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == name


def test_env_var_bad_value_is_clear_error():
    r = _run("sse9")
    assert r.returncode != 0
    assert "DIRNET_KERNEL must be one of avx512, avx2, neon_dot, neon, portable, reference" in r.stderr
    assert "Traceback" in r.stderr and "ImportError" in r.stderr


def test_set_path_rejects_unknown():
    with pytest.raises(ValueError, match="unknown kernel path"):
        K.set_path("nope")

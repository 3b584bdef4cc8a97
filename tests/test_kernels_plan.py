"""The native graph runtime (dirnet._kernels.Plan) against numpy references.

Fused epilogues (scale/shift, residual, hardtanh/ReLU/PReLU, packed output,
integer thresholds), the fp32 convolution and the small ops. No torch here
(`make sanitize` runs this file under AddressSanitizer).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dirnet.deploy import reference as R
from dirnet.deploy._native import kernels

K = kernels()
PATHS = K.paths()
F32, BITS = 0, 1
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nchw(x_nhwc):
    return np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))


def conv_ref_f64(x, w, stride, pads):
    """fp64 NHWC convolution, zero padding; w is OIHW."""
    n, h, wd, c = x.shape
    oc, _, kh, kw = w.shape
    pt, pl, pb, pr = pads
    xp = np.zeros((n, h + pt + pb, wd + pl + pr, c))
    xp[:, pt : pt + h, pl : pl + wd] = x
    oh = (h + pt + pb - kh) // stride + 1
    ow = (wd + pl + pr - kw) // stride + 1
    out = np.zeros((n, oh, ow, oc))
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, ky : ky + stride * (oh - 1) + 1 : stride, kx : kx + stride * (ow - 1) + 1 : stride]
            out += patch @ w[:, :, ky, kx].T.astype(np.float64)
    return out


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(c=st.integers(1, 140), oc=st.integers(1, 100), stride=st.sampled_from([1, 2]),
       act=st.sampled_from([0, 1, 2, 3]), residual=st.booleans(), pad_value=st.sampled_from([1.0, 0.0]),
       seed=st.integers(0, 2**31))
def test_bconv_float_epilogue(path, c, oc, stride, act, residual, pad_value, seed):
    rng = np.random.default_rng(seed)
    n, h, w = 2, 6, 5
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    thr_in = rng.standard_normal(c).astype(np.float32) * 0.3
    wt = np.where(rng.random((oc, c, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    A = rng.standard_normal(oc).astype(np.float32)
    B = rng.standard_normal(oc).astype(np.float32) * 3
    slope = rng.random(oc).astype(np.float32)
    thr_out = rng.standard_normal(oc).astype(np.float32) * 0.5

    p = K.Plan(2, path)
    t_in = p.add_tensor(F32, c)
    p.set_input(t_in, c)
    t_bits = p.add_tensor(BITS, c)
    p.add_pack("pack", t_in, t_bits, thr_in)
    t_res = -1
    if residual:  # the residual comes from a 1x1 fp conv of the same input
        t_res = p.add_tensor(F32, oc)
        wres = rng.standard_normal((oc, c, 1, 1)).astype(np.float32)
        p.add_conv("resconv", t_in, t_res, -1, -1, wres, [stride, stride], [0, 0, 0, 0], [1, 1],
                   np.ones(oc, np.float32), np.zeros(oc, np.float32))
    t_out = p.add_tensor(F32, oc)
    t_outb = p.add_tensor(BITS, oc)
    wb = R.pack_signs(wt.transpose(0, 2, 3, 1))
    p.add_bconv("bconv", t_bits, t_out, t_outb, t_res, wb, c, [stride, stride], [1, 1, 1, 1], [1, 1],
                pad_value == 0.0, A=A, B=B, act=act, lo=-1.0, hi=1.0, slope=slope, thr=thr_out)
    p.set_output(t_out)
    got = p.run(nchw(x))

    dots = R.bconv2d_ref(R.signs(x, thr_in), wt, (stride, stride), (1, 1, 1, 1), (1, 1), pad_value)
    z = R.fma32(A, dots, B)
    if residual:
        z = z + conv_ref_f64(x, wres, stride, (0, 0, 0, 0)).astype(np.float32)
    if act == 1:
        z = np.clip(z, -1, 1)
    elif act == 2:
        z = np.maximum(z, 0)
    elif act == 3:
        z = np.where(z >= 0, z, z * slope)
    if residual:
        np.testing.assert_allclose(got, nchw(z), rtol=1e-5, atol=1e-4)
    else:  # the same fp32 operations in the same order: bit-identical
        np.testing.assert_array_equal(got, nchw(z.astype(np.float32)))


def _readout_weights(oc):
    """1x1 binary weights W (oc x oc) with W_jc = -1 iff c == j, else +1.

    dot_j = sum_c s_c - 2 s_j, so s_j = (sum_c s_c - dot_j) / 2 and sum_c s_c = mean over j
    of dot_j times oc / (oc - 2) -- recovered exactly below.
    """
    w = np.ones((oc, oc), np.float32)
    np.fill_diagonal(w, -1.0)
    return w


def _bits_via_plan(p, t_bits, oc):
    """Adds a readout conv that turns packed signs back into floats (exactly)."""
    w = _readout_weights(oc)
    t_out = p.add_tensor(F32, oc)
    p.add_bconv("readout", t_bits, t_out, -1, -1, R.pack_signs(w[:, None, None, :]), oc, [1, 1],
                [0, 0, 0, 0], [1, 1], False, A=np.ones(oc, np.float32), B=np.zeros(oc, np.float32))
    p.set_output(t_out)


def _decode_readout(dots):
    oc = dots.shape[-1]
    if oc == 2:
        raise ValueError
    total = dots.sum(axis=-1, keepdims=True) / (oc - 2)  # sum_j dot_j = (oc - 2) * S
    return (total - dots) / 2


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(c=st.integers(1, 100), oc=st.integers(3, 80), seed=st.integers(0, 2**31),
       neg=st.booleans(), zero_gamma=st.booleans())
def test_threshold_epilogue_equals_float_path(path, c, oc, seed, neg, zero_gamma):
    """BN + hardtanh + sign folded into integer thresholds gives the float path's bits."""
    rng = np.random.default_rng(seed)
    n, h, w = 1, 5, 4
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    wt = np.where(rng.random((oc, c, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    A = (rng.standard_normal(oc) * 0.1).astype(np.float32)
    if neg:
        A[::2] = -np.abs(A[::2])
    if zero_gamma:
        A[1::3] = 0.0
    B = (rng.standard_normal(oc) * 2).astype(np.float32)
    thr = (rng.standard_normal(oc) * 0.5).astype(np.float32)
    thr[::4] = 1.0  # at the hardtanh bound
    kbits = 9 * c
    T, sgn = K.integer_thresholds(A, B, kbits, act=1, lo=-1.0, hi=1.0, thr=thr)  # the C++ planner's folding
    outs = []
    for mode in ("float", "thresh"):
        p = K.Plan(1, path)
        t_in = p.add_tensor(F32, c)
        p.set_input(t_in, c)
        tb = p.add_tensor(BITS, c)
        p.add_pack("pack", t_in, tb)
        t_mid = p.add_tensor(BITS, oc)
        wb = R.pack_signs(wt.transpose(0, 2, 3, 1))
        if mode == "float":
            p.add_bconv("b", tb, -1, t_mid, -1, wb, c, [1, 1], [1, 1, 1, 1], [1, 1], False, A=A, B=B,
                        act=1, thr=thr)
        else:
            p.add_bconv("b", tb, -1, t_mid, -1, wb, c, [1, 1], [1, 1, 1, 1], [1, 1], False, T=T, sgn=sgn)
        _bits_via_plan(p, t_mid, oc)
        outs.append(p.run(nchw(x)))
    np.testing.assert_array_equal(outs[0], outs[1])
    dots = R.bconv2d_ref(R.signs(x), wt, (1, 1), (1, 1, 1, 1)).astype(np.float32)
    z = np.clip(R.fma32(A, dots, B), -1, 1)
    want_s = np.where(z >= thr, 1.0, -1.0)
    got_s = _decode_readout(outs[0].transpose(0, 2, 3, 1).astype(np.float64))
    np.testing.assert_array_equal(got_s, want_s)


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(c=st.integers(1, 20), oc=st.integers(1, 130), k=st.sampled_from([1, 3, 7]),
       stride=st.sampled_from([1, 2]), seed=st.integers(0, 2**31))
def test_fp_conv(path, c, oc, k, stride, seed):
    rng = np.random.default_rng(seed)
    pad = k // 2
    x = rng.standard_normal((2, 9, 8, c)).astype(np.float32)
    w = rng.standard_normal((oc, c, k, k)).astype(np.float32)
    A = rng.standard_normal(oc).astype(np.float32)
    B = rng.standard_normal(oc).astype(np.float32)
    p = K.Plan(2, path)
    t_in = p.add_tensor(F32, c)
    p.set_input(t_in, c)
    t_out = p.add_tensor(F32, oc)
    p.add_conv("conv", t_in, t_out, -1, -1, w, [stride, stride], [pad] * 4, [1, 1], A, B, act=2)
    p.set_output(t_out)
    got = p.run(nchw(x))
    want = np.maximum(A * conv_ref_f64(x, w, stride, (pad,) * 4) + B, 0)
    np.testing.assert_allclose(got, nchw(want), rtol=1e-4, atol=1e-4)


def test_small_ops():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 9, 6)).astype(np.float32)
    p = K.Plan(2)
    t_in = p.add_tensor(F32, 6)
    p.set_input(t_in, 6)
    t_mp = p.add_tensor(F32, 6)
    p.add_maxpool("mp", t_in, t_mp, [3, 3], [2, 2], [1, 1], [1, 1], False)
    t_ap = p.add_tensor(F32, 6)
    p.add_avgpool("ap", t_mp, t_ap, [2, 2], [1, 1], [0, 0], False, True)
    t_sc = p.add_tensor(F32, 10)
    p.add_shortcut_a("sc", t_ap, t_sc, 2, 2, 2)
    A = rng.standard_normal(10).astype(np.float32)
    B = rng.standard_normal(10).astype(np.float32)
    t_bn = p.add_tensor(F32, 10)
    p.add_eltwise("bn", t_sc, -1, t_bn, A, B, 1)
    t_add = p.add_tensor(F32, 10)
    p.add_eltwise("add", t_bn, t_sc, t_add)
    t_gap = p.add_tensor(F32, 10)
    p.add_adaptive_avg("gap", t_add, t_gap, 1, 1)
    t_fl = p.add_tensor(F32, -1)
    p.add_flatten("flat", t_gap, t_fl)
    p.set_output(t_fl)
    got = p.run(nchw(x))

    xp = np.full((2, 9, 11, 6), -np.inf, np.float32)
    xp[:, 1:8, 1:10] = x
    mp = np.stack([np.stack([xp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max(axis=(1, 2))
                             for j in range(5)], 1) for i in range(4)], 1)
    ap = (mp[:, :-1, :-1] + mp[:, 1:, :-1] + mp[:, :-1, 1:] + mp[:, 1:, 1:]) / 4
    sc = np.zeros((2, 2, 2, 10), np.float32)
    sc[..., 2:8] = ap[:, ::2, ::2]
    bn = np.clip(A * sc + B, -1, 1)
    add = bn + sc
    want = add.mean(axis=(1, 2))
    assert got.shape == (2, 10, 1, 1)
    np.testing.assert_allclose(got[:, :, 0, 0], want, rtol=1e-5, atol=1e-6)


def test_run_rejects_bad_input():
    p = K.Plan(1)
    t = p.add_tensor(F32, 3)
    p.set_input(t, 3)
    t2 = p.add_tensor(F32, 3)
    p.add_maxpool("mp", t, t2, [3, 3], [1, 1], [0, 0], [1, 1], False)
    p.set_output(t2)
    with pytest.raises(TypeError, match="float32"):
        p.run(np.zeros((1, 3, 4, 4), np.float64))
    with pytest.raises(ValueError, match="channels"):
        p.run(np.zeros((1, 4, 4, 4), np.float32))
    with pytest.raises(ValueError, match="too small"):
        p.run(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="4-D"):
        p.run(np.zeros((3, 4, 4), np.float32))
    assert p.run(np.ones((1, 3, 4, 4), np.float32)).shape == (1, 3, 2, 2)


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(c=st.sampled_from([64, 64, 40, 65, 128]), oc=st.sampled_from([64, 48, 80, 7, 16, 33, 128]),
       stride=st.sampled_from([1, 1, 2]), act=st.sampled_from([0, 1, 2, 3]), residual=st.booleans(),
       outs=st.sampled_from(["f", "b", "fb"]), pad_value=st.sampled_from([1.0, 0.0]),
       h=st.integers(1, 13), w=st.integers(1, 13), seed=st.integers(0, 2**31))
def test_bconv_fused_epilogue_outputs(path, c, oc, stride, act, residual, outs, pad_value, h, w, seed):
    """Every output combination of the fused epilogue, bit for bit.

    The AVX-512 path applies BN / residual / activation / sign packing straight
    from its accumulators, compiled once per combination of residual, float
    output and packed output; images up to 13 x 13 give tiles that wrap rows,
    border pixels of zero padding, and blocks of 7, 16, 33 or 48 channels.
    """
    residual = residual and c == oc and stride == 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, h, w, c)).astype(np.float32)
    wt = np.where(rng.random((oc, c, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    A = (rng.standard_normal(oc) * 0.05).astype(np.float32)
    B = rng.standard_normal(oc).astype(np.float32)
    slope = rng.random(oc).astype(np.float32)
    thr = (rng.standard_normal(oc) * 0.3).astype(np.float32)
    if not residual:
        A[3::4] = 0.0
    dots = R.bconv2d_ref(R.signs(x), wt, (stride, stride), (1, 1, 1, 1), (1, 1), pad_value)
    z = R.fma32(A, dots, B)
    if residual:
        z = z + x
    if act == 1:
        z = np.clip(z, np.float32(-1), np.float32(1))
    elif act == 2:
        z = np.maximum(z, np.float32(0))
    elif act == 3:
        z = np.where(z >= 0, z, z * slope)
    # Ties decide the sign (bit = !(z >= thr)): thresholds at the hardtanh bounds
    # and at 0, and channels with A = 0 whose constant output is the threshold.
    thr[1::4] = np.float32(1.0 if act == 1 else 0.0)
    thr[2::4] = np.float32(-1.0 if act == 1 else 0.0)
    if not residual:  # z of these channels is act(B), the same at every pixel
        thr[3::4] = z.reshape(-1, oc)[0, 3::4]
    for check in outs:  # one plan per checked output (a plan has one output)
        p = K.Plan(1, path)
        t_in = p.add_tensor(F32, c)
        p.set_input(t_in, c)
        t_bits = p.add_tensor(BITS, c)
        p.add_pack("pack", t_in, t_bits)
        t_out = p.add_tensor(F32, oc) if "f" in outs else -1
        t_outb = p.add_tensor(BITS, oc) if "b" in outs else -1
        p.add_bconv("bconv", t_bits, t_out, t_outb, t_in if residual else -1,
                    R.pack_signs(wt.transpose(0, 2, 3, 1)), c, [stride, stride], [1, 1, 1, 1], [1, 1],
                    pad_value == 0.0, A=A, B=B, act=act, lo=-1.0, hi=1.0, slope=slope,
                    thr=thr if "b" in outs else None)
        if check == "f":
            p.set_output(t_out)
            np.testing.assert_array_equal(p.run(nchw(x)), nchw(z.astype(np.float32)))
        elif oc > 2:
            _bits_via_plan(p, t_outb, oc)
            got_s = _decode_readout(p.run(nchw(x)).transpose(0, 2, 3, 1).astype(np.float64))
            np.testing.assert_array_equal(got_s, np.where(z >= thr, 1.0, -1.0))

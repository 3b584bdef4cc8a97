"""Binarization parts: forward binarizer, weight transforms, gradient estimators.

Each part is a small object chosen by name (see :mod:`dirnet.methods` for the
recipes that combine them). None of them knows about layers.
"""
from dirnet.parts.estimators import (
    DTE,
    EDE,
    ESTIMATORS,
    ApproxSign,
    ClippedSTE,
    GradientEstimator,
    IdentitySTE,
    make_estimator,
)
from dirnet.parts.schedule import tanh_schedule
from dirnet.parts.sign import binarize_with, sign_pm1
from dirnet.parts.weights import (
    IMB,
    WEIGHT_TRANSFORMS,
    NoTransform,
    WeightTransform,
    XNORScale,
    make_weight_transform,
)

__all__ = [
    "ESTIMATORS", "DTE", "EDE", "ApproxSign", "ClippedSTE", "GradientEstimator", "IdentitySTE",
    "make_estimator", "tanh_schedule", "binarize_with", "sign_pm1", "WEIGHT_TRANSFORMS", "IMB",
    "NoTransform", "WeightTransform", "XNORScale", "make_weight_transform",
]

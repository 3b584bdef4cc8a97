"""Binarization methods as recipes: small, serializable combinations of parts.

A :class:`Recipe` names a weight transform, a gradient estimator for weights
and one for activations, an optional activation shift (RSign), an optional
activation replacement (RPReLU), the padding value and the schedule. Layers
are configured by a recipe; :func:`dirnet.binarize` applies one to a model.

    >>> import dirnet
    >>> dirnet.methods.names()
    ['bireal', 'bnn', 'dirnet', 'irnet', 'reactnet', 'xnor']
    >>> dirnet.methods.get("irnet").replace(t_min=0.1)   # VGG-Small's setting
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from torch import nn

from dirnet.nn.binary_layers import BinaryConv2d, BinaryLinear
from dirnet.nn.quantizers import ActivationQuantizer, WeightQuantizer
from dirnet.nn.react import RSign
from dirnet.parts.estimators import ESTIMATORS, make_estimator
from dirnet.parts.weights import WEIGHT_TRANSFORMS, make_weight_transform

_SHIFTS = ("none", "rsign")
_ACTIVATIONS = ("keep", "rprelu")
_GRANULARITIES = ("epoch", "iteration")


@dataclass(frozen=True)
class Recipe:
    """A binarization method: which part plays which role.

    Fields (all plain values, so a recipe round-trips through YAML/JSON):
      weight_transform   'none' | 'xnor' | 'imb'
      weight_estimator   'identity' | 'ste' | 'approxsign' | 'ede' | 'dte'
      input_estimator    same choices, for activations
      input_shift        'none' | 'rsign' (learnable per-channel threshold)
      activation         'keep' | 'rprelu' (replace Hardtanh/ReLU/PReLU modules)
      pad_value          1.0 (one padding) or 0.0 (zero padding)
      t_min, t_max       temperature range of EDE/DTE
      granularity        'epoch' | 'iteration': when EDE/DTE's temperature moves
      distribution       DTE only: scale the soft region by the activation's spread
      distill            use RBD distillation when a teacher is given (training)
    """

    name: str
    description: str = ""
    weight_transform: str = "none"
    weight_estimator: str = "ste"
    input_estimator: str = "ste"
    input_shift: str = "none"
    activation: str = "keep"
    pad_value: float = 1.0
    t_min: float = 1e-3
    t_max: float = 10.0
    granularity: str = "epoch"
    distribution: bool = False
    sigma_momentum: float = 0.1
    distill: bool = False

    def __post_init__(self) -> None:
        _check_choice("weight_transform", self.weight_transform, sorted(WEIGHT_TRANSFORMS))
        _check_choice("weight_estimator", self.weight_estimator, sorted(ESTIMATORS))
        _check_choice("input_estimator", self.input_estimator, sorted(ESTIMATORS))
        _check_choice("input_shift", self.input_shift, _SHIFTS)
        _check_choice("activation", self.activation, _ACTIVATIONS)
        _check_choice("granularity", self.granularity, _GRANULARITIES)
        if float(self.pad_value) not in (0.0, 1.0):
            raise ValueError(f"pad_value must be 1.0 or 0.0, got {self.pad_value!r}")
        if not (0 < self.t_min <= self.t_max):
            raise ValueError(f"need 0 < t_min <= t_max, got {self.t_min!r}, {self.t_max!r}")
        # A recipe instance documents itself: help text for `dirnet.methods.get(name).__doc__`.
        object.__setattr__(self, "__doc__", self.describe())

    # -- building the parts -------------------------------------------------
    def _estimator(self, name: str, *, for_weights: bool):
        return make_estimator(name, t_min=self.t_min, t_max=self.t_max,
                              granularity=self.granularity,
                              distribution=self.distribution and not for_weights)

    def make_input_quantizer(self, channels: int, channel_dim: int = 1) -> ActivationQuantizer:
        shift = RSign(channels, channel_dim) if self.input_shift == "rsign" else None
        return ActivationQuantizer(channels, self._estimator(self.input_estimator, for_weights=False),
                                   shift=shift, channel_dim=channel_dim,
                                   sigma_momentum=self.sigma_momentum)

    def make_weight_quantizer(self) -> WeightQuantizer:
        return WeightQuantizer(make_weight_transform(self.weight_transform),
                               self._estimator(self.weight_estimator, for_weights=True))

    # -- building layers: the only place a recipe meets the layer classes -----
    def _quantization(self, in_channels: int, channel_dim: int) -> dict[str, Any]:
        return {"input_quantizer": self.make_input_quantizer(in_channels, channel_dim),
                "weight_quantizer": self.make_weight_quantizer(), "method": self.name}

    def conv2d(self, in_channels: int, out_channels: int, kernel_size, *args: Any,
               pad_value: float | None = None, **kwargs: Any) -> BinaryConv2d:
        """A new :class:`BinaryConv2d` (``nn.Conv2d``'s arguments) quantized as this recipe says."""
        return BinaryConv2d(in_channels, out_channels, kernel_size, *args,
                            **self._quantization(in_channels, 1),
                            pad_value=self.pad_value if pad_value is None else pad_value, **kwargs)

    def linear(self, in_features: int, out_features: int, bias: bool = True,
               **kwargs: Any) -> BinaryLinear:
        """A new :class:`BinaryLinear` (``nn.Linear``'s arguments) quantized as this recipe says."""
        return BinaryLinear(in_features, out_features, bias, **self._quantization(in_features, -1),
                            **kwargs)

    def binary_copy(self, layer: nn.Conv2d | nn.Linear) -> BinaryConv2d | BinaryLinear:
        """A binary copy of a float conv or linear: same geometry and latent weights."""
        if isinstance(layer, nn.Conv2d):
            return BinaryConv2d.from_float(layer, **self._quantization(layer.in_channels, 1),
                                           pad_value=self.pad_value)
        if isinstance(layer, nn.Linear):
            return BinaryLinear.from_float(layer, **self._quantization(layer.in_features, -1))
        raise TypeError(f"a recipe binarizes nn.Conv2d and nn.Linear, not {type(layer).__name__}")

    # -- (de)serialisation --------------------------------------------------
    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed; unknown field names raise TypeError."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown recipe field(s) {unknown}; known fields: {sorted(known)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        return cls(**d)

    def describe(self) -> str:
        parts = [
            f"weights: {self.weight_transform} transform, sign, {self.weight_estimator} backward",
            f"activations: {'RSign + ' if self.input_shift == 'rsign' else ''}sign, "
            f"{self.input_estimator} backward"
            + (" scaled by the activation spread" if self.distribution and
               self.input_estimator == "dte" else ""),
        ]
        if "ede" in (self.weight_estimator, self.input_estimator) or "dte" in (
            self.weight_estimator, self.input_estimator
        ):
            parts.append(f"schedule: t {self.t_min:g} -> {self.t_max:g}, per {self.granularity}")
        if self.activation == "rprelu":
            parts.append("activations replaced by RPReLU")
        if self.distill:
            parts.append("RBD distillation when a teacher is given")
        parts.append("one padding" if self.pad_value == 1.0 else "zero padding")
        head = f"{self.name}: {self.description}" if self.description else self.name
        return head + "\n  " + "\n  ".join(parts)


def _check_choice(field: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"recipe field {field}={value!r} is not allowed; choose one of {[*allowed]}")


_REGISTRY: dict[str, Recipe] = {}


def register(name: str, recipe: Recipe, *, overwrite: bool = False) -> Recipe:
    """Add a user's own recipe under ``name`` (its ``name`` field is set to it)."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"register() needs a dirnet.methods.Recipe, got {type(recipe).__name__}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"method {name!r} is already registered (pass overwrite=True to replace it)")
    recipe = recipe.replace(name=name)
    _REGISTRY[name] = recipe
    return recipe


def get(name: str) -> Recipe:
    """The registered recipe called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown binarization method {name!r}; available: {names()}") from None
    except TypeError:
        raise TypeError(f"method name must be a string, got {type(name).__name__}") from None


def get_recipe(method: str | Recipe) -> Recipe:
    """Accept a name or a Recipe."""
    return method if isinstance(method, Recipe) else get(method)


def names() -> list[str]:
    """Names of all registered methods, sorted."""
    return sorted(_REGISTRY)


def describe(name: str) -> str:
    return get(name).describe()


register("bnn", Recipe(
    "bnn", "BinaryNet (Courbariaux et al. 2016, arXiv:1602.02830): plain sign, clipped "
    "straight-through estimator",
    weight_transform="none", weight_estimator="ste", input_estimator="ste"))
register("xnor", Recipe(
    "xnor", "XNOR-Net (Rastegari et al. 2016, arXiv:1603.05279): per-channel mean-|W| weight "
    "scale, clipped STE (weight scaling only; no activation scaling, as in most modern "
    "reimplementations)",
    weight_transform="xnor", weight_estimator="ste", input_estimator="ste"))
register("bireal", Recipe(
    "bireal", "Bi-Real Net (Liu et al. 2018, arXiv:1808.00278): mean-|W| weight scale, ApproxSign "
    "for activations, clipped STE for weights (use the zoo's Bi-Real shortcuts)",
    weight_transform="xnor", weight_estimator="ste", input_estimator="approxsign"))
register("irnet", Recipe(
    "irnet", "IR-Net (Qin et al. 2020, arXiv:1909.10788): Libra-PB weights (balance, standardize, "
    "power-of-two scale) and EDE for weights and activations, t from 1e-3 to 10 per epoch",
    weight_transform="imb", weight_estimator="ede", input_estimator="ede",
    t_min=1e-3, t_max=10.0, granularity="epoch"))
register("reactnet", Recipe(
    "reactnet", "ReActNet (Liu et al. 2020, arXiv:2003.03488), single stage: RSign thresholds, "
    "RPReLU activations, mean-|W| weight scale, ApproxSign for activations, clipped STE for "
    "weights",
    weight_transform="xnor", weight_estimator="ste", input_estimator="approxsign",
    input_shift="rsign", activation="rprelu"))
register("dirnet", Recipe(
    "dirnet", "DIR-Net (Qin et al. 2022, arXiv:2109.12338): IMB weights and DTE (two-stage, "
    "distribution-sensitive) for weights and activations; RBD distillation when a teacher is "
    "given",
    weight_transform="imb", weight_estimator="dte", input_estimator="dte",
    t_min=1e-3, t_max=10.0, granularity="iteration", distribution=True, distill=True))

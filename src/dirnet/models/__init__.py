"""Model zoo: ``create(name, num_classes=10, **options)``, ``names()``, ``register(name)``.

Every builder returns the FULL-PRECISION network in a binary-friendly form
(Hardtanh/SiLU activations, Bi-Real shortcuts for ResNets); binarize it with
``dirnet.binarize``. Each model exposes ``stage_names``: the module names whose
outputs mark the end of a resolution stage (default RBD alignment points).
See docs/models.md for inputs, options and what stays full precision.
"""

from __future__ import annotations

# Importing the model modules registers their builders.
from . import darts as _darts  # noqa: F401
from . import efficientnet as _efficientnet  # noqa: F401
from . import mobilenet_v1 as _mobilenet_v1  # noqa: F401
from . import mobilenet_v2 as _mobilenet_v2  # noqa: F401
from . import resnet_cifar as _resnet_cifar  # noqa: F401
from . import resnet_imagenet as _resnet_imagenet  # noqa: F401
from . import vgg_small as _vgg_small  # noqa: F401
from .bireal_block import BiRealBlock
from .darts_genotype import DARTS_V1, DARTS_V2, GENOTYPES, PRIMITIVES, Genotype
from .registry import UnknownModelError, create, get_builder, register
from .registry import list_models as names
from .shortcut import OptionAShortcut

__all__ = [
    "DARTS_V1",
    "DARTS_V2",
    "GENOTYPES",
    "PRIMITIVES",
    "BiRealBlock",
    "Genotype",
    "OptionAShortcut",
    "UnknownModelError",
    "create",
    "get_builder",
    "names",
    "register",
]

"""``binarize(model, method)``: a binary copy of any model built from torch modules."""
from __future__ import annotations

import copy
import fnmatch
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from torch import nn

from dirnet.methods import Recipe, get_recipe
from dirnet.nn.binary_layers import BinaryConv2d, BinaryLinear
from dirnet.nn.react import RPReLU

log = logging.getLogger("dirnet")

KeepRule = str | Callable[[str, nn.Module], bool]
_ACTIVATIONS = (nn.Hardtanh, nn.ReLU, nn.PReLU)


@dataclass(frozen=True)
class ConversionEntry:
    """One line of the conversion report."""

    name: str
    kind: str  # torch class name of the original module
    action: str  # "binarized" | "kept" | "replaced"
    reason: str

    def __str__(self) -> str:
        return f"{self.action:9s} {self.name:40s} {self.kind:12s} {self.reason}"


class ConversionReport(list):
    """A list of :class:`ConversionEntry` with readable ``str``."""

    def binarized(self) -> list[str]:
        return [e.name for e in self if e.action == "binarized"]

    def kept(self) -> list[str]:
        return [e.name for e in self if e.action == "kept"]

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self)


def _keep_rules(keep: KeepRule | Iterable[KeepRule] | None) -> list[KeepRule]:
    if keep is None:
        return []
    if isinstance(keep, str) or callable(keep):
        return [keep]
    if not isinstance(keep, Iterable):
        raise TypeError(f"keep must be a name pattern (str), a predicate f(name, module) -> bool, "
                        f"or a list of them; got {type(keep).__name__}")
    rules = [*keep]
    for r in rules:
        if not (isinstance(r, str) or callable(r)):
            raise TypeError(f"keep entries must be name patterns (str) or predicates "
                            f"f(name, module) -> bool, got {type(r).__name__}")
    return rules


def _user_keeps(rules: list[KeepRule], name: str, module: nn.Module) -> bool:
    return any(fnmatch.fnmatchcase(name, r) if isinstance(r, str) else r(name, module) for r in rules)


def _default_reason_to_keep(name: str, m: nn.Module, first_layer: str | None,
                            last_linear: str | None) -> str | None:
    if name == first_layer:
        return f"first {'conv' if isinstance(m, nn.Conv2d) else 'layer'} (full precision by default)"
    if name == last_linear:
        return "last linear (full precision by default)"
    if isinstance(m, nn.Conv2d):
        if m.groups > 1:
            return f"grouped/depthwise conv (groups={m.groups}) kept full precision"
        if m.kernel_size == (1, 1) and max(m.stride) > 1:
            return "1x1 strided conv (downsample shortcut) kept full precision"
    return None


def _set_submodule(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def binarize(
    model: nn.Module,
    method: str | Recipe = "dirnet",
    *,
    keep: KeepRule | Iterable[KeepRule] | None = None,
    return_report: bool = False,
    **recipe_overrides,
):
    """Return a binarized deep copy of ``model`` (the argument is left untouched).

    Every ``nn.Conv2d`` and ``nn.Linear`` becomes a :class:`BinaryConv2d` /
    :class:`BinaryLinear` with the same name, geometry and latent weights,
    except (by default) the first conv, the last linear, 1x1 convs with stride
    > 1 (ResNet downsample shortcuts) and grouped/depthwise convs, which stay
    the same torch modules. ``keep`` adds name patterns (fnmatch, e.g.
    ``"layer1.*"``) or predicates ``f(name, module) -> bool`` of layers to keep.
    ``recipe_overrides`` change fields of the method's recipe (e.g.
    ``t_min=0.1``). With ``return_report=True`` returns ``(model, report)``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"binarize() needs a torch.nn.Module, got {type(model).__name__}")
    recipe = get_recipe(method)
    if recipe_overrides:
        recipe = recipe.replace(**recipe_overrides)
    if any(isinstance(m, (BinaryConv2d, BinaryLinear)) for m in model.modules()):
        raise ValueError("model already contains binary layers; binarize the full-precision model")
    rules = _keep_rules(keep)

    model = copy.deepcopy(model)
    named = [*model.named_modules()]
    layers = [n for n, m in named if type(m) in (nn.Conv2d, nn.Linear)]
    linears = [n for n, m in named if type(m) is nn.Linear]
    first_layer = layers[0] if layers else None  # the first conv (or linear, in an MLP)
    last_linear = linears[-1] if linears else None

    report = ConversionReport()
    for name, m in named:
        kind = type(m).__name__
        if type(m) in (nn.Conv2d, nn.Linear):
            reason = "kept by the keep= argument" if _user_keeps(rules, name, m) else \
                _default_reason_to_keep(name, m, first_layer, last_linear)
            if reason is not None:
                report.append(ConversionEntry(name, kind, "kept", reason))
                continue
            if isinstance(m, nn.Conv2d) and m.padding_mode != "zeros":
                raise ValueError(
                    f"cannot binarize {name}: padding_mode={m.padding_mode!r}; binary convs "
                    f"support constant padding only (keep it with keep=[{name!r}])")
            new = recipe.binary_copy(m)
            _set_submodule(model, name, new)
            report.append(ConversionEntry(name, kind, "binarized", recipe.name))
        elif recipe.activation == "rprelu" and type(m) in _ACTIVATIONS and not _user_keeps(rules, name, m):
            _set_submodule(model, name, RPReLU().to(_device_of(model)))
            report.append(ConversionEntry(name, kind, "replaced", "RPReLU (ReActNet)"))
        elif isinstance(m, (nn.Conv1d, nn.Conv3d, nn.ConvTranspose2d)):
            report.append(ConversionEntry(name, kind, "kept", "layer type not binarized"))

    log.info("binarize(%s): %d binarized, %d kept\n%s", recipe.name,
             len(report.binarized()), len(report.kept()), report)
    return (model, report) if return_report else model


def _device_of(model: nn.Module):
    p = next(model.parameters(), None)
    return p.device if p is not None else "cpu"

"""The run configuration: frozen dataclasses, YAML files, ``key=value`` overrides, strict keys.

A run is described by one :class:`RunConfig` (sections :class:`ModelConfig`,
:class:`DataConfig`, :class:`OptimConfig`, :class:`ScheduleConfig`,
:class:`DistillConfig`, :class:`LogConfig`). Its defaults are the dataclass
defaults; :func:`load_config` layers a YAML file, a ``base`` mapping and
``key=value`` overrides on top. An unknown key or a value of the wrong type is
a :class:`ConfigError` with one line naming the key, so a typo never silently
trains with a default. Checkpoints and ``config.yaml`` hold :meth:`RunConfig.to_dict`
(plain values: loadable with ``weights_only=True``); :meth:`RunConfig.from_dict`
reads them back, filling keys a newer version added with their defaults.
"""
from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union

import yaml


class ConfigError(ValueError):
    """A configuration key or value that the trainer cannot use."""


class _Loader(yaml.SafeLoader):
    """YAML as users write numbers: ``1e-3`` and ``5e-4`` are floats.

    PyYAML follows YAML 1.1, where a float needs a dot (``1.0e-3``), so ``1e-3``
    would be the *string* "1e-3" and fail far from the config; YAML 1.2 and
    every other reader take it as a number.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def parse_yaml(text: str):
    """``text`` as YAML with :class:`_Loader`'s numbers (safe: plain data only)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class ModelConfig:
    #: a zoo name, or "package.module:builder" for a model outside the zoo
    arch: str = "resnet20"
    #: keyword arguments of the zoo builder (free-form: each builder checks its own)
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: start from another run's weights (a run dir or checkpoint), or "teacher" for
    #: distill.teacher's (a binary student from its fp teacher; train/warm_start.py)
    init: str | None = None
    #: square input side for models that take it (detectors: images are resized to it)
    input_size: int | None = None


@dataclass(frozen=True)
class DataConfig:
    name: str = "cifar10"  # cifar10 | fashion_mnist(_demo) | imagefolder | imagelist | voc
    root: str | None = None
    #: VOC-format data: the class names in label order (default: read from the annotations)
    classes: list[str] | None = None
    #: held-out part of the training set (count or fraction)
    val_size: int | float = 0
    #: use only the first N training / test samples (smoke tests)
    train_subset: int | None = None
    test_subset: int | None = None
    #: default | none | crop_flip | flip | ...
    augment: str | None = "default"
    #: global batch (split over DDP ranks)
    batch_size: int = 128
    eval_batch_size: int = 500
    #: processes that decode and augment batches (0: in the training process; None: 0 on
    #: a CPU device, else the rank's share of the CPUs less one, at most 8)
    workers: int | None = None
    #: batches each worker prepares ahead
    prefetch: int = 2
    #: threads (Pillow and torch release the GIL) or processes (GIL-bound augmentation)
    worker_kind: str = "threads"


@dataclass(frozen=True)
class OptimConfig:
    name: str = "sgd"  # sgd | adam | adamw
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass(frozen=True)
class ScheduleConfig:
    name: str = "cosine"  # cosine | step | constant
    epochs: int = 30
    warmup_epochs: int | float = 0
    milestones: list[int | float] = field(default_factory=list)
    gamma: float = 0.1
    min_lr: float = 0.0


@dataclass(frozen=True)
class DistillConfig:
    """RBD; the weights were chosen on held-out data at the CPU budget (BENCHMARKS.md)."""

    teacher: str | None = None
    alpha: float = 0.25
    beta: float = 1.0
    tau: float = 1.0
    layers: str = "auto"


@dataclass(frozen=True)
class LogConfig:
    progress: bool = True
    tensorboard: bool = True
    flips: bool = True
    #: without a terminal, a progress line every this many steps (None: about 10 an epoch)
    every: int | None = None


@dataclass(frozen=True)
class RunConfig:
    #: run name; default "<arch>_<method>_<dataset>"
    name: str | None = None
    out_dir: str = "runs"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: str | None = None  # None | bf16 | fp16 (CUDA only)
    #: torch intra-op threads on CPU (None: torch's default)
    threads: int | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    #: a dirnet.methods name, or "fp" for the full-precision model
    method: str = "dirnet"
    #: overrides of the method's recipe fields (e.g. t_min: 0.1)
    recipe: dict[str, Any] = field(default_factory=dict)
    #: extra layer-name patterns to keep full precision
    keep: list[str] = field(default_factory=list)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Strict: unknown keys and wrong types raise :class:`ConfigError`; missing keys default."""
        return _build(cls, d, "")

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists, in field order (what config.yaml and checkpoints hold)."""
        return _plain(self)

    def replace(self, **dotted: Any) -> RunConfig:
        """A copy with some values changed: ``cfg.replace(**{"optim.lr": 0.05, "seed": 1})``."""
        update: dict[str, Any] = {}
        for key, value in dotted.items():
            _set_dotted(update, key, value)
        return self.merged(update)

    def merged(self, update: dict[str, Any]) -> RunConfig:
        """A copy with a nested mapping merged in (free-form mappings are merged key by key)."""
        d = self.to_dict()
        _merge(d, update)
        return RunConfig.from_dict(d)

    @property
    def run_name(self) -> str:
        arch = self.model.arch.rpartition(":")[2]  # "pkg.mod:builder" -> "builder"
        return self.name or f"{arch}_{self.method}_{self.data.name}"


#: Mappings whose keys are free-form (merged key by key, not checked against fields).
_FREE_FORM = ("kwargs", "recipe")


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def known_keys(cls: type = RunConfig, prefix: str = "") -> list[str]:
    """Every dotted key a config understands, e.g. ``optim.lr``."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        out.append(prefix + f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            out += known_keys(hints[f.name], prefix + f.name + ".")
    return out


def _build(cls: type, d: Any, prefix: str) -> Any:
    where = prefix.rstrip(".") or "the config"
    if not isinstance(d, dict):
        raise ConfigError(f"config key {where!r} must be a mapping, got {d!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = [k for k in d if k not in names]
    if unknown:
        raise ConfigError(f"unknown config key {prefix + str(unknown[0])!r}; known keys: "
                          f"{', '.join(known_keys())}")
    values = {}
    for k, v in d.items():
        typ = hints[k]
        values[k] = _build(typ, v, f"{prefix}{k}.") if dataclasses.is_dataclass(typ) else \
            _check(typ, v, prefix + k)
    return cls(**values)


def _check(typ: Any, value: Any, key: str) -> Any:
    """``value`` as type ``typ`` (an int where a float is wanted becomes a float), or ConfigError."""
    origin = typing.get_origin(typ)
    if origin in (Union, types.UnionType):
        options = typing.get_args(typ)
        if value is None and type(None) in options:
            return None
        for opt in options:
            if opt is not type(None):
                try:
                    return _check(opt, value, key)
                except ConfigError:
                    pass
        raise ConfigError(f"config key {key!r} must be {_describe(typ)}, got {value!r}")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r} must be a list, got {value!r}")
        (item,) = typing.get_args(typ)
        return [_check(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} must be a mapping, got {value!r}")
        return dict(value)
    ok = (isinstance(value, bool) if typ is bool else
          isinstance(value, int) and not isinstance(value, bool) if typ is int else
          isinstance(value, (int, float)) and not isinstance(value, bool) if typ is float else
          isinstance(value, typ))
    if not ok:
        raise ConfigError(f"config key {key!r} must be {_describe(typ)}, got {value!r}")
    if typ is float and not math.isfinite(value):
        raise ConfigError(f"config key {key!r} must be a finite number, got {value!r}")
    return float(value) if typ is float else value


def _describe(typ: Any) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             type(None): "null"}
    args = typing.get_args(typ)
    if typing.get_origin(typ) in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if typing.get_origin(typ) is list:
        return "a list"
    return names.get(typ, getattr(typ, "__name__", str(typ)))


def _merge(base: dict[str, Any], update: dict[str, Any], prefix: str = "") -> None:
    """Merge ``update`` into plain ``base`` in place; nested sections merge key by key."""
    for k, v in update.items():
        if k not in base:
            raise ConfigError(f"unknown config key {prefix + k!r}; known keys: "
                              f"{', '.join(known_keys())}")
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {prefix + k!r} must be a mapping, got {v!r}")
            if k in _FREE_FORM:
                base[k] = {**base[k], **v}
            else:
                _merge(base[k], v, prefix + k + ".")
        else:
            base[k] = v


def _set_dotted(out: dict[str, Any], key: str, value: Any) -> None:
    node = out
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def parse_override(text: str) -> dict[str, Any]:
    """``"optim.lr=0.05"`` -> ``{"optim": {"lr": 0.05}}`` (the value is parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. optim.lr=0.05)")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = parse_yaml(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot parse the value of {key!r}: {_first_line(e)}") from None
    out: dict[str, Any] = {}
    _set_dotted(out, key, value)
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None) -> RunConfig:
    """Defaults <- YAML file (optional) <- ``base`` mapping (optional) <- ``key=value`` overrides."""
    d = RunConfig().to_dict()  # the defaults, as plain values
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} not found")
        try:
            data = parse_yaml(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError:
            raise ConfigError(f"config file {str(p)!r} is not a text (YAML) file") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {str(p)!r} is not valid YAML: {_first_line(e)}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {str(p)!r} must hold a mapping at the top level")
        _merge(d, data)
    if base:
        _merge(d, base)
    for o in overrides or []:
        _merge(d, parse_override(o))
    return RunConfig.from_dict(d)


def _first_line(e: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong and where (line, column)."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def validate(cfg: RunConfig) -> None:
    """The checks across fields that types alone do not express."""
    from dirnet import methods

    if cfg.method != "fp" and cfg.method not in methods.names():
        raise ConfigError(f"method {cfg.method!r} is unknown; choose 'fp' or one of {methods.names()}")
    if cfg.amp not in (None, "bf16", "fp16"):
        raise ConfigError(f"amp must be null, bf16 or fp16, got {cfg.amp!r}")
    if cfg.optim.name not in ("sgd", "adam", "adamw"):
        raise ConfigError(f"optim.name must be sgd, adam or adamw, got {cfg.optim.name!r}")
    if cfg.schedule.name not in ("cosine", "step", "constant"):
        raise ConfigError(f"schedule.name must be cosine, step or constant, got {cfg.schedule.name!r}")
    if cfg.schedule.epochs < 1:
        raise ConfigError(f"schedule.epochs must be a positive integer, got {cfg.schedule.epochs!r}")
    _at_least(1, **{"data.batch_size": cfg.data.batch_size,
                    "data.eval_batch_size": cfg.data.eval_batch_size,
                    "data.train_subset": cfg.data.train_subset,
                    "data.test_subset": cfg.data.test_subset, "threads": cfg.threads,
                    "data.prefetch": cfg.data.prefetch, "model.input_size": cfg.model.input_size,
                    "log.every": cfg.log.every})
    _at_least(0, **{"data.val_size": cfg.data.val_size, "data.workers": cfg.data.workers,
                    "optim.lr": cfg.optim.lr,
                    "optim.weight_decay": cfg.optim.weight_decay,
                    "optim.momentum": cfg.optim.momentum, "schedule.min_lr": cfg.schedule.min_lr,
                    "schedule.warmup_epochs": cfg.schedule.warmup_epochs,
                    "distill.alpha": cfg.distill.alpha, "distill.beta": cfg.distill.beta})
    if isinstance(cfg.data.val_size, float) and cfg.data.val_size >= 1:
        raise ConfigError(f"data.val_size is a count (integer) or a fraction below 1, got "
                          f"{cfg.data.val_size!r}")
    if cfg.data.worker_kind not in ("threads", "processes"):
        raise ConfigError(f"data.worker_kind must be threads or processes, got "
                          f"{cfg.data.worker_kind!r}")
    if cfg.distill.tau <= 0:
        raise ConfigError(f"distill.tau must be positive, got {cfg.distill.tau!r}")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:[0-9]+)?", cfg.device):
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps, got {cfg.device!r}")
    if cfg.model.init == "teacher" and not cfg.distill.teacher:
        raise ConfigError("model.init=teacher needs distill.teacher (the fp run to start from)")
    if len(cfg.optim.betas) != 2:
        raise ConfigError(f"optim.betas must be two numbers, got {cfg.optim.betas!r}")


#: What a resumed run may change (where and how it computes, loads and logs, not what
#: it learns: the batches do not depend on data.workers); ``name``/``out_dir`` only say
#: where the run directory is.
RESUME_MAY_CHANGE = ("threads", "device", "log.", "name", "out_dir", "data.workers",
                     "data.prefetch", "data.worker_kind")


def flat(cfg: RunConfig) -> dict[str, Any]:
    """``{"optim.lr": 0.1, ...}``: every leaf of the config under its dotted key."""
    out: dict[str, Any] = {}

    def walk(d: dict[str, Any], prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict) and k not in _FREE_FORM:
                walk(v, prefix + k + ".")
            else:
                out[prefix + k] = v

    walk(cfg.to_dict(), "")
    return out


def differences(old: RunConfig, new: RunConfig) -> list[tuple[str, Any, Any]]:
    """``(key, old value, new value)`` for every dotted key whose value differs."""
    a, b = flat(old), flat(new)
    return [(k, a[k], b[k]) for k in a if a[k] != b[k]]


def _at_least(low: int, **values: Any) -> None:
    for key, v in values.items():
        if v is not None and v < low:
            what = "a positive integer" if low == 1 else "zero or more"
            raise ConfigError(f"{key} must be {what}, got {v!r}")


def dump(cfg: RunConfig) -> str:
    """The YAML of ``cfg``: what RUN/config.yaml holds."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)

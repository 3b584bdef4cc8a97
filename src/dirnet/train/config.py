"""Run configuration: YAML files with defaults, ``key=value`` overrides, strict keys.

Every key a run understands is listed in :data:`DEFAULTS`; an unknown key in
a file or on the command line is an error naming the known ones, so a typo
never silently trains with a default.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "name": None,  # run name; default "<arch>_<method>_<dataset>"
    "out_dir": "runs",
    "seed": 0,
    "device": "auto",  # auto | cpu | cuda | cuda:N
    "amp": None,  # None | bf16 | fp16 (CUDA only)
    "threads": None,  # torch intra-op threads on CPU (None: torch's default)
    # a zoo name, or "package.module:builder" for a model outside the zoo
    # init: start from another run's weights (a run dir or checkpoint), or "teacher"
    # for distill.teacher's (a binary student from its fp teacher; train/warm_start.py)
    "model": {"arch": "resnet20", "kwargs": {}, "init": None},
    "method": "dirnet",  # a dirnet.methods name, or "fp" for the full-precision model
    "recipe": {},  # overrides of the method's recipe fields (e.g. t_min: 0.1)
    "keep": [],  # extra layer-name patterns to keep full precision
    "data": {
        "name": "cifar10",
        "root": None,
        "val_size": 0,  # held-out part of the training set (count or fraction)
        "train_subset": None,  # use only the first N training samples (smoke tests)
        "test_subset": None,
        "augment": "default",  # default | none | crop_flip | flip | ...
        "batch_size": 128,  # global batch (split over DDP ranks)
        "eval_batch_size": 500,
    },
    "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
              "nesterov": False, "betas": [0.9, 0.999]},
    "schedule": {"name": "cosine", "epochs": 30, "warmup_epochs": 0,
                 "milestones": [], "gamma": 0.1, "min_lr": 0.0},
    # RBD weights chosen on held-out data at the CPU budget (BENCHMARKS.md); RBDLoss's defaults
    "distill": {"teacher": None, "alpha": 0.25, "beta": 1.0, "tau": 1.0, "layers": "auto"},
    "log": {"progress": True, "tensorboard": True, "flips": True},
}


class ConfigError(ValueError):
    """A configuration key or value that the trainer cannot use."""


def _known_keys(d: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        out.append(prefix + k)
        if isinstance(v, dict) and k not in ("kwargs", "recipe"):
            out += _known_keys(v, prefix + k + ".")
    return out


def _merge(base: dict[str, Any], update: dict[str, Any], prefix: str = "") -> None:
    for k, v in update.items():
        if k not in base:
            raise ConfigError(f"unknown config key {prefix + k!r}; known keys: "
                              f"{', '.join(_known_keys(DEFAULTS))}")
        if isinstance(base[k], dict) and k not in ("kwargs", "recipe"):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {prefix + k!r} must be a mapping, got {v!r}")
            _merge(base[k], v, prefix + k + ".")
        elif k in ("kwargs", "recipe"):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {prefix + k!r} must be a mapping, got {v!r}")
            base[k] = {**base[k], **v}
        else:
            base[k] = v


def parse_override(text: str) -> dict[str, Any]:
    """``"optim.lr=0.05"`` -> ``{"optim": {"lr": 0.05}}`` (the value is parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. optim.lr=0.05)")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot parse the value of {key!r}: {e}") from None
    out: dict[str, Any] = {}
    node = out
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults <- YAML file (optional) <- ``base`` dict (optional) <- ``key=value`` overrides."""
    cfg = copy.deepcopy(DEFAULTS)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} not found")
        with open(p) as f:
            data = yaml.safe_load(f) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"config file {str(p)!r} must hold a mapping at the top level")
        _merge(cfg, data)
    if base:
        _merge(cfg, copy.deepcopy(base))
    for o in overrides or []:
        _merge(cfg, parse_override(o))
    validate(cfg)
    return cfg


def validate(cfg: dict[str, Any]) -> None:
    import dirnet

    method = cfg["method"]
    if method != "fp" and method not in dirnet.methods.names():
        raise ConfigError(f"method {method!r} is unknown; choose 'fp' or one of {dirnet.methods.names()}")
    if cfg["amp"] not in (None, "bf16", "fp16"):
        raise ConfigError(f"amp must be null, bf16 or fp16, got {cfg['amp']!r}")
    if cfg["optim"]["name"] not in ("sgd", "adam", "adamw"):
        raise ConfigError(f"optim.name must be sgd, adam or adamw, got {cfg['optim']['name']!r}")
    if cfg["schedule"]["name"] not in ("cosine", "step", "constant"):
        raise ConfigError(f"schedule.name must be cosine, step or constant, got {cfg['schedule']['name']!r}")
    epochs = cfg["schedule"]["epochs"]
    if not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"schedule.epochs must be a positive integer, got {epochs!r}")
    bs = cfg["data"]["batch_size"]
    if not isinstance(bs, int) or bs < 1:
        raise ConfigError(f"data.batch_size must be a positive integer, got {bs!r}")
    if cfg["model"].get("init") == "teacher" and not cfg["distill"]["teacher"]:
        raise ConfigError("model.init=teacher needs distill.teacher (the fp run to start from)")
    if not isinstance(cfg["seed"], int):
        raise ConfigError(f"seed must be an integer, got {cfg['seed']!r}")


def run_name(cfg: dict[str, Any]) -> str:
    arch = cfg["model"]["arch"].rpartition(":")[2]  # "pkg.mod:builder" -> "builder"
    return cfg["name"] or f"{arch}_{cfg['method']}_{cfg['data']['name']}"


def dump(cfg: dict[str, Any]) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)

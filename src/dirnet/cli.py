"""The ``dirnet`` command: train, eval, reestimate-bn, demo, summary, analyze, export, bench, methods, models."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

COMMANDS = {
    "train": "train a model from a YAML config (key=value overrides)",
    "eval": "evaluate a run directory, checkpoint or .dbnn file: top-1, top-5, loss",
    "reestimate-bn": "recompute a trained run's BatchNorm statistics on its training images",
    "demo": "train FP and DIR-Net binary ResNets on the embedded Fashion-MNIST subset",
    "summary": "layer-by-layer parameters, memory and MACs of a zoo model",
    "analyze": "information diagnostics and plots of a run",
    "export": "write a bit-packed .dbnn file from a checkpoint",
    "bench": "latency and size of the deployed model vs PyTorch fp32",
    "methods": "list the binarization methods and what each contains",
    "models": "list the model zoo",
}

# Subcommands implemented elsewhere: (module, function taking argv).
_DELEGATED = {
    "summary": ("dirnet.analysis.cli", "summary_main"),
    "analyze": ("dirnet.analysis.cli", "analyze_main"),
    "export": ("dirnet.deploy.cli", "export_main"),
    "bench": ("dirnet.deploy.bench", "main"),
}


def _usage() -> str:
    lines = ["usage: dirnet COMMAND [options]   (dirnet COMMAND -h for its options)", "", "commands:"]
    lines += [f"  {k:13s} {v}" for k, v in COMMANDS.items()]
    return "\n".join(lines)


def cmd_train(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="dirnet train", description=COMMANDS["train"],
                                epilog="example: dirnet train --config configs/cifar10/"
                                       "resnet20_dirnet_c30.yaml optim.lr=0.05 device=cpu")
    p.add_argument("--config", help="YAML file (see configs/); keys not given take the defaults")
    p.add_argument("--resume", action="store_true", help="continue the run in its run directory")
    p.add_argument("--run-dir", help="run directory (default: OUT_DIR/NAME from the config)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--stop-epoch", type=int, metavar="N",
                   help="stop (resumably) once N epochs are done; the schedule still spans all epochs")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    a = p.parse_intermixed_args(argv)
    if a.stop_epoch is not None and a.stop_epoch < 1:
        p.error("--stop-epoch must be a positive number of epochs")
    from dirnet.config import dump, load_config
    from dirnet.train import train

    cfg = load_config(a.config, a.overrides)
    if a.print_config:
        print(dump(cfg), end="")
        return 0
    summary = train(cfg, resume=a.resume, run_dir=a.run_dir, stop_epoch=a.stop_epoch)
    if summary.get("test_top1") is not None:
        print(f"final test top-1 {summary['test_top1']:.2f}%  ({summary['run_dir']})")
    return 0


def cmd_eval(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="dirnet eval", description=COMMANDS["eval"])
    p.add_argument("target", help="run directory, checkpoint (.pt) or packed model (.dbnn)")
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--data", help="data set name (default: the one the model was trained on)")
    p.add_argument("--data-root", help="data directory (default: the training config's)")
    p.add_argument("--which", default="last", help="checkpoint in a run directory: last, best or bn (dirnet reestimate-bn)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    a = p.parse_args(argv)
    from dirnet.evaluate import evaluate_target

    res = evaluate_target(a.target, split=a.split, data=a.data, data_root=a.data_root, which=a.which)
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{res['target']}  {res['split']} ({res['n']} images): top-1 {res['top1']:.2f}%  "
              f"top-5 {res['top5']:.2f}%  loss {res['loss']:.4f}")
    return 0


def cmd_reestimate_bn(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="dirnet reestimate-bn", description=COMMANDS["reestimate-bn"],
        epilog="writes RUN/checkpoints/bn.pt; compare with: dirnet eval RUN --which bn")
    p.add_argument("target", help="run directory or checkpoint (.pt)")
    p.add_argument("--which", default="last", help="checkpoint in a run directory (default: last)")
    p.add_argument("--batches", type=int, metavar="N", help="at most N batches (default: one epoch)")
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    if a.batches is not None and a.batches < 1:
        p.error("--batches must be a positive number")
    from dirnet.train.bn_reestimate import reestimate_run

    out, rec = reestimate_run(a.target, a.which, max_batches=a.batches, device=a.device)
    print(f"BatchNorm statistics re-estimated over {rec['batches']} batches of "
          f"{rec['batch_size']}: {out}")
    return 0


def cmd_demo(argv: list[str]) -> int:
    from dirnet.demo import main

    return main(argv)


def cmd_methods(argv: list[str]) -> int:
    from dirnet import methods

    for name in methods.names():
        print(methods.describe(name), end="\n\n")
    return 0


def cmd_models(argv: list[str]) -> int:
    from dirnet import models

    print("\n".join(models.names()))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from dirnet._version import __version__

        print(__version__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"dirnet: unknown command {cmd!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        if cmd in _DELEGATED:
            mod, fn = _DELEGATED[cmd]
            try:
                func = getattr(importlib.import_module(mod), fn)
            except (ImportError, AttributeError) as e:
                print(f"dirnet {cmd}: not available in this build ({e})", file=sys.stderr)
                return 2
            return int(func(rest) or 0)
        return int(globals()[f"cmd_{cmd.replace('-', '_')}"](rest) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, KeyError, TypeError, FileNotFoundError, FileExistsError) as e:
        # Bad input from the user: one clear line, no traceback.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"dirnet {cmd}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

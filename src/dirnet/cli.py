"""The ``dirnet`` command: train, eval, detect, reestimate-bn, demo, summary, analyze, export, bench, methods, models."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

COMMANDS = {
    "train": "train a model from a YAML config (key=value overrides)",
    "eval": "evaluate a run directory, checkpoint or .dbnn file: top-1, top-5, loss (detectors: mAP)",
    "detect": "draw a detector's boxes on images (and write them as JSON)",
    "reestimate-bn": "recompute a trained run's BatchNorm statistics on its training images",
    "demo": "train FP and DIR-Net binary ResNets on the embedded Fashion-MNIST subset",
    "summary": "layer-by-layer parameters, memory and MACs of a zoo model",
    "analyze": "information diagnostics and plots of a run",
    "export": "write a bit-packed .dbnn file from a checkpoint",
    "bench": "latency and size of the deployed model vs PyTorch fp32",
    "methods": "list the binarization methods and what each contains",
    "models": "list the model zoo",
    "data": "data-set tools: arrange ImageNet's flat validation folder into class folders",
}

# Subcommands implemented elsewhere: (module, function taking argv).
_DELEGATED = {
    "summary": ("dirnet.analysis.cli", "summary_main"),
    "analyze": ("dirnet.analysis.cli", "analyze_main"),
    "export": ("dirnet.deploy.cli", "export_main"),
    "bench": ("dirnet.deploy.bench", "main"),
    "data": ("dirnet.data.cli", "main"),
    "detect": ("dirnet.detect", "main"),
}


EXIT_CODES = {
    0: "success",
    2: "bad input: usage, config, missing or corrupt files",
    3: "training diverged (a non-finite loss)",
    130: "interrupted (Ctrl-C or SIGTERM); a training run left a resumable checkpoint",
}

# Errors about what the user gave (arguments, configs, paths, files): one line, exit 2.
# FormatError (a corrupt .dbnn) and ConfigError are ValueErrors.
_BAD_INPUT = (ValueError, KeyError, TypeError, FileNotFoundError, FileExistsError,
              IsADirectoryError, NotADirectoryError, PermissionError)


def _usage() -> str:
    lines = ["usage: dirnet COMMAND [options]   (dirnet COMMAND -h for its options)", "", "commands:"]
    lines += [f"  {k:13s} {v}" for k, v in COMMANDS.items()]
    lines += ["", "exit status:"]
    lines += [f"  {k:<4d} {v}" for k, v in EXIT_CODES.items()]
    return "\n".join(lines)


def _is_training_diverged(e: BaseException) -> bool:
    """Whether ``e`` is ``dirnet.train.epoch.TrainingDiverged`` (only training raises it,
    so the trainer is never imported here just to check)."""
    mod = sys.modules.get("dirnet.train.epoch")
    cls = getattr(mod, "TrainingDiverged", None)
    return isinstance(cls, type) and isinstance(e, cls)


def _one_line(e: BaseException) -> str:
    msg = e.args[0] if isinstance(e, KeyError) and e.args else e
    return str(msg) or type(e).__name__


def cmd_train(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="dirnet train", description=COMMANDS["train"],
        epilog="examples:\n"
               "  dirnet train --config configs/cifar10/resnet20_dirnet_c30.yaml optim.lr=0.05\n"
               "  dirnet train --run-dir runs/NAME --resume      # continue a run with its own "
               "config\n"
               "A resumed run keeps its config: only threads, device and log.* may change.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="YAML file (see configs/); keys not given take the defaults")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in its run directory with the run's saved config "
                        "(started from scratch when it has no checkpoint yet)")
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

    if a.resume and a.config is None and a.run_dir is not None:
        # --run-dir RUN --resume [key=value ...]: the run's own config (and harmless changes)
        cfg = load_config(base=_saved_config(a.run_dir).to_dict(), overrides=a.overrides)
    elif a.config is None and not a.overrides and not a.print_config:
        raise ValueError("nothing to train: give --config FILE (see configs/) and/or key=value "
                         "overrides, or --run-dir RUN --resume (--print-config shows the defaults)")
    else:  # the same --config and overrides as the run was started with, checked on resume
        cfg = load_config(a.config, a.overrides)
    if a.print_config:
        print(dump(cfg), end="")
        return 0
    summary = train(cfg, resume=a.resume, run_dir=a.run_dir, stop_epoch=a.stop_epoch)
    done, epochs = summary.get("epochs_done"), summary.get("epochs")
    if summary.get("test_map50") is not None:  # a detector
        figure = f"test mAP@0.5 {summary['test_map50']:.2f}"
    elif summary.get("test_top1") is not None:
        figure = f"test top-1 {summary['test_top1']:.2f}%"
    else:
        return 0
    if done is not None and epochs is not None and done < epochs:
        print(f"stopped after epoch {done} of {epochs}: {figure} so far; continue "
              f"with --run-dir {summary['run_dir']} --resume")
    else:
        print(f"final {figure}  ({summary['run_dir']})")
    return 0


def _saved_config(run_dir: str):
    """The config a run was started with: its last checkpoint's, else its config.yaml."""
    from pathlib import Path

    from dirnet import checkpoint as ckpt
    from dirnet.config import load_config

    run = Path(run_dir)
    if (run / "checkpoints" / "last.pt").is_file():
        return ckpt.config_of(ckpt.load(run))
    if (run / "config.yaml").is_file():
        return load_config(run / "config.yaml")
    raise FileNotFoundError(f"{run_dir!r} is not a run directory (no checkpoints/last.pt, no "
                            f"config.yaml); to start a run there, give --config or overrides")


def cmd_eval(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="dirnet eval", description=COMMANDS["eval"],
        epilog="Without --data, a run trained with data.test_subset=N is scored on the first N "
               "test images, and so is a .dbnn file exported from it (dirnet export records N); "
               "the printed line says how many images. With --data: all of that data set's "
               "test images. A detector (a run with data.name=voc, or its .dbnn export) prints mAP@0.5 and "
               "mAP@[.5:.95] in percent on its own VOC-format data (--data-root: another "
               "folder with the same classes); --json adds per-class AP@0.5.")
    p.add_argument("target", help="run directory, checkpoint (.pt) or packed model (.dbnn)")
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--data", help="data set name (default: the one the model was trained on)")
    p.add_argument("--data-root", help="data directory (default: the training config's when "
                                       "--data is that data set, else the data set's default)")
    p.add_argument("--which", default="last", help="checkpoint in a run directory: last, best or bn (dirnet reestimate-bn)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    a = p.parse_args(argv)
    from dirnet.evaluate import evaluate_target, format_result

    res = evaluate_target(a.target, split=a.split, data=a.data, data_root=a.data_root, which=a.which)
    print(json.dumps(res) if a.json else format_result(res))
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
        print(f"dirnet: error: unknown command {cmd!r}; choose one of {', '.join(COMMANDS)} "
              "(dirnet -h)", file=sys.stderr)
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
    except Exception as e:
        if _is_training_diverged(e):
            print(f"dirnet {cmd}: error: {_one_line(e)}", file=sys.stderr)
            return 3
        if not isinstance(e, _BAD_INPUT):
            raise  # a bug: keep the traceback
        # Bad input from the user: one clear line, no traceback.
        print(f"dirnet {cmd}: error: {_one_line(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

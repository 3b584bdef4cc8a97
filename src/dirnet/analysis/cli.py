"""Command-line entry points ``dirnet summary`` and ``dirnet analyze`` (dispatched by dirnet.cli).

Both return an exit status: 0 on success, 2 for bad arguments or input files
(with a one-line message on stderr, no traceback).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _summary_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dirnet summary",
        description="Parameters, memory and MACs of a zoo model by precision, layer by layer.")
    p.add_argument("--arch", required=True, help="model name from dirnet.models (e.g. resnet20)")
    p.add_argument("--method", default="dirnet",
                   help="binarization method (dirnet.methods.names()), or 'fp' for the "
                        "full-precision model, as in run configs (default: dirnet)")
    p.add_argument("--input-size", type=int, nargs="+", default=None, metavar="N",
                   help="input shape with the batch dimension, e.g. 1 3 224 224 "
                        "(default: 1 C 32 32, C = the model's input channels)")
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--scale-bits", type=int, default=32,
                   help="bits per output-channel weight scale of a binary layer (0 = folded "
                        "into BatchNorm; default 32)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return p


def summary_main(argv: Sequence[str] | None = None) -> int:
    """``dirnet summary --arch NAME --method M [--input-size ...] [--num-classes N] [--json]``."""
    args = _summary_parser().parse_args(argv)
    from torch import nn

    from dirnet import models
    from dirnet.analysis.summary import summary
    from dirnet.convert import binarize

    try:
        model = models.create(args.arch, num_classes=args.num_classes)
        if args.method != "fp":
            model = binarize(model, args.method)
        if args.input_size is None:
            c = next((m.in_channels for m in model.modules() if isinstance(m, nn.Conv2d)), 3)
            size = (1, c, 32, 32)
        else:
            size = tuple(args.input_size)
        s = summary(model, size, scale_bits=args.scale_bits)
    except (KeyError, ValueError, TypeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"dirnet summary: error: {msg}", file=sys.stderr)
        return 2
    print(s.to_json() if args.json else str(s))
    return 0


def _analyze_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dirnet analyze",
        description="Information diagnostics and plots of a training run (or checkpoint); "
                    "given a second run, side-by-side comparisons.")
    p.add_argument("run", help="run directory (holding metrics.jsonl, checkpoints/last.pt) or "
                               "checkpoint file")
    p.add_argument("run2", nargs="?", default=None, help="optional second run to compare with")
    p.add_argument("--out", default=None, help="output directory (default: RUN/analysis)")
    p.add_argument("--data", default=None,
                   help="data set for the activation statistics (default: the run's config)")
    p.add_argument("--data-root", default=None, help="root directory of that data set")
    p.add_argument("--batch-size", type=int, default=64,
                   help="images used for activation and gradient statistics (default 64)")
    p.add_argument("--image-size", type=int, default=32,
                   help="side of the random fallback batch when no data is available")
    return p


def analyze_main(argv: Sequence[str] | None = None) -> int:
    """``dirnet analyze RUN_OR_CKPT [RUN2] [--out DIR] [--data NAME] [--data-root DIR]``."""
    args = _analyze_parser().parse_args(argv)
    from dirnet.analysis.analyze_run import analyze

    try:
        res = analyze(args.run, args.run2, out=args.out, data=args.data, data_root=args.data_root,
                      batch_size=args.batch_size, image_size=args.image_size)
    except (FileNotFoundError, ValueError, TypeError, RuntimeError) as e:
        print(f"dirnet analyze: error: {e}", file=sys.stderr)
        return 2
    for label, diag in res.diagnostics.items():
        print(f"== {label}")
        print(diag)
        print()
    if res.entropy_table:
        print("== binary weight entropy (bits per weight, mean over filters)")
        print(res.entropy_table)
        print()
    for note in res.notes:
        print(f"note: {note}")
    print(f"wrote {len(res.files)} files to {res.out_dir}:")
    for f in res.files:
        print(f"  {f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(analyze_main())

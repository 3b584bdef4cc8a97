"""``dirnet data TOOL ...``: data-set tools (``arrange-val``)."""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

# What the user gave is wrong (paths, label files): one line, exit 2. OSError covers
# a full disk or a permission problem met while linking or copying.
_BAD_INPUT = (ValueError, KeyError, TypeError, OSError)

_ARRANGE_EPILOG = """\
label formats (recognised from the content):
  Kaggle CSV    LOC_val_solution.csv: ImageId,PredictionString rows, the class is the
                first token (ILSVRC2012_val_00008726,n02119789 255 142 454 329 ...)
  list          FILENAME LABEL lines; LABEL a class name (wnid), or with --synsets
                a 0-based class index (Caffe's val.txt)
  ground truth  the devkit's ILSVRC2012_validation_ground_truth.txt: one 1-based
                class index per line, for the images in sorted file-name order;
                needs --synsets
--synsets FILE: line i names class i by its first token (LOC_synset_mapping.txt:
'n01440764 tench, Tinca tinca'). The devkit's class indices follow its
meta.mat (ILSVRC2012_ID) order, NOT the sorted wnids of LOC_synset_mapping.txt:
pass the mapping that belongs to your ground-truth file.

Nothing is written unless every check passes; existing files are never
overwritten (a re-run keeps links it made before). Symlinks are relative.

examples:
  dirnet data arrange-val imagenet/val_flat LOC_val_solution.csv   # -> imagenet/val/<wnid>/
  dirnet data arrange-val imagenet/val ILSVRC2012_validation_ground_truth.txt \\
      --synsets devkit_synsets.txt --mode move                       # in place"""


def _arrange_val(a: argparse.Namespace) -> int:
    from .arrange import execute, plan_arrange

    plan = plan_arrange(a.val_dir, a.labels, synsets=a.synsets, out_dir=a.out, mode=a.mode,
                        allow_unlisted=a.allow_unlisted)
    if a.dry_run:
        print(f"would arrange {plan.summary()}")
        return 0
    execute(plan, progress=True)
    print(f"arranged {plan.summary()}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dirnet data", description="data-set tools")
    sub = p.add_subparsers(dest="tool", metavar="TOOL", required=True)
    a = sub.add_parser(
        "arrange-val", help="arrange ImageNet's flat validation folder into class folders",
        description="Arrange ImageNet's flat validation folder (VAL_DIR/*.JPEG) into\n"
                    "OUT_DIR/<class>/ folders, the layout the imagefolder data set reads.",
        epilog=_ARRANGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("val_dir", metavar="VAL_DIR", help="the flat folder of validation images")
    a.add_argument("labels", metavar="LABELS", help="label file (formats below)")
    a.add_argument("--synsets", metavar="FILE",
                   help="class names in class-index order (needed for class indices)")
    a.add_argument("--out", metavar="OUT_DIR",
                   help="where the class folders go (default: VAL_DIR's sibling 'val'; "
                        "with --mode move and VAL_DIR named val: VAL_DIR itself)")
    a.add_argument("--mode", choices=("symlink", "hardlink", "copy", "move"), default="symlink",
                   help="how images get there (default: symlink)")
    a.add_argument("--allow-unlisted", action="store_true",
                   help="leave out images of VAL_DIR the label file does not list "
                        "(default: an error)")
    a.add_argument("--dry-run", action="store_true",
                   help="check everything and print the summary, write nothing")
    a.set_defaults(func=_arrange_val)
    return p


def main(argv: list[str] | None = None) -> int:
    """``dirnet data ...``; 0 on success, 2 with one ``dirnet data: error:`` line on bad input."""
    a = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(a.func(a) or 0)
    except _BAD_INPUT as e:
        print(f"dirnet data: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Bad invocations of the ``dirnet`` command: one line, the documented exit code, nothing left.

Run in-process through ``dirnet.cli.main(argv)`` (fast; capsys reads stderr).
The contract (README "Command line", ``dirnet -h``):

* An error dirnet finds is exactly one non-empty line on stderr,
  ``dirnet CMD: error: ...`` (``dirnet: error: ...`` for an unknown command),
  with no traceback, and exit status 2 (bad input: usage, config, missing or
  corrupt files), 3 (training diverged) or 130 (interrupted).
* An error argparse finds (a missing argument, an unknown option, a bad
  choice) keeps argparse's own form, exit status 2: the usage
  (``usage: dirnet CMD ...``, wrapped over as many lines as argparse needs),
  then ``dirnet CMD: error: ...`` as the last line. We keep it because the
  usage is what the user needs to see then; the ``kind`` column says which
  form a row expects.
* Nothing is left behind: no output, no temporary file, in the output folder,
  the inputs' folder or the working directory.

Rows are ``(id, argv, exit status, kind, text the message contains)``;
``{ws}`` in argv is a module-scoped folder of inputs, ``{tmp}`` a fresh
output folder (also the working directory).
"""
from __future__ import annotations

import os
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from dirnet.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0_1"
FM_CKPT = FIXTURES / "dirnet_resnet20w8.pt"  # Fashion-MNIST (1 channel) dirnet ResNet-20 width 8


def _write_cifar(folder: Path, n: int = 4) -> None:
    """A tiny CIFAR-10 folder in the official python format (random images)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, n).tolist(),
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"x.png"] * n}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    from dirnet.data import CIFAR10_CLASSES

    meta = {b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_cases_per_batch": n,
            b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=4))


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    """Inputs: the 1-channel fixture checkpoint, a 3-channel CIFAR checkpoint with a fake CIFAR
    folder, exports, and files that are not what they claim to be."""
    from dirnet.build import build_model
    from dirnet.checkpoint import Checkpoint, save_atomic
    from dirnet.config import RunConfig
    from dirnet.deploy.exporter import export

    ws = tmp_path_factory.mktemp("ws")
    shutil.copy(FM_CKPT, ws / "fm.pt")
    _write_cifar(ws / "cifar")
    cfg = RunConfig.from_dict({"model": {"arch": "resnet20", "kwargs": {"width": 8}}, "method": "dirnet",
                               "data": {"name": "cifar10", "root": str(ws / "cifar"), "test_subset": 8}})
    torch.manual_seed(0)
    model = build_model(cfg, num_classes=10, in_channels=3, image_size=32)
    ck = Checkpoint(model=model.state_dict(), optimizer={}, epoch=1, step=0, rng=torch.get_rng_state(),
                    config=cfg.to_dict())
    save_atomic(ck.to_dict(), ws / "cifar.pt")
    torch.save(torch.zeros(3), ws / "zeros.pt")
    rnd = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (ws / "random.pt").write_bytes(rnd)
    (ws / "random.dbnn").write_bytes(rnd)
    (ws / "bad.yaml").write_text("model: {arch: resnet20\n")
    (ws / "notarun").mkdir()
    (ws / "afile").write_text("not a folder\n")
    export(model.eval(), ws / "cifar.dbnn", input_size=(3, 32, 32))
    data = bytearray((ws / "cifar.dbnn").read_bytes())
    start = 8 + struct.unpack("<Q", data[:8])[0]  # tensor data follow the JSON header
    data[start + (len(data) - start) // 2] ^= 0x10  # one bit in the middle of the weights
    (ws / "flipped.dbnn").write_bytes(bytes(data))
    return ws


# (id, argv, exit status, kind: "line" (one line) | "usage" (argparse's usage + error line),
#  text the error line contains)
CASES = [
    # 1. export to a directory or into a folder that does not exist
    ("export-to-directory", ["export", "{ws}/fm.pt", "-o", "{tmp}/outdir"], 2, "line", "is a directory"),
    ("export-missing-folder", ["export", "{ws}/fm.pt", "-o", "{tmp}/missing/x.dbnn"], 2, "line",
     "missing' does not exist"),
    ("export-under-a-file", ["export", "{ws}/fm.pt", "-o", "{ws}/afile/x.dbnn"], 2, "line",
     "is not a directory"),
    # 2. a 1-channel model on 3-channel data
    ("eval-channels", ["eval", "{ws}/fm.pt", "--data", "cifar10", "--data-root", "{ws}/cifar"], 2, "line",
     "the model takes 1-channel images and cifar10 has 3-channel images"),
    ("eval-channels-dbnn", ["eval", "{ws}/cifar.dbnn", "--data", "fashion_mnist_demo"], 2, "line",
     "the model takes 3-channel images and fashion_mnist_demo has 1-channel images"),
    # 3. another data set than the run's: the run's data root is not passed to it
    ("eval-other-data", ["eval", "{ws}/cifar.pt", "--data", "fashion_mnist_demo"], 2, "line",
     "the model takes 3-channel images and fashion_mnist_demo has 1-channel images"),
    # 4. .pt files that are not checkpoints
    ("eval-tensor-pt", ["eval", "{ws}/zeros.pt"], 2, "line", "zeros.pt' is not a dirnet checkpoint (missing"),
    ("eval-random-pt", ["eval", "{ws}/random.pt"], 2, "line", "random.pt' is not a dirnet checkpoint (torch.load:"),
    ("export-random-pt", ["export", "{ws}/random.pt", "-o", "{tmp}/x.dbnn"], 2, "line",
     "random.pt' is not a dirnet checkpoint (torch.load:"),
    # 7. a flipped bit in the weights of a .dbnn file
    ("eval-flipped-dbnn", ["eval", "{ws}/flipped.dbnn"], 2, "line", "checksum mismatch: the file is corrupted"),
    # missing and corrupt inputs
    ("export-missing", ["export", "{ws}/nope.pt", "-o", "{tmp}/x.dbnn"], 2, "line", "no checkpoint or run"),
    ("eval-missing", ["eval", "{ws}/nope"], 2, "line", "no checkpoint or run directory"),
    ("eval-missing-dbnn", ["eval", "{ws}/nope.dbnn"], 2, "line", "no such .dbnn file"),
    ("eval-not-a-run", ["eval", "{ws}/notarun"], 2, "line", "has no checkpoints/last.pt"),
    ("eval-random-dbnn", ["eval", "{ws}/random.dbnn"], 2, "line", "is not a readable .dbnn file"),
    ("eval-unknown-data", ["eval", "{ws}/fm.pt", "--data", "mnist3d"], 2, "line", "unknown data set"),
    ("frobnicate", ["frobnicate"], 2, "line", "unknown command 'frobnicate'"),
    # argparse's own errors: usage line + error line
    ("export-no-args", ["export"], 2, "usage", "the following arguments are required"),
    ("eval-bad-split", ["eval", "{ws}/fm.pt", "--split", "train"], 2, "usage", "invalid choice"),
]

# Config-related bad input (YAML syntax errors, bad values such as data.train_subset=-3 or
# device=tpu, number parsing, a binary file as config, `dirnet train` with no arguments):
# rows in the same form, added by the owner of dirnet.config and the trainer.
TRAIN = ["train", "model.arch=resnet20", "model.kwargs.width=8", "data.name=fashion_mnist_demo",
         "data.train_subset=64", "data.test_subset=32", "data.batch_size=32", "schedule.epochs=1",
         "log.progress=false", "log.tensorboard=false", "out_dir={tmp}/runs"]
CONFIG_CASES: list[tuple] = [
    ("train-no-args", ["train"], 2, "line", "nothing to train: give --config FILE"),
    ("train-yaml-syntax", ["train", "--config", "{ws}/bad.yaml"], 2, "line",
     "bad.yaml' is not valid YAML: expected ',' or '}', but got '<stream end>' at line 2"),
    ("train-binary-config", ["train", "--config", "{ws}/random.pt"], 2, "line",
     "random.pt' is not a text (YAML) file"),
    ("train-missing-config", ["train", "--config", "{ws}/nope.yaml"], 2, "line", "not found"),
    ("train-unknown-key", ["train", "optim.lrr=0.1"], 2, "line", "unknown config key 'optim.lrr'"),
    ("train-negative-subset", ["train", "data.train_subset=-3"], 2, "line",
     "data.train_subset must be a positive integer, got -3"),
    ("train-device-tpu", ["train", "device=tpu"], 2, "line",
     "device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"),
    ("train-lr-nan", ["train", "optim.lr=.nan"], 2, "line", "'optim.lr' must be a finite number"),
    ("train-lr-text", ["train", "optim.lr=fast"], 2, "line", "'optim.lr' must be a number, got 'fast'"),
    ("train-resume-not-a-run", ["train", "--run-dir", "{tmp}/outdir", "--resume"], 2, "line",
     "is not a run directory"),
    # divergence in the first epoch: exit 3, and the run directory it began is removed
    ("train-diverges", [*TRAIN, "method=fp", "optim.lr=1e38"], 3, "line",
     "no checkpoint was written before it (lower optim.lr"),
]


def _files(*folders: Path) -> set[str]:
    return {str(p) for f in folders for p in f.rglob("*")}


def run_cli(argv: list[str]) -> int:
    """``dirnet ARGV`` in-process; argparse's SystemExit becomes the exit status."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code or 0)


@pytest.mark.parametrize("argv,code,kind,text", [pytest.param(*c[1:], id=c[0]) for c in CASES + CONFIG_CASES])
def test_bad_invocation(ws, tmp_path, monkeypatch, capsys, argv, code, kind, text):
    (tmp_path / "outdir").mkdir()
    monkeypatch.chdir(tmp_path)
    argv = [a.format(ws=ws, tmp=tmp_path) for a in argv]
    before = _files(ws, tmp_path)
    assert run_cli(argv) == code
    out, err = capsys.readouterr()
    lines = err.splitlines()
    cmd = argv[0] if argv[0] in ("train", "eval", "export", "demo", "summary", "analyze", "bench",
                                 "reestimate-bn") else None
    prefix = f"dirnet {cmd}: error: " if cmd else "dirnet: error: "
    assert "Traceback" not in err
    if kind == "line":
        assert len(lines) == 1 and lines[0].startswith(prefix) and len(lines[0]) > len(prefix), err
    else:
        assert lines[0].startswith(f"usage: dirnet {cmd} ") and lines[-1].startswith(prefix), err
        assert all(line.startswith(" ") for line in lines[1:-1]), err  # the usage, wrapped
    assert text in lines[-1]
    assert out == ""
    assert _files(ws, tmp_path) == before, "files were left behind"


def test_exit_codes_are_documented(capsys):
    assert main(["-h"]) == 0
    usage = capsys.readouterr().out
    for code, what in ((0, "success"), (2, "bad input"), (3, "training diverged"), (130, "interrupted")):
        assert any(line.split()[:1] == [str(code)] and what in line for line in usage.splitlines()), code
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "| 130 |" in readme and "| 3 |" in readme


def test_diverged_interrupted_and_path_errors(monkeypatch, capsys):
    import dirnet.cli as cli
    from dirnet.train.epoch import TrainingDiverged

    def raiser(exc):
        def cmd(argv):
            raise exc
        return cmd

    monkeypatch.setattr(cli, "cmd_train", raiser(TrainingDiverged("loss is nan at epoch 2, step 7")))
    assert main(["train"]) == 3
    assert capsys.readouterr().err == "dirnet train: error: loss is nan at epoch 2, step 7\n"
    monkeypatch.setattr(cli, "cmd_train", raiser(KeyboardInterrupt()))
    assert main(["train"]) == 130
    for exc in (PermissionError("cannot write 'x': Permission denied"),
                IsADirectoryError("output 'x' is a directory"), NotADirectoryError("'x' is not a directory")):
        monkeypatch.setattr(cli, "cmd_train", raiser(exc))
        assert main(["train"]) == 2
        assert capsys.readouterr().err == f"dirnet train: error: {exc}\n"
    monkeypatch.setattr(cli, "cmd_train", raiser(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):  # not bad input: the traceback stays
        main(["train"])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions (not root)")
def test_export_into_a_read_only_folder(ws, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["export", str(ws / "fm.pt"), "-o", str(ro / "x.dbnn")]) == 2
    finally:
        ro.chmod(0o755)
    err = capsys.readouterr().err
    assert err.startswith("dirnet export: error: ") and err.count("\n") == 1 and "ermission denied" in err
    assert not any(ro.iterdir())


# ----------------------------------------------------------------- what the commands write


def test_written_files_respect_the_umask(ws, tmp_path):
    from dirnet.checkpoint import save_atomic

    old = os.umask(0o022)
    try:
        assert main(["export", str(ws / "fm.pt"), "-o", str(tmp_path / "m.dbnn")]) == 0
        save_atomic({"a": torch.zeros(2)}, tmp_path / "c.pt")
        os.umask(0o077)
        save_atomic({"a": torch.zeros(2)}, tmp_path / "private.pt")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"m.dbnn": 0o644, "c.pt": 0o644, "private.pt": 0o600}


def test_eval_other_data_set_does_not_reuse_the_runs_root(tmp_path, capsys):
    """A Fashion-MNIST (idx files) run evaluated on the embedded subset: its data root, which
    the embedded set cannot take, is not passed on."""
    from dirnet.checkpoint import config_of, load, save_atomic

    ck = load(FM_CKPT)
    cfg = config_of(ck).replace(**{"data.name": "fashion_mnist", "data.root": str(tmp_path / "fmnist")})
    save_atomic({**ck, "config": cfg.to_dict()}, tmp_path / "idx.pt")
    assert main(["eval", str(tmp_path / "idx.pt"), "--data", "fashion_mnist_demo"]) == 0
    assert "test (2000 images)" in capsys.readouterr().out


def test_dbnn_is_evaluated_on_the_runs_test_subset(ws, tmp_path, capsys):
    """`dirnet eval RUN` and `dirnet eval RUN.dbnn` score the same images (data.test_subset)."""
    assert main(["export", str(ws / "fm.pt"), "-o", str(tmp_path / "fm.dbnn"), "--precision", "fp32"]) == 0
    capsys.readouterr()
    assert main(["eval", str(ws / "fm.pt")]) == 0
    assert main(["eval", str(tmp_path / "fm.dbnn")]) == 0
    ck_line, dbnn_line = capsys.readouterr().out.splitlines()
    assert "test (200 images)" in ck_line and "test (200 images)" in dbnn_line
    assert ck_line.split("images):")[1] == dbnn_line.split("images):")[1]  # same figures, fp32
    assert main(["eval", str(tmp_path / "fm.dbnn"), "--data", "fashion_mnist_demo"]) == 0
    assert "test (2000 images)" in capsys.readouterr().out

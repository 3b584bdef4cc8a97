"""--resume continues a run with its own config and never overwrites it; one trainer per run."""
import json
from pathlib import Path

import pytest

from dirnet.cli import main as cli
from dirnet.config import load_config
from dirnet.train.run_lock import run_lock

ARGS = ["model.arch=resnet20", "model.kwargs.width=8", "method=dirnet",
        "data.name=fashion_mnist_demo", "data.train_subset=128", "data.test_subset=64",
        "data.batch_size=64", "schedule.epochs=2", "log.progress=false", "log.tensorboard=false"]


def _train(out: Path, *extra: str) -> int:
    return cli(["train", *ARGS, f"out_dir={out}", "name=r", *extra])


def _lines(run: Path) -> int:
    return len((run / "metrics.jsonl").read_text().splitlines())


@pytest.fixture()
def finished(tmp_path):
    assert _train(tmp_path) == 0
    return tmp_path / "r"


def test_resume_of_a_finished_run_does_nothing(finished, capsys):
    before = (finished / "config.yaml").read_bytes()
    assert cli(["train", "--run-dir", str(finished), "--resume"]) == 0
    assert "is finished: nothing to do" in capsys.readouterr().out
    assert _lines(finished) == 2 and (finished / "config.yaml").read_bytes() == before


@pytest.mark.parametrize("change,key", [("schedule.epochs=3", "schedule.epochs"),
                                        ("optim.lr=0.05", "optim.lr"),
                                        ("data.batch_size=32", "data.batch_size"),
                                        ("model.arch=resnet32", "model.arch")])
def test_resume_refuses_another_config(finished, capsys, change, key):
    before = (finished / "config.yaml").read_bytes()
    last = (finished / "checkpoints" / "last.pt").read_bytes()
    assert cli(["train", "--run-dir", str(finished), "--resume", change]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot resume" in err and key in err
    assert (finished / "config.yaml").read_bytes() == before
    assert (finished / "checkpoints" / "last.pt").read_bytes() == last


def test_resume_with_the_same_config_file_and_overrides_is_accepted(tmp_path, capsys):
    assert _train(tmp_path, "--stop-epoch", "1") == 0
    out = capsys.readouterr().out
    assert "stopped after epoch 1 of 2" in out and "final test top-1" not in out
    run = tmp_path / "r"
    before = (run / "config.yaml").read_bytes()
    assert _train(tmp_path, "--resume", "threads=1") == 0  # threads may change: a note, no error
    out = capsys.readouterr().out
    assert "resuming with threads=1" in out and "final test top-1" in out
    assert _lines(run) == 2 and (run / "config.yaml").read_bytes() == before


def test_run_dir_alone_resumes_with_the_saved_config(tmp_path, capsys):
    assert _train(tmp_path, "--stop-epoch", "1") == 0
    run = tmp_path / "r"
    # no --config: the defaults (full CIFAR-10, 30 epochs) must not replace the run's config
    assert cli(["train", "--run-dir", str(run), "--resume"]) == 0
    assert _lines(run) == 2
    assert load_config(run / "config.yaml").schedule.epochs == 2


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path, capsys):
    assert _train(tmp_path, "--resume") == 0
    assert "starting the run from scratch" in capsys.readouterr().out
    assert _lines(tmp_path / "r") == 2


def test_a_second_trainer_in_the_same_run_directory_is_refused(tmp_path, capsys):
    with run_lock(tmp_path / "r"):
        assert _train(tmp_path) == 2
    err = capsys.readouterr().err
    assert "another process" in err and len(err.strip().splitlines()) == 1
    assert _train(tmp_path) == 0  # released: the run can start
    assert not (tmp_path / "r" / ".lock").exists()


def test_train_without_arguments_is_refused(capsys):
    assert cli(["train"]) == 2
    assert "nothing to train" in capsys.readouterr().err


def test_progress_lines_without_a_terminal(tmp_path, capsys):
    assert cli(["train", *ARGS[:-2], "log.tensorboard=false", "log.every=1", f"out_dir={tmp_path}",
                "name=p", "schedule.epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1  step 1/2  loss" in out


def test_numbers_parse_as_users_write_them(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("optim: {lr: 1e-3, weight_decay: 5e-4}\nschedule: {min_lr: 1e-6}\n")
    cfg = load_config(f, ["optim.momentum=9e-1"])
    assert (cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.momentum) == (1e-3, 5e-4, 0.9)
    assert load_config(overrides=["optim.lr=1e6"]).optim.lr == 1e6
    json.dumps(cfg.to_dict())  # plain numbers, not strings


def test_a_finished_run_kept_without_optimizer_state_is_still_finished(finished, capsys):
    """A teacher checkpoint kept slim (runs/MANIFEST.md) must not break --resume."""
    import torch

    from dirnet.checkpoint import save_atomic

    path = finished / "checkpoints" / "last.pt"
    state = torch.load(path, weights_only=True)
    del state["optimizer"]
    save_atomic(state, path)
    assert cli(["train", "--run-dir", str(finished), "--resume"]) == 0
    assert "is finished: nothing to do" in capsys.readouterr().out

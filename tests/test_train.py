"""Trainer: configs, smoke run, exact resume, divergence, eval, DDP with gloo."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from dirnet.checkpoint import load, load_model
from dirnet.cli import main as cli
from dirnet.config import ScheduleConfig
from dirnet.train import ConfigError, TrainingDiverged, load_config, train
from dirnet.train.lr import lr_at

ROOT = Path(__file__).resolve().parents[1]
TINY = {"model": {"arch": "resnet20"}, "method": "dirnet",
        "data": {"name": "fashion_mnist_demo", "train_subset": 192, "test_subset": 96,
                 "batch_size": 64, "eval_batch_size": 96},
        "schedule": {"epochs": 2}, "log": {"progress": False, "tensorboard": False}}


def tiny_cfg(tmp_path, **over):
    return load_config(base=TINY).replace(out_dir=str(tmp_path), **over)


def test_overrides_and_unknown_keys(tmp_path):
    cfg = load_config(ROOT / "configs/cifar10/resnet20_dirnet_c30.yaml",
                      ["optim.lr=0.05", "schedule.epochs=3", "recipe.t_min=0.1"])
    assert cfg.optim.lr == 0.05 and cfg.schedule.epochs == 3
    assert cfg.recipe == {"t_min": 0.1} and cfg.method == "dirnet"
    with pytest.raises(ConfigError, match="unknown config key 'optim.lrr'"):
        load_config(overrides=["optim.lrr=0.1"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(overrides=["optim.lr"])
    with pytest.raises(ConfigError, match="method"):
        load_config(overrides=["method=magic"])
    with pytest.raises(ConfigError, match="epochs"):
        load_config(overrides=["schedule.epochs=0"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {arch: resnet20}\nbogus: 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        load_config(bad)


def test_every_shipped_config_loads():
    files = sorted((ROOT / "configs").rglob("*.yaml"))
    assert len(files) >= 12
    for f in files:
        load_config(f)
    methods = {load_config(f).method for f in (ROOT / "configs/cifar10").glob("*_c30.yaml")}
    assert methods == {"fp", "bnn", "xnor", "bireal", "irnet", "reactnet", "dirnet"}


def test_lr_schedules():
    s = ScheduleConfig(name="cosine", epochs=10, warmup_epochs=2)
    assert lr_at(s, 0.1, 1.0) == pytest.approx(0.05)
    assert lr_at(s, 0.1, 2.0) == pytest.approx(0.1)
    assert lr_at(s, 0.1, 10.0) == pytest.approx(0.0, abs=1e-12)
    st = ScheduleConfig(name="step", epochs=10, milestones=[3, 6], gamma=0.1)
    assert lr_at(st, 1.0, 5.0) == pytest.approx(0.1) and lr_at(st, 1.0, 7.0) == pytest.approx(0.01)


def test_smoke_run_writes_run_dir(tmp_path, capsys):
    summary = train(tiny_cfg(tmp_path))
    run = Path(summary["run_dir"])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1]
    assert {"train_loss", "test_top1", "test_top5", "flip_ratio", "flip", "epoch_s"} <= set(rows[0])
    assert (run / "config.yaml").exists() and (run / "checkpoints/last.pt").exists()
    assert not (run / "checkpoints/best.pt").exists()  # no validation split: no "best"
    assert summary["test_top1"] == rows[-1]["test_top1"]
    ck = load(run)
    assert ck["epoch"] == 2 and ck["step"] == 0
    model, cfg = load_model(run)
    assert cfg.method == "dirnet"
    # a second train into the same directory without --resume is refused
    with pytest.raises(FileExistsError, match="--resume"):
        train(tiny_cfg(tmp_path))
    assert cli(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"top-1 {rows[-1]['test_top1']:.2f}%" in out


def test_resume_is_exact(tmp_path):
    a = tiny_cfg(tmp_path / "a", **{"schedule.epochs": 3})
    train(a)
    b = tiny_cfg(tmp_path / "b", **{"schedule.epochs": 3})
    train(b, max_epochs=1)
    assert load(tmp_path / "b" / "resnet20_dirnet_fashion_mnist_demo")["epoch"] == 1
    train(b, resume=True)
    sa = load(tmp_path / "a" / "resnet20_dirnet_fashion_mnist_demo")["model"]
    sb = load(tmp_path / "b" / "resnet20_dirnet_fashion_mnist_demo")["model"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_validation_split_gives_best(tmp_path):
    s = train(tiny_cfg(tmp_path, **{"data.val_size": 64, "schedule.epochs": 1, "method": "fp"}))
    run = Path(s["run_dir"])
    assert (run / "checkpoints/best.pt").exists() and s["best_val_top1"] is not None


def test_divergence_stops_with_clear_message(tmp_path):
    from dirnet.train.epoch import _last_good

    cfg = tiny_cfg(tmp_path, **{"optim.lr": 1e38, "method": "fp", "schedule.epochs": 1})
    # in the first epoch there is no checkpoint to name (there used to be a made-up one)
    with pytest.raises(TrainingDiverged, match="no checkpoint was written before it"):
        train(cfg)
    assert not (tmp_path / "resnet20_fp_fashion_mnist_demo" / "checkpoints" / "last.pt").exists()
    (tmp_path / "last.pt").write_bytes(b"")
    assert _last_good(tmp_path / "last.pt") == f"the last good checkpoint is {str(tmp_path / 'last.pt')!r}"


def test_checkpoint_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    bad = tmp_path / "evil.pt"
    torch.save({"model": Evil(), "config": {}}, bad)
    with pytest.raises(ValueError, match="is not a dirnet checkpoint"):
        load(bad)


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert cli(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli(["eval", str(tmp_path / "nothing")]) == 2
    assert cli(["frobnicate"]) == 2


MLP = textwrap.dedent('''
    import torch
    from torch import nn

    def tiny_mlp(num_classes=10, in_channels=1):
        torch.manual_seed(0)
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 28 * 28, 32), nn.Hardtanh(),
                             nn.Linear(32, 32), nn.Hardtanh(), nn.Linear(32, num_classes))
''')


@pytest.mark.slow
def test_ddp_gloo_matches_single_process(tmp_path):
    # irnet, not dirnet: DTE's batch spread differs between a batch and its halves.
    (tmp_path / "ddp_model.py").write_text(MLP)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    common = ["model.arch=ddp_model:tiny_mlp", "method=irnet", "data.name=fashion_mnist_demo",
              "data.train_subset=256", "data.test_subset=64", "data.batch_size=32",
              "data.augment=none", "schedule.epochs=2", "log.progress=false",
              "log.tensorboard=false", "threads=1"]
    single = [sys.executable, "-m", "dirnet.cli", "train", f"out_dir={tmp_path / 'single'}", *common]
    ddp = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29517", "-m", "dirnet.cli", "train", f"out_dir={tmp_path / 'ddp'}", *common]
    for cmd in (single, ddp):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, r.stderr[-3000:]
    name = "tiny_mlp_irnet_fashion_mnist_demo"
    a = load(tmp_path / "single" / name)["model"]
    b = load(tmp_path / "ddp" / name)["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=2e-5, rtol=1e-4, msg=k)


def test_stop_epoch_stops_early_on_the_full_schedule(tmp_path):
    out = tmp_path / "runs"
    args = ["train", "model.arch=resnet20", "method=dirnet", "data.name=fashion_mnist_demo",
            "data.train_subset=128", "data.test_subset=64", "data.batch_size=64",
            "schedule.epochs=3", "log.progress=false", "log.tensorboard=false",
            f"out_dir={out}", "name=early", "--stop-epoch", "1"]
    assert cli(args) == 0
    hist = [json.loads(line) for line in (out / "early/metrics.jsonl").read_text().splitlines()]
    assert len(hist) == 1
    # the cosine schedule spans all 3 epochs: after 1 of them lr is still high
    assert hist[0]["lr"] == pytest.approx(lr_at(load_config(base=TINY).replace(**{"schedule.epochs": 3}).schedule,
                                                0.1, 1 - 1 / 2), rel=1e-6)
    assert load(out / "early")["epoch"] == 1
    assert cli(args[:-2] + ["--resume", "--stop-epoch", "2"]) == 0
    assert len((out / "early/metrics.jsonl").read_text().splitlines()) == 2
    assert cli(args[:-2] + ["--resume", "--stop-epoch", "2"]) == 0  # nothing left: no new epoch
    assert len((out / "early/metrics.jsonl").read_text().splitlines()) == 2


def test_non_finite_running_statistics_stop_the_run(tmp_path):
    """A finite loss with NaN BatchNorm statistics is a diverged run too (no checkpoint of it)."""
    from torch import nn

    from dirnet.train.epoch import check_finite_state

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    check_finite_state(model, 0, tmp_path / "last.pt")  # a sound model passes
    with torch.no_grad():
        model[1].running_var[1] = float("nan")
    with pytest.raises(TrainingDiverged, match=r"1.running_var became NaN or infinite in epoch 3"):
        check_finite_state(model, 2, tmp_path / "last.pt")

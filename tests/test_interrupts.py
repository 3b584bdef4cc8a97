"""Ctrl-C anywhere, then --resume: the run ends exactly as an uninterrupted one.

A real SIGINT is sent at each moment the issue names (start-up, forward pass,
backward pass, optimizer step, end-of-epoch evaluation, checkpoint write),
in-process from a hook, and from outside to a `dirnet train` subprocess at
several delays and seeds. After `--resume`, weights and buffers (BatchNorm
statistics, DTE's running spread, num_batches_tracked), optimizer state, the
flip tracker's reference signs and every metrics.jsonl record (timing aside)
must equal the uninterrupted run's.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dirnet.checkpoint import load
from dirnet.config import load_config
from dirnet.train import builders, engine, train
from dirnet.train.signals import RunInterrupted

NAME = "resnet20_dirnet_fashion_mnist_demo"
TINY = {"model": {"arch": "resnet20", "kwargs": {"width": 8}}, "method": "dirnet",
        "data": {"name": "fashion_mnist_demo", "train_subset": 192, "test_subset": 96,
                 "batch_size": 64, "eval_batch_size": 48},
        "schedule": {"epochs": 2}, "log": {"progress": False, "tensorboard": False}}


def _cfg(out: Path):
    return load_config(base=TINY).replace(out_dir=str(out))


def _metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("epoch_s"), r.pop("data_wait_s")  # timings
    return rows


def assert_same_run(a: Path, b: Path) -> None:
    ca, cb = load(a), load(b)
    assert (ca["epoch"], ca["step"]) == (cb["epoch"], cb["step"])
    assert ca["model"].keys() == cb["model"].keys()
    for k in ca["model"]:  # weights and every buffer
        assert torch.equal(ca["model"][k], cb["model"][k]), k
    sa, sb = ca["optimizer"]["state"], cb["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        for k in sa[i]:
            assert torch.equal(torch.as_tensor(sa[i][k]), torch.as_tensor(sb[i][k])), (i, k)
    assert ca["flip_signs"].keys() == cb["flip_signs"].keys()
    for k in ca["flip_signs"]:
        assert torch.equal(ca["flip_signs"][k], cb["flip_signs"][k]), k
    assert _metrics(a) == _metrics(b)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    train(_cfg(out))
    return out / NAME


def _sigint():
    os.kill(os.getpid(), signal.SIGINT)


class _Nth:
    """Sends SIGINT on the n-th call (counting only calls where ``when()`` holds)."""

    def __init__(self, n: int, when=lambda: True):
        self.n, self.when, self.calls = n, when, 0

    def __call__(self, *args, **kwargs):
        if self.when():
            self.calls += 1
            if self.calls == self.n:
                _sigint()


def _hooked_model(monkeypatch, attach):
    real = engine.build_model

    def build(*a, **kw):
        model = real(*a, **kw)
        attach(model)
        return model

    monkeypatch.setattr(engine, "build_model", build)


def _at_startup(monkeypatch):
    real = builders.build_data

    def build_data(cfg):
        _sigint()
        return real(cfg)

    monkeypatch.setattr(builders, "build_data", build_data)


def _in_forward(monkeypatch):
    def attach(model):
        hit = _Nth(5, when=lambda: model.training)  # epoch 2, step 2 of 3
        model.layer2.register_forward_pre_hook(lambda m, x: hit())

    _hooked_model(monkeypatch, attach)


def _in_backward(monkeypatch):
    def attach(model):
        hit = _Nth(2)
        model.layer3.register_full_backward_hook(lambda m, gi, go: hit())

    _hooked_model(monkeypatch, attach)


def _in_optimizer_step(monkeypatch):
    real = engine.build_optimizer

    def build(*a, **kw):
        opt = real(*a, **kw)
        opt.register_step_pre_hook(_Nth(4))
        return opt

    monkeypatch.setattr(engine, "build_optimizer", build)


def _in_evaluation(monkeypatch):
    def attach(model):
        hit = _Nth(1, when=lambda: not model.training)  # the first end-of-epoch evaluation
        model.layer1.register_forward_pre_hook(lambda m, x: hit())

    _hooked_model(monkeypatch, attach)


def _in_checkpoint_write(monkeypatch):
    real = torch.save
    hit = _Nth(1)

    def save(obj, f, *a, **kw):
        hit()
        return real(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", save)


@pytest.mark.parametrize("moment", [_at_startup, _in_forward, _in_backward, _in_optimizer_step,
                                    _in_evaluation, _in_checkpoint_write],
                         ids=lambda f: f.__name__.strip("_"))
def test_sigint_then_resume_is_exact(moment, tmp_path, reference, monkeypatch, capsys):
    with monkeypatch.context() as m:
        moment(m)
        with pytest.raises(RunInterrupted):
            train(_cfg(tmp_path))
    assert "interrupted: resumable checkpoint" in capsys.readouterr().err
    train(_cfg(tmp_path), resume=True)
    assert_same_run(reference, tmp_path / NAME)


def test_second_sigint_stops_at_once_and_the_last_checkpoint_still_resumes(tmp_path, reference,
                                                                             monkeypatch):
    def attach(model):
        first, second = _Nth(4, lambda: model.training), _Nth(4, lambda: model.training)
        model.layer1.register_forward_pre_hook(lambda m, x: first())
        model.layer3.register_forward_pre_hook(lambda m, x: second())

    with monkeypatch.context() as m:
        _hooked_model(m, attach)
        with pytest.raises(KeyboardInterrupt) as exc:
            train(_cfg(tmp_path))
    assert not isinstance(exc.value, RunInterrupted)
    assert load(tmp_path / NAME)["step"] == 0  # the end of epoch 1, written before
    train(_cfg(tmp_path), resume=True)
    assert_same_run(reference, tmp_path / NAME)


# -- a real Ctrl-C from outside, at several moments and seeds ---------------------------------

CLI = [sys.executable, "-m", "dirnet.cli", "train", "model.arch=resnet20", "model.kwargs.width=8",
       "method=dirnet", "data.name=fashion_mnist_demo", "data.train_subset=256",
       "data.test_subset=64", "data.batch_size=32", "schedule.epochs=2", "threads=1",
       "log.tensorboard=false", "log.every=1"]


def _cli(out: Path, seed: int, *extra: str) -> list[str]:
    return [*CLI, f"seed={seed}", f"out_dir={out}", *extra]


@pytest.mark.slow
@pytest.mark.parametrize("seed,after_lines", [(0, 3), (1, 11)])
def test_external_sigint_at_a_random_moment(tmp_path, seed, after_lines):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = subprocess.run(_cli(tmp_path / "ref", seed), env=env, capture_output=True, text=True,
                         timeout=240)
    assert ref.returncode == 0, ref.stderr[-2000:]
    proc = subprocess.Popen(_cli(tmp_path / "cut", seed), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(after_lines):  # a progress line per step: the signal lands mid-step
        assert proc.stdout.readline(), proc.stderr.read()[-2000:]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: resumable checkpoint" in err and "Traceback" not in err
    run = tmp_path / "cut" / NAME
    resumed = subprocess.run([sys.executable, "-m", "dirnet.cli", "train", "--run-dir", str(run),
                              "--resume"], env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_run(tmp_path / "ref" / NAME, run)

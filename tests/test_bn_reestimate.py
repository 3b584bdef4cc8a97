"""BatchNorm re-estimation: plain averages of the batch statistics, nothing else touched."""
import pytest
import torch
from torch import nn

from dirnet.checkpoint import load
from dirnet.cli import main as cli
from dirnet.evaluate import evaluate_target
from dirnet.train import load_config, train
from dirnet.train.bn_reestimate import reestimate_bn


class RecordsMode(nn.Module):
    """Identity that notes whether it ran in training mode."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x


def test_statistics_are_plain_averages_and_other_modules_stay_in_eval():
    torch.manual_seed(0)
    spy = RecordsMode()
    model = nn.Sequential(nn.Conv2d(3, 4, 3), spy, nn.Dropout(p=0.9), nn.BatchNorm2d(4, momentum=0.3))
    batches = [torch.randn(5, 3, 6, 6) * (i + 1) + i for i in range(4)]
    model.train()
    model(batches[0])  # stale statistics that re-estimation must forget
    spy.modes.clear()
    n = reestimate_bn(model, [(x, torch.zeros(5)) for x in batches])
    assert n == 4 and spy.modes == [False] * 4
    with torch.no_grad():  # dropout in eval mode: the BatchNorm sees the conv's outputs unchanged
        feats = [model[0](x) for x in batches]
    mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    var = torch.stack([f.var((0, 2, 3), unbiased=True) for f in feats]).mean(0)
    bn = model[3]
    torch.testing.assert_close(bn.running_mean, mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bn.running_var, var, rtol=1e-5, atol=1e-5)
    assert bn.momentum == 0.3 and not model.training and int(bn.num_batches_tracked) == 4


def test_max_batches_and_bad_input():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    assert reestimate_bn(model, [torch.randn(4, 3) for _ in range(5)], max_batches=2) == 2
    with pytest.raises(ValueError, match="no BatchNorm"):
        reestimate_bn(nn.Linear(3, 2), [torch.randn(4, 3)])
    with pytest.raises(ValueError, match="no batches"):
        reestimate_bn(model, [])
    with pytest.raises(ValueError, match="max_batches"):
        reestimate_bn(model, [torch.randn(4, 3)], max_batches=0)


def test_reestimate_a_run_from_the_command_line(tmp_path, capsys):
    cfg = load_config(base={
        "model": {"arch": "resnet20"}, "method": "dirnet", "out_dir": str(tmp_path), "name": "r",
        "data": {"name": "fashion_mnist_demo", "train_subset": 128, "test_subset": 64,
                 "batch_size": 64, "eval_batch_size": 64},
        "schedule": {"epochs": 1}, "log": {"progress": False, "tensorboard": False}})
    train(cfg)
    run = tmp_path / "r"
    assert cli(["reestimate-bn", str(run)]) == 0
    assert "over 2 batches of 64" in capsys.readouterr().out
    last, bn = load(run, "last"), load(run, "bn")
    assert bn["bn_reestimate"]["batches"] == 2
    changed = [k for k in last["model"] if k.endswith("running_mean")
               and not torch.equal(last["model"][k], bn["model"][k])]
    assert changed  # the statistics moved ...
    weights = [k for k in last["model"] if k.endswith("weight")]
    assert all(torch.equal(last["model"][k], bn["model"][k]) for k in weights)  # ... the weights did not
    assert evaluate_target(str(run), which="bn")["n"] == 64
    assert cli(["reestimate-bn", str(tmp_path / "missing")]) == 2

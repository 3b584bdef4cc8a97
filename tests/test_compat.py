"""Files written by an earlier version still load and evaluate to the figures they had.

``tests/fixtures/v0_1/`` holds a checkpoint and a .dbnn file written by dirnet 0.1.0
before the training side was restructured (issue 17), with the figures
``dirnet eval`` gave for them then (``expected.json``, including the command).
"""
import json
from pathlib import Path

import pytest

from dirnet.checkpoint import config_of, load
from dirnet.evaluate import evaluate_target

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0_1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def _same_figures(got: dict, want: dict) -> None:
    assert (got["split"], got["n"]) == (want["split"], want["n"])
    assert got["top1"] == want["top1"] and got["top5"] == want["top5"]
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-6)


def test_old_checkpoint_loads_and_evaluates_the_same():
    ck = load(FIXTURES / "dirnet_resnet20w8.pt")
    cfg = config_of(ck)  # the old plain-dict config reads into the typed one
    assert (cfg.method, cfg.model.arch, cfg.model.kwargs) == ("dirnet", "resnet20", {"width": 8})
    _same_figures(evaluate_target(str(FIXTURES / "dirnet_resnet20w8.pt")), EXPECTED["checkpoint"])


def test_old_dbnn_loads_and_evaluates_the_same():
    _same_figures(evaluate_target(str(FIXTURES / "dirnet_resnet20w8.dbnn")), EXPECTED["dbnn"])

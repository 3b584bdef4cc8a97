"""Training: the run loop, its epochs, evaluation, DDP. Never imports deploy or analysis.

The run configuration is :mod:`dirnet.config`, checkpoints :mod:`dirnet.checkpoint`;
both are re-exported here because a training script needs them.
"""
from dirnet.checkpoint import load_model
from dirnet.config import ConfigError, RunConfig, load_config
from dirnet.train.engine import train
from dirnet.train.epoch import TrainingDiverged
from dirnet.train.evaluation import evaluate

__all__ = ["ConfigError", "RunConfig", "TrainingDiverged", "evaluate", "load_config",
           "load_model", "train"]

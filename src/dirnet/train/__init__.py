"""Training: configs, the loop, checkpoints, DDP. Never imports deploy or analysis."""
from dirnet.train.checkpoint import load_model
from dirnet.train.config import ConfigError, load_config
from dirnet.train.engine import TrainingDiverged, evaluate, train

__all__ = ["ConfigError", "TrainingDiverged", "evaluate", "load_config", "load_model", "train"]

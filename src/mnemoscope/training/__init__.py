"""The training engine: objectives, configs, and ``train`` — one network per call."""

from mnemoscope.training.config import (
    AugmentConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    RandomLabelsObjective,
    SimCLRObjective,
    SupervisedObjective,
    TrainConfig,
)
from mnemoscope.training.engine import (
    Hook,
    NonFiniteLossError,
    TrainResult,
    load_network,
    prepare,
    read_measurements,
    train,
)

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "Hook",
    "ModelConfig",
    "NonFiniteLossError",
    "OptimConfig",
    "RandomLabelsObjective",
    "SimCLRObjective",
    "SupervisedObjective",
    "TrainConfig",
    "TrainResult",
    "load_network",
    "prepare",
    "read_measurements",
    "train",
]

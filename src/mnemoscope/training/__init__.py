"""The training engine: objectives, configs, and ``train`` — one network per call."""

from mnemoscope.training.config import (
    AugmentConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    ProbeConfig,
    TrainConfig,
)
from mnemoscope.training.engine import (
    NonFiniteLossError,
    TrainResult,
    load_network,
    load_teacher,
    prepare,
    read_measurements,
    train,
)
from mnemoscope.training.objectives.barlowtwins import BarlowTwinsObjective
from mnemoscope.training.objectives.byol import BYOLObjective
from mnemoscope.training.objectives.classification import (
    RandomLabelsObjective,
    SupervisedObjective,
)
from mnemoscope.training.objectives.dino import DINOObjective
from mnemoscope.training.objectives.mae import MAEObjective
from mnemoscope.training.objectives.simclr import SimCLRObjective
from mnemoscope.training.objectives.simsiam import SimSiamObjective
from mnemoscope.training.objectives.vicreg import VICRegObjective
from mnemoscope.training.recipes import METHODS, recipe
from mnemoscope.training.spec import DataRecipe, Hook, HookContext, RunSpec

__all__ = [
    "METHODS",
    "AugmentConfig",
    "BYOLObjective",
    "BarlowTwinsObjective",
    "DINOObjective",
    "DataConfig",
    "DataRecipe",
    "Hook",
    "HookContext",
    "MAEObjective",
    "ModelConfig",
    "NonFiniteLossError",
    "OptimConfig",
    "ProbeConfig",
    "RandomLabelsObjective",
    "RunSpec",
    "SimCLRObjective",
    "SimSiamObjective",
    "SupervisedObjective",
    "TrainConfig",
    "TrainResult",
    "VICRegObjective",
    "load_network",
    "load_teacher",
    "prepare",
    "read_measurements",
    "recipe",
    "train",
]

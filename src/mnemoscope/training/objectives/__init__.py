"""Training objectives and their registry.

To add a method: write a module with its pydantic config, a class implementing ``Objective``
(see ``base``) and its ``Method`` record (see ``method``), and add the record to ``REGISTRY``
below; every other table (config union, default augmentation, recipes, classification,
recognition, teachers) is derived from the records.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mnemoscope.training.objectives import (
    barlowtwins,
    byol,
    classification,
    dino,
    mae,
    simclr,
    simsiam,
    vicreg,
)
from mnemoscope.training.objectives.barlowtwins import BarlowTwins
from mnemoscope.training.objectives.base import (
    Objective,
    StepOutput,
    TrainingModel,
    TrainingProgress,
    TwoViews,
    forward_two_views,
)
from mnemoscope.training.objectives.byol import BYOL
from mnemoscope.training.objectives.classification import (
    Classification,
    per_example_classification_loss,
)
from mnemoscope.training.objectives.dino import DINO, dino_per_example
from mnemoscope.training.objectives.mae import MAE, mae_per_example
from mnemoscope.training.objectives.method import Method
from mnemoscope.training.objectives.simclr import SimCLR, nt_xent_per_example
from mnemoscope.training.objectives.simsiam import SimSiam, negative_cosine_per_example
from mnemoscope.training.objectives.vicreg import VICReg

# Every method, in the order the config union and the listings use.
REGISTRY: dict[str, Method] = {
    method.name: method
    for method in (
        classification.SUPERVISED,
        classification.RANDOM_LABELS,
        simclr.METHOD,
        byol.METHOD,
        simsiam.METHOD,
        vicreg.METHOD,
        barlowtwins.METHOD,
        dino.METHOD,
        mae.METHOD,
    )
}
# The objectives that fit labels (the rest are self-supervised).
CLASSIFICATION = tuple(name for name, method in REGISTRY.items() if method.classification)
# The objectives whose recognition indicator paper 001 defines.
RECOGNIZABLE = tuple(name for name, method in REGISTRY.items() if method.recognition)
# The objectives that keep an EMA teacher (``training.load_teacher``).
WITH_TEACHER = tuple(name for name, method in REGISTRY.items() if method.teacher)


def method(name: str) -> Method:
    """The record of objective ``name``; ValueError naming the known ones otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown objective {name!r}: choose one of {sorted(REGISTRY)}")
    return REGISTRY[name]


def default_augment(objective: str) -> dict:
    """The augmentation ``objective`` trains with when the config names none, as the fields of
    an ``AugmentConfig``: ``{"name": preset, "params": {...}}``."""
    chosen = method(objective).augment
    return {"name": chosen["name"], "params": dict(chosen["params"])}


def build_objective(
    config,
    *,
    train_labels: torch.Tensor,
    subset: torch.Tensor,
    num_classes: int,
    output_dim: int,
    augmentation: Callable,
    device: torch.device,
) -> Objective:
    """Build the objective of ``config`` (an objective config) for one training subset.

    ``train_labels`` are the true labels of the whole training set and ``subset`` the indices
    trained on: random labels are drawn over the whole set, then indexed, so that networks
    trained on different subsets agree on the labels they share.
    """
    build = method(config.name).build
    return build(config, train_labels, subset, num_classes, output_dim, augmentation, device)


__all__ = [
    "CLASSIFICATION",
    "RECOGNIZABLE",
    "REGISTRY",
    "WITH_TEACHER",
    "BYOL",
    "DINO",
    "MAE",
    "BarlowTwins",
    "Classification",
    "Method",
    "Objective",
    "SimCLR",
    "SimSiam",
    "StepOutput",
    "TrainingModel",
    "TrainingProgress",
    "TwoViews",
    "VICReg",
    "build_objective",
    "default_augment",
    "dino_per_example",
    "forward_two_views",
    "mae_per_example",
    "method",
    "negative_cosine_per_example",
    "nt_xent_per_example",
    "per_example_classification_loss",
]

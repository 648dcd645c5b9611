"""Training objectives and their registry.

To add a method: write a module with a class implementing ``Objective`` (see ``base``), a
pydantic config in ``mnemoscope.training.config``, and a builder entry in ``OBJECTIVES``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mnemoscope.training.labels import per_sample_labels, random_labels
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
from mnemoscope.training.objectives.simclr import SimCLR, nt_xent_per_example
from mnemoscope.training.objectives.simsiam import SimSiam, negative_cosine_per_example
from mnemoscope.training.objectives.vicreg import VICReg

# The augmentation preset each objective trains with unless the config says otherwise:
# paper 001 appendix A (weak crop+flip for supervised, SimCLR's for SimCLR) and its random-label
# setting without augmentation (the degenerate distribution that gives fig 1's staircases).
# The joint-embedding methods all train on SimCLR-style views (BYOL, SimSiam, VICReg, Barlow
# Twins and DINO use the same crop/jitter/grey/blur family); MAE on crops and flips only.
DEFAULT_AUGMENT = {
    "supervised": "weak",
    "random_labels": "none",
    "simclr": "simclr",
    "byol": "simclr",
    "simsiam": "simclr",
    "vicreg": "simclr",
    "barlowtwins": "simclr",
    "dino": "simclr",
    "mae": "simclr",
}
# Preset parameters of those defaults, where they differ from the preset's own. MAE section
# A.1: RandomResizedCrop with scale (0.2, 1) and a flip, no colour augmentation.
DEFAULT_AUGMENT_PARAMS: dict[str, dict] = {
    "mae": {"crop_scale": (0.2, 1.0), "jitter_p": 0.0, "grey_p": 0.0, "blur_p": 0.0},
}
# The objectives that fit labels (the rest are self-supervised).
CLASSIFICATION = ("supervised", "random_labels")


def default_augment(objective: str) -> dict:
    """The augmentation ``objective`` trains with when the config names none, as the fields of
    an ``AugmentConfig``: ``{"name": preset, "params": {...}}``."""
    return {
        "name": DEFAULT_AUGMENT[objective],
        "params": dict(DEFAULT_AUGMENT_PARAMS.get(objective, {})),
    }


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
    builder = OBJECTIVES.get(config.name)
    if builder is None:
        raise ValueError(f"unknown objective {config.name!r}: choose one of {sorted(OBJECTIVES)}")
    return builder(config, train_labels, subset, num_classes, output_dim, augmentation, device)


def _options(config) -> dict:
    """The method's options: every config field but its name."""
    return config.model_dump(exclude={"name"})


def _supervised(config, train_labels, subset, num_classes, output_dim, augmentation, device):
    targets = train_labels[subset].to(device)
    return Classification(
        "supervised", targets, num_classes, augmentation, config.loss, config.mixup_alpha
    )


def _random_labels(config, train_labels, subset, num_classes, output_dim, augmentation, device):
    if config.per_sample:
        targets, classes = per_sample_labels(len(subset)), len(subset)
    else:
        classes = config.num_classes or num_classes
        if classes != num_classes and config.label_noise < 1.0:
            raise ValueError(
                f"num_classes={classes} differs from the dataset's {num_classes} classes, so "
                f"label_noise={config.label_noise} would mix incompatible labels: use 1.0"
            )
        labels = random_labels(
            train_labels, classes, noise=config.label_noise, seed=config.label_seed
        )
        targets = labels[subset]
    return Classification(
        "random_labels", targets.to(device), classes, augmentation, config.loss, config.mixup_alpha
    )


def _simclr(config, train_labels, subset, num_classes, output_dim, augmentation, device):
    return SimCLR(output_dim, augmentation, config.temperature)


def _self_supervised(method: type[Objective]) -> Callable[..., Objective]:
    """The builder of a method whose constructor takes (output_dim, augmentation, **options)."""

    def build(config, train_labels, subset, num_classes, output_dim, augmentation, device):
        return method(output_dim, augmentation, **_options(config))

    return build


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "supervised": _supervised,
    "random_labels": _random_labels,
    "simclr": _simclr,
    "byol": _self_supervised(BYOL),
    "simsiam": _self_supervised(SimSiam),
    "vicreg": _self_supervised(VICReg),
    "barlowtwins": _self_supervised(BarlowTwins),
    "dino": _self_supervised(DINO),
    "mae": _self_supervised(MAE),
}

__all__ = [
    "CLASSIFICATION",
    "DEFAULT_AUGMENT",
    "DEFAULT_AUGMENT_PARAMS",
    "OBJECTIVES",
    "BYOL",
    "DINO",
    "MAE",
    "BarlowTwins",
    "Classification",
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
    "negative_cosine_per_example",
    "nt_xent_per_example",
    "per_example_classification_loss",
]

"""Training objectives and their registry.

To add a method: write a module with a class implementing ``Objective`` (see ``base``), a
pydantic config in ``mnemoscope.training.config``, and a builder entry in ``OBJECTIVES``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mnemoscope.training.labels import per_sample_labels, random_labels
from mnemoscope.training.objectives.base import Objective, StepOutput
from mnemoscope.training.objectives.classification import (
    Classification,
    per_example_classification_loss,
)
from mnemoscope.training.objectives.simclr import SimCLR, nt_xent_per_example

# The augmentation preset each objective trains with unless the config says otherwise:
# paper 001 appendix A (weak crop+flip for supervised, SimCLR's for SimCLR) and its random-label
# setting without augmentation (the degenerate distribution that gives fig 1's staircases).
DEFAULT_AUGMENT = {"supervised": "weak", "random_labels": "none", "simclr": "simclr"}


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


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "supervised": _supervised,
    "random_labels": _random_labels,
    "simclr": _simclr,
}

__all__ = [
    "DEFAULT_AUGMENT",
    "OBJECTIVES",
    "Classification",
    "Objective",
    "SimCLR",
    "StepOutput",
    "build_objective",
    "nt_xent_per_example",
    "per_example_classification_loss",
]

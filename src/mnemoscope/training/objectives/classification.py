"""Classification objectives: supervised (true labels) and random labels (papers 001, 003)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from mnemoscope.strict import StrictModel
from mnemoscope.training.labels import per_sample_labels, random_labels
from mnemoscope.training.objectives.base import (
    Augmentation,
    Objective,
    StepOutput,
    TrainingModel,
)
from mnemoscope.training.objectives.method import Method


def per_example_classification_loss(
    logits: torch.Tensor, targets: torch.Tensor, loss: str
) -> torch.Tensor:
    """One loss per example for hard ([B] class indices) or soft ([B, K]) targets.

    ``ce``: cross-entropy, as ``F.cross_entropy(..., reduction="none")``.
    ``mse``: squared error to the one-hot (or mixed) target, averaged over the K outputs, so the
    batch mean equals ``F.mse_loss(logits, one_hot)`` (paper 003 table 6 trains with MSE).
    Computed in fp32 whatever the autocast dtype of the logits.
    """
    logits = logits.float()
    if loss == "ce":
        return F.cross_entropy(logits, targets, reduction="none")
    if loss == "mse":
        if targets.ndim == 1:
            targets = F.one_hot(targets, logits.shape[1]).float()
        return (logits - targets).pow(2).mean(dim=1)
    raise ValueError(f"unknown classification loss {loss!r}: use 'ce' or 'mse'")


class Classification(Objective):
    """Fit ``targets`` (one class per training example) from augmented images.

    Used with the true labels (``supervised``) and with random labels (``random_labels``).
    With ``mixup_alpha``, images and one-hot targets are mixed (paper 003 section 4).
    """

    def __init__(
        self,
        name: str,
        targets: torch.Tensor,
        num_classes: int,
        augmentation: Augmentation,
        loss: str = "ce",
        mixup_alpha: float | None = None,
    ) -> None:
        self.name = name
        self.targets = targets
        self.num_outputs = num_classes
        self.augmentation = augmentation
        self.loss = loss
        self.mixup_alpha = mixup_alpha

    def step(
        self,
        model: TrainingModel,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        views = self.augmentation(images, generator)
        targets = self.targets[positions.to(self.targets.device)].to(images.device)
        if self.mixup_alpha is not None:
            from mnemoscope.augment import mixup

            one_hot = F.one_hot(targets, self.num_outputs).float()
            views, soft_targets = mixup(views, one_hot, self.mixup_alpha, generator)
            logits = model(views)
            losses = per_example_classification_loss(logits, soft_targets, self.loss)
            return StepOutput(losses.mean(), losses.detach(), correct=None)
        logits = model(views)
        losses = per_example_classification_loss(logits, targets, self.loss)
        correct = int((logits.argmax(dim=1) == targets).sum())
        return StepOutput(losses.mean(), losses.detach(), correct=correct)


class SupervisedObjective(StrictModel):
    """Classification of the true labels (paper 001: cross-entropy, weak augmentation)."""

    name: Literal["supervised"] = "supervised"
    loss: Literal["ce", "mse"] = Field("ce", description="cross-entropy or MSE on one-hot targets")
    mixup_alpha: float | None = Field(
        None, gt=0, description="mixup Beta(alpha, alpha); None = off"
    )


class RandomLabelsObjective(StrictModel):
    """Classification of labels drawn at random once (papers 001 and 003).

    ``label_seed`` is shared by every network of a study, so all seeds fit the same labels.
    """

    name: Literal["random_labels"] = "random_labels"
    label_seed: int = Field(0, description="seed of the random labels, shared across networks")
    label_noise: float = Field(
        1.0, ge=0.0, le=1.0, description="fraction of labels randomized (paper 003 fig 11/13)"
    )
    num_classes: int | None = Field(
        None, ge=2, description="number of random classes C (paper 003 fig 9); None = dataset's"
    )
    per_sample: bool = Field(False, description="every training example its own class")
    loss: Literal["ce", "mse"] = Field("ce", description="paper 003 uses mse on one-hot targets")
    mixup_alpha: float | None = Field(
        None, gt=0, description="mixup Beta(alpha, alpha); None = off"
    )

    @model_validator(mode="after")
    def _per_sample_excludes_noise(self) -> RandomLabelsObjective:
        if self.per_sample and (self.label_noise != 1.0 or self.num_classes is not None):
            raise ValueError(
                "per_sample=True gives every example its own class: leave label_noise at 1.0 "
                "and num_classes unset"
            )
        return self


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


# Paper 001 appendix A: weak crop+flip for supervised training, and its random-label setting
# without augmentation (the degenerate distribution that gives fig. 1's staircases).
SUPERVISED = Method(
    name="supervised",
    config=SupervisedObjective,
    build=_supervised,
    augment={"name": "weak", "params": {}},
    classification=True,
    recognition="classification",
    independent_examples=True,  # cross-entropy or MSE of each image against its own target
)
RANDOM_LABELS = Method(
    name="random_labels",
    config=RandomLabelsObjective,
    build=_random_labels,
    augment={"name": "none", "params": {}},
    classification=True,
    recognition="classification",
    independent_examples=True,  # cross-entropy or MSE of each image against its own target
)

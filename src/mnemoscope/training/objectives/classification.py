"""Classification objectives: supervised (true labels) and random labels (papers 001, 003)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnemoscope.training.objectives.base import (
    Augmentation,
    Objective,
    StepOutput,
    TrainingModel,
)


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

"""What a training step optimizes: the interface every objective implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn


@dataclass
class StepOutput:
    """The result of one training step's forward pass.

    ``loss`` is the scalar that is back-propagated; ``per_example`` holds one detached loss
    per image of the batch (its mean equals ``loss``) and ``correct`` the number of images
    whose training target the network got right (None where that is not defined).
    """

    loss: torch.Tensor
    per_example: torch.Tensor
    correct: int | None = None


class Objective(Protocol):
    """A training objective. New methods (DINO, VICReg, MAE...) implement this and register
    a builder in ``mnemoscope.training.objectives.OBJECTIVES``."""

    name: str
    num_outputs: int

    def step(
        self,
        model: nn.Module,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        """Augment ``images`` (uint8 batch), run the model and return the loss.

        ``positions`` index the batch's images within the training subset (for targets).
        Every random draw comes from ``generator``.
        """
        ...

"""SimCLR's contrastive objective with a per-example NT-Xent loss (paper 001 section 2)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from mnemoscope.strict import StrictModel
from mnemoscope.training.objectives.base import (
    Augmentation,
    Objective,
    StepOutput,
    TrainingModel,
    forward_two_views,
)
from mnemoscope.training.objectives.method import Method, self_supervised


def nt_xent_per_example(z0: torch.Tensor, z1: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent loss of each image of the batch, averaged over its two views.

    With z = normalize([z0; z1]) (2B rows), s_ij = z_i . z_j / tau and p(i) the partner view of i,

        l_i = -log( exp(s_{i,p(i)}) / sum_{j != i} exp(s_ij) ),    loss(b) = (l_b + l_{b+B}) / 2.

    The mean over the batch equals ``lightly.loss.NTXentLoss(temperature)(z0, z1)``, which
    only returns that mean; studies need the per-image values. Computed in fp32.
    """
    batch = z0.shape[0]
    z = F.normalize(torch.cat([z0, z1]).float(), dim=1)
    similarity = z @ z.T / temperature
    # A view is never its own negative: mask the diagonal out of the softmax.
    similarity.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)]).to(z.device)
    losses = F.cross_entropy(similarity, partner, reduction="none")
    return (losses[:batch] + losses[batch:]) / 2


class SimCLR(Objective):
    """Two augmented views per image through one network, NT-Xent on the outputs."""

    name = "simclr"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        temperature: float = 0.07,
    ):
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.temperature = temperature

    def step(
        self,
        model: TrainingModel,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        pair = forward_two_views(self, model, images, generator)
        losses = nt_xent_per_example(pair.z0, pair.z1, self.temperature)
        return StepOutput(losses.mean(), losses.detach(), None, pair.representations)


class SimCLRObjective(StrictModel):
    """SimCLR's NT-Xent on two views per image (paper 001: tau = 0.07, output dim 128).

    Paper 002 table 6: batch 4096, LARS lr 4.8, 600 epochs (60 warm-up), cosine decay.
    """

    name: Literal["simclr"] = "simclr"
    temperature: float = Field(0.07, gt=0, description="softmax temperature tau (paper 001: 0.07)")


METHOD = Method(
    name="simclr",
    config=SimCLRObjective,
    build=self_supervised(SimCLR),
    recognition="pair",
    paper={  # paper 002 table 6; SimCLR appendix B.9 (CIFAR: tau 0.5, weight decay 1e-6)
        "model": {"name": "resnet50", "projector_hidden": 2048, "output_dim": 128},
        "objective": {"name": "simclr", "temperature": 0.5},
        "optim": {"name": "lars", "lr": 4.8, "weight_decay": 1e-6},
        "batch_size": 4096,
    },
    quick={"objective": {"name": "simclr", "temperature": 0.2}},
)

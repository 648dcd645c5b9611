"""SimCLR's contrastive objective with a per-example NT-Xent loss (paper 001 section 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnemoscope.training.objectives.base import (
    Augmentation,
    Objective,
    StepOutput,
    TrainingModel,
    forward_two_views,
)


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
        alignment_tap: str | None = None,
    ):
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.temperature = temperature
        self.alignment_tap = alignment_tap

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

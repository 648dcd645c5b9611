"""SimSiam (Chen & He 2021): a predictor on one branch regresses the other, stop-gradient.

For two views with projections z0, z1 (the network's output) and predictions p = h(z) (lightly's
``SimSiamPredictionHead``, a bottleneck MLP), each image's loss is

    l_b = -1/2 [ cos(p0_b, sg(z1_b)) + cos(p1_b, sg(z0_b)) ]                 (SimSiam eq. 2)

with sg the stop-gradient; the batch mean is lightly's ``NegativeCosineSimilarity`` applied to
both pairs. Paper values: projector 2048-2048-2048 with BatchNorm on its output, predictor
hidden 512. Deviation: the projector here is mnemoscope's MLP (one hidden layer, no output
BatchNorm; SimSiam table 4 trains fine without it): set ``model.projector_hidden`` and
``model.output_dim`` to 2048 for the paper's widths.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules.heads import SimSiamPredictionHead
from pydantic import Field
from torch import nn

from mnemoscope.strict import StrictModel
from mnemoscope.training.objectives.base import (
    Augmentation,
    Objective,
    StepOutput,
    TrainingModel,
    forward_two_views,
)
from mnemoscope.training.objectives.method import Method, self_supervised


def negative_cosine_per_example(
    p0: torch.Tensor, z1: torch.Tensor, p1: torch.Tensor, z0: torch.Tensor
) -> torch.Tensor:
    """-1/2 [cos(p0_b, z1_b) + cos(p1_b, z0_b)] for every image b, in fp32 (targets as given:
    detach them for a stop-gradient)."""
    similarity = F.cosine_similarity(p0.float(), z1.float(), dim=1, eps=1e-8)
    other = F.cosine_similarity(p1.float(), z0.float(), dim=1, eps=1e-8)
    return -(similarity + other) / 2


def symmetric_loss(p0, z1, p1, z0) -> torch.Tensor:
    """lightly's batch-mean loss over both pairs (what is back-propagated)."""
    criterion = NegativeCosineSimilarity()
    return (criterion(p0.float(), z1.float()) + criterion(p1.float(), z0.float())) / 2


class SimSiam(Objective):
    name = "simsiam"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        predictor_hidden: int = 512,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.predictor_hidden = predictor_hidden

    def attach(self, network: nn.Module) -> nn.Module:
        self.predictor = SimSiamPredictionHead(
            self.num_outputs, self.predictor_hidden, self.num_outputs
        )
        return nn.ModuleDict({"predictor": self.predictor})

    def step(
        self,
        model: TrainingModel,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        pair = forward_two_views(self, model, images, generator)
        with model.autocast():
            p0, p1 = self.predictor(torch.cat([pair.z0, pair.z1])).chunk(2)
        z0, z1 = pair.z0.detach(), pair.z1.detach()  # stop-gradient on the targets
        loss = symmetric_loss(p0, z1, p1, z0)
        per_example = negative_cosine_per_example(p0, z1, p1, z0).detach()
        return StepOutput(loss, per_example, None, pair.representations)


class SimSiamObjective(StrictModel):
    """SimSiam (Chen & He 2021): predictor on one branch, stop-gradient on the other.

    Paper values: projector 2048 / 2048 (``model.projector_hidden``, ``model.output_dim``),
    predictor bottleneck 512, SGD lr 0.05 x batch / 256, momentum 0.9, weight decay 1e-4.
    CPU quick: predictor_hidden 128 with the model defaults (512 / 128). See ``objectives.simsiam``.
    """

    name: Literal["simsiam"] = "simsiam"
    predictor_hidden: int = Field(512, ge=1, description="predictor bottleneck width (512)")


METHOD = Method(
    name="simsiam",
    config=SimSiamObjective,
    build=self_supervised(SimSiam),
    paper={  # SimSiam section 4 (CIFAR variant, appendix D): SGD 0.03 x batch/256
        "model": {"name": "resnet50", "projector_hidden": 2048, "output_dim": 2048},
        "objective": {"name": "simsiam"},
        "optim": {"name": "sgd", "lr": 0.06, "momentum": 0.9, "weight_decay": 5e-4},
        "batch_size": 512,
    },
    quick={"objective": {"name": "simsiam", "predictor_hidden": 128}},
)

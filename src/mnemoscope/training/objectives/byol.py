"""BYOL (Grill et al. 2020): the online network plus a predictor regresses an EMA target network.

For two views, online projections z = g(h(x)) (the network's output), predictions p = q(z)
(lightly's ``BYOLPredictionHead``) and target projections z' from the EMA teacher (no
gradient), each image's loss is

    l_b = -1/2 [ cos(p0_b, z'1_b) + cos(p1_b, z'0_b) ]

(lightly's ``NegativeCosineSimilarity`` on both pairs; BYOL's 2 - 2 cos is the same up to an
affine map). After every update the target follows the online network with momentum rising
from ``momentum`` (BYOL: 0.996) to 1 (see ``teacher``). Paper values: projector and predictor
4096 hidden, 256 out (mnemoscope's MLP projector with BatchNorm is BYOL's projector: set
``model.projector_hidden`` 4096 and ``model.output_dim`` 256). BYOL's asymmetric augmentation
(blur 1.0/0.1, solarization) is not a preset: the default is ``simclr``.
"""

from __future__ import annotations

from typing import Literal

import torch
from lightly.models.modules.heads import BYOLPredictionHead
from pydantic import Field
from torch import nn

from mnemoscope.strict import StrictModel
from mnemoscope.training.objectives.base import (
    Augmentation,
    Objective,
    StepOutput,
    TrainingModel,
    TrainingProgress,
    forward_two_views,
)
from mnemoscope.training.objectives.method import Method, self_supervised
from mnemoscope.training.objectives.simsiam import negative_cosine_per_example, symmetric_loss
from mnemoscope.training.objectives.teacher import ema_teacher, follow, teacher_momentum


class BYOL(Objective):
    name = "byol"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        predictor_hidden: int = 4096,
        momentum: float = 0.996,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.predictor_hidden = predictor_hidden
        self.base_momentum = momentum
        self.momentum = momentum

    def attach(self, network: nn.Module) -> nn.Module:
        self.network = network
        self.predictor = BYOLPredictionHead(
            self.num_outputs, self.predictor_hidden, self.num_outputs
        )
        self.teacher = ema_teacher(network)
        return nn.ModuleDict({"predictor": self.predictor, "teacher": self.teacher})

    def begin_step(self, progress: TrainingProgress) -> None:
        self.momentum = teacher_momentum(progress, self.base_momentum)

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
            with torch.no_grad():  # the target network sees the same two views
                t0, t1 = self.teacher(pair.views).chunk(2)
        loss = symmetric_loss(p0, t1, p1, t0)
        per_example = negative_cosine_per_example(p0, t1, p1, t0).detach()
        return StepOutput(loss, per_example, None, pair.representations)

    def end_step(self) -> None:
        follow(self.network, self.teacher, self.momentum)


class BYOLObjective(StrictModel):
    """BYOL (Grill et al. 2020): online network + predictor regresses an EMA target network.

    Paper values: projector 4096 hidden / 256 out (``model.projector_hidden``,
    ``model.output_dim``), predictor 4096 hidden, momentum 0.996 rising to 1, LARS. CPU quick:
    predictor_hidden 512 with the model defaults (512 / 128). See ``objectives.byol``.
    """

    name: Literal["byol"] = "byol"
    predictor_hidden: int = Field(4096, ge=1, description="predictor hidden width (BYOL: 4096)")
    momentum: float = Field(
        0.996, ge=0, le=1, description="initial EMA momentum of the target, cosine to 1 (0.996)"
    )


METHOD = Method(
    name="byol",
    config=BYOLObjective,
    build=self_supervised(BYOL),
    teacher=True,
    paper={  # BYOL section 3.3: LARS 0.2 x batch/256, decay 1.5e-6, 4096 batch
        "model": {"name": "resnet50", "projector_hidden": 4096, "output_dim": 256},
        "objective": {"name": "byol"},
        "optim": {"name": "lars", "lr": 3.2, "weight_decay": 1.5e-6},
        "batch_size": 4096,
    },
    quick={"objective": {"name": "byol", "predictor_hidden": 512, "momentum": 0.99}},
)

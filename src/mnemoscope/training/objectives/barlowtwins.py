"""Barlow Twins (Zbontar et al. 2021): the cross-correlation of two views' projections -> I.

With Z, Z' the projections of two views, each standardized over the batch, and
C = Z^T Z' / B ([D, D]),

    L = sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2                     (Barlow Twins eq. 1)

(lightly's ``BarlowTwinsLoss``; lambda = 5e-3). Not per example: C is a statistic of the batch,
so ``StepOutput.per_example`` is None. Paper projector: 3 layers of 8192; mnemoscope's MLP
projector has one hidden layer (set ``model.projector_hidden``/``model.output_dim`` to 8192).
"""

from __future__ import annotations

from typing import Literal

from lightly.loss import BarlowTwinsLoss
from pydantic import Field

from mnemoscope.strict import StrictModel
from mnemoscope.training.objectives.base import Augmentation, BatchStatisticObjective
from mnemoscope.training.objectives.method import Method, self_supervised


class BarlowTwins(BatchStatisticObjective):
    name = "barlowtwins"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        redundancy_weight: float = 5e-3,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.criterion = BarlowTwinsLoss(lambda_param=redundancy_weight)


class BarlowTwinsObjective(StrictModel):
    """Barlow Twins (Zbontar et al. 2021): cross-correlation to identity (not per example).

    Paper values: lambda 5e-3, projector 8192-8192-8192, LARS, batch 2048. CPU quick: the model
    defaults (512 / 128). See ``objectives.barlowtwins``.
    """

    name: Literal["barlowtwins"] = "barlowtwins"
    redundancy_weight: float = Field(
        5e-3, ge=0, description="lambda, off-diagonal weight (Barlow Twins: 5e-3)"
    )


METHOD = Method(
    name="barlowtwins",
    config=BarlowTwinsObjective,
    build=self_supervised(BarlowTwins),
    paper={  # Barlow Twins section 4: LARS 0.2, decay 1.5e-6, 2048 batch, 8192 head
        "model": {"name": "resnet50", "projector_hidden": 8192, "output_dim": 8192},
        "objective": {"name": "barlowtwins"},
        "optim": {"name": "lars", "lr": 0.2, "weight_decay": 1.5e-6},
        "batch_size": 2048,
    },
    quick={"objective": {"name": "barlowtwins"}},
)

"""Barlow Twins (Zbontar et al. 2021): the cross-correlation of two views' projections -> I.

With Z, Z' the projections of two views, each standardized over the batch, and
C = Z^T Z' / B ([D, D]),

    L = sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2                     (Barlow Twins eq. 1)

(lightly's ``BarlowTwinsLoss``; lambda = 5e-3). Not per example: C is a statistic of the batch,
so ``StepOutput.per_example`` is None. Paper projector: 3 layers of 8192; mnemoscope's MLP
projector has one hidden layer (set ``model.projector_hidden``/``model.output_dim`` to 8192).
"""

from __future__ import annotations

from lightly.loss import BarlowTwinsLoss

from mnemoscope.training.objectives.base import Augmentation, BatchStatisticObjective


class BarlowTwins(BatchStatisticObjective):
    name = "barlowtwins"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        redundancy_weight: float = 5e-3,
        alignment_tap: str | None = None,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.criterion = BarlowTwinsLoss(lambda_param=redundancy_weight)
        self.alignment_tap = alignment_tap

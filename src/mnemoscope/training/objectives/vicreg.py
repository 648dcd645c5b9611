"""VICReg (Bardes et al. 2022): invariance, variance and covariance terms on two views.

With projections Z, Z' ([B, D], the network's output) of two views,

    L = lambda s(Z, Z') + mu [v(Z) + v(Z')] / 2 + nu [c(Z) + c(Z')]
    s = mean_b ||z_b - z'_b||^2 / D,   v(Z) = mean_d relu(1 - sqrt(Var_b(z_d) + eps)),
    c(Z) = sum_{i != j} Cov(Z)_ij^2 / D                                 (VICReg eqs. 1-6)

(lightly's ``VICRegLoss``; lambda = mu = 25, nu = 1). Not per example: v and c are statistics
of the batch, so ``StepOutput.per_example`` is None. Paper projector: 3 layers of 8192;
mnemoscope's MLP projector has one hidden layer (set ``model.projector_hidden`` and
``model.output_dim`` to 8192 for the paper's widths).
"""

from __future__ import annotations

from lightly.loss import VICRegLoss

from mnemoscope.training.objectives.base import Augmentation, BatchStatisticObjective


class VICReg(BatchStatisticObjective):
    name = "vicreg"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        alignment_tap: str | None = None,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.criterion = VICRegLoss(invariance_weight, variance_weight, covariance_weight)
        self.alignment_tap = alignment_tap

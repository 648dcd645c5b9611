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

from typing import Literal

from lightly.loss import VICRegLoss
from pydantic import Field

from mnemoscope.strict import StrictModel
from mnemoscope.training.objectives.base import Augmentation, BatchStatisticObjective
from mnemoscope.training.objectives.method import Method, self_supervised


class VICReg(BatchStatisticObjective):
    name = "vicreg"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.criterion = VICRegLoss(invariance_weight, variance_weight, covariance_weight)


class VICRegObjective(StrictModel):
    """VICReg (Bardes et al. 2022): invariance + variance + covariance (not per example).

    Paper values: lambda = mu = 25, nu = 1, projector 8192-8192-8192. Paper 002 table 6: batch
    256, SGD lr 3e-3, 600 epochs (60 warm-up), cosine decay. CPU quick: the model defaults
    (512 / 128). See ``objectives.vicreg``.
    """

    name: Literal["vicreg"] = "vicreg"
    invariance_weight: float = Field(25.0, ge=0, description="lambda, invariance (VICReg: 25)")
    variance_weight: float = Field(25.0, ge=0, description="mu, variance (VICReg: 25)")
    covariance_weight: float = Field(1.0, ge=0, description="nu, covariance (VICReg: 1)")


METHOD = Method(
    name="vicreg",
    config=VICRegObjective,
    build=self_supervised(VICReg),
    paper={  # paper 002 table 6; VICReg section 4 for the head (8192 wide)
        "model": {"name": "resnet50", "projector_hidden": 8192, "output_dim": 8192},
        "objective": {"name": "vicreg"},
        "optim": {"name": "sgd", "lr": 3e-3, "weight_decay": 1e-4},
        "batch_size": 256,
    },
    quick={"objective": {"name": "vicreg"}},
)

"""DINO (Caron et al. 2021): a student matches the centered, sharpened output of an EMA teacher.

Student and teacher are the same network (encoder + DINO head, ``models.build(projector="dino")``)
and the teacher follows the student by EMA (see ``teacher``). With teacher outputs t_v (views v),
student outputs s_u, center c and temperatures tau_t, tau_s, each image's loss is

    P_t = softmax((t_v - c) / tau_t),   log P_s = log_softmax(s_u / tau_s)
    l_b = 1/n sum_{v != u} - sum_k P_t[v, b, k] log P_s[u, b, k]               (DINO eq. 1)

over the n pairs of different views; the batch mean is lightly's ``DINOLoss``, which then moves
the center, c <- m_c c + (1 - m_c) mean_{v, b} t_v[b]. The teacher temperature warms up
linearly, one value per epoch, from ``warmup_teacher_temp`` to ``teacher_temp`` over
``warmup_teacher_temp_epochs`` (lightly's schedule); the head's last layer is frozen for the
first ``freeze_last_layer_epochs`` epochs (DINO: 1).

Deviations: two global views and no local crops (multi-crop at 28-32 pixels has nothing to
crop), constant weight decay, no gradient clipping.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from lightly.loss import DINOLoss
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
from mnemoscope.training.objectives.teacher import ema_teacher, follow, teacher_momentum


def dino_per_example(
    teacher_out: list[torch.Tensor],
    student_out: list[torch.Tensor],
    center: torch.Tensor,
    teacher_temp: float,
    student_temp: float,
) -> torch.Tensor:
    """The DINO loss of each image (module docstring), in fp32; the center is not updated."""
    teacher = F.softmax((torch.stack(teacher_out).float() - center) / teacher_temp, dim=-1)
    student = F.log_softmax(torch.stack(student_out).float() / student_temp, dim=-1)
    cross = -torch.einsum("vbk,ubk->vub", teacher, student)  # [teacher view, student view, b]
    different = ~torch.eye(len(teacher_out), len(student_out), dtype=torch.bool)
    return cross[different.to(cross.device)].mean(dim=0)


class DINO(Objective):
    name = "dino"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        *,
        bottleneck_dim: int = 256,
        head_norm: str = "none",
        teacher_temp: float = 0.07,
        warmup_teacher_temp: float = 0.04,
        warmup_teacher_temp_epochs: int = 30,
        student_temp: float = 0.1,
        center_momentum: float = 0.9,
        momentum: float = 0.996,
        freeze_last_layer_epochs: int = 1,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.network_options = {
            "projector": "dino",
            "projector_bottleneck": bottleneck_dim,
            "projector_norm": head_norm,
        }
        self.loss = DINOLoss(
            output_dim=output_dim,
            warmup_teacher_temp=warmup_teacher_temp,
            teacher_temp=teacher_temp,
            warmup_teacher_temp_epochs=warmup_teacher_temp_epochs,
            student_temp=student_temp,
            center_momentum=center_momentum,
        )
        self.base_momentum = momentum
        self.freeze_last_layer_epochs = freeze_last_layer_epochs
        self.momentum = momentum
        self.teacher_temp = warmup_teacher_temp

    def attach(self, network: nn.Module) -> nn.Module:
        self.network = network
        self.teacher = ema_teacher(network)
        # The center is a buffer of the loss module: checkpointed with the teacher.
        return nn.ModuleDict({"teacher": self.teacher, "loss": self.loss})

    def begin_step(self, progress: TrainingProgress) -> None:
        self.momentum = teacher_momentum(progress, self.base_momentum)
        schedule = self.loss.teacher_temp_schedule  # lightly's per-epoch warm-up values
        epoch = progress.epoch
        self.teacher_temp = (
            float(schedule[epoch]) if epoch < len(schedule) else self.loss.teacher_temp
        )
        # Freezing = no gradient, as lightly's cancel_last_layer_gradients (weight_g is fixed).
        frozen = epoch < self.freeze_last_layer_epochs
        self.network.projector.last_layer.weight_v.requires_grad_(not frozen)

    def step(
        self,
        model: TrainingModel,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        student = forward_two_views(self, model, images, generator)
        with model.autocast(), torch.no_grad():  # the teacher sees the same two views
            t0, t1 = self.teacher(student.views).chunk(2)
        teacher_out = [t0.float(), t1.float()]
        student_out = [student.z0.float(), student.z1.float()]
        per_example = dino_per_example(
            teacher_out, student_out, self.loss.center, self.teacher_temp, self.loss.student_temp
        )
        loss = self.loss(teacher_out, student_out, teacher_temp=self.teacher_temp)
        return StepOutput(loss, per_example.detach(), None, student.representations)

    def end_step(self) -> None:
        follow(self.network, self.teacher, self.momentum)


class DINOObjective(StrictModel):
    """DINO (Caron et al. 2021): EMA teacher, centering, sharpening, temperature warm-up.

    The network's projector becomes lightly's DINO head: ``model.projector_hidden`` wide (DINO:
    2048), ``bottleneck_dim`` (256), ``model.output_dim`` prototypes (65,536). Paper 002 table 6:
    batch 1024, AdamW lr 2e-3, 600 epochs (60 warm-up), cosine decay. CPU quick:
    projector_hidden 512, bottleneck 128, output_dim 1024, head_norm batchnorm, teacher_temp
    0.04 without warm-up, momentum 0.99 (``recipes``). See ``objectives.dino`` (two global
    views, no multi-crop).
    """

    name: Literal["dino"] = "dino"
    bottleneck_dim: int = Field(256, ge=1, description="DINO head bottleneck width (256)")
    head_norm: Literal["none", "batchnorm"] = Field(
        "none", description="normalization in the DINO head's MLP (DINO: none)"
    )
    teacher_temp: float = Field(0.07, gt=0, description="teacher temperature after warm-up (0.07)")
    warmup_teacher_temp: float = Field(0.04, gt=0, description="initial teacher temperature (0.04)")
    warmup_teacher_temp_epochs: int = Field(
        30, ge=0, description="epochs of linear teacher-temperature warm-up (DINO: 30)"
    )
    student_temp: float = Field(0.1, gt=0, description="student temperature (0.1)")
    center_momentum: float = Field(0.9, ge=0, lt=1, description="center EMA momentum (0.9)")
    momentum: float = Field(
        0.996, ge=0, le=1, description="initial teacher EMA momentum, cosine to 1 (0.996)"
    )
    freeze_last_layer_epochs: int = Field(
        1, ge=0, description="epochs during which the head's last layer is frozen (DINO: 1)"
    )


METHOD = Method(
    name="dino",
    config=DINOObjective,
    build=self_supervised(DINO),
    teacher=True,
    paper={  # paper 002 table 6; DINO section 3 / appendix for the head and temperatures
        "model": {"name": "resnet50", "projector_hidden": 2048, "output_dim": 65536},
        "objective": {"name": "dino"},
        "optim": {"name": "adamw", "lr": 2e-3, "weight_decay": 0.04},
        "batch_size": 1024,
    },
    # DINO learns slowly at this scale: BatchNorm in its head (as lightly's CIFAR benchmarks
    # for ResNets) and a constant teacher temperature 0.04 bring its loss below log K within
    # 8 epochs on 2,000 images, where DINO's ViT settings (no BatchNorm, 0.04 -> 0.07) stay at
    # log K (measured for issue 8: loss 6.6 -> 5.3 vs 6.2 -> 6.9, kNN 0.75 vs 0.72).
    quick={
        "model": {"output_dim": 1024},
        "objective": {
            "name": "dino",
            "bottleneck_dim": 128,
            "head_norm": "batchnorm",
            "teacher_temp": 0.04,
            "warmup_teacher_temp_epochs": 0,
            "momentum": 0.99,
        },
    },
)

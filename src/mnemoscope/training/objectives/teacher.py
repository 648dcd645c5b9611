"""EMA teachers (BYOL's target network, DINO's teacher): a copy of the network that follows it.

After every optimizer step the teacher's parameters move towards the student's,

    xi <- m xi + (1 - m) theta,    m = 1 - (1 - m_0) (cos(pi k / (K - 1)) + 1) / 2,

with k the step and K the number of steps: m rises from m_0 to 1 over training (BYOL section
3.2, DINO section 3.1; lightly's ``cosine_schedule`` and ``update_momentum``). Buffers (BatchNorm
statistics) are not averaged: the teacher runs in training mode and keeps its own.
"""

from __future__ import annotations

from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.utils.scheduler import cosine_schedule

from mnemoscope import models
from mnemoscope.training.objectives.base import TrainingProgress


def ema_teacher(network: models.Network) -> models.Network:
    """A frozen copy of ``network`` (rebuilt from its config: DINO's weight-normed head cannot
    be deep-copied), with the same weights."""
    teacher = models.build(**network.config)
    teacher.load_state_dict(network.state_dict())
    deactivate_requires_grad(teacher)
    return teacher.to(next(network.parameters()).device)


def teacher_momentum(progress: TrainingProgress, start: float) -> float:
    """m of the update after step ``progress.step``: cosine from ``start`` to 1."""
    return cosine_schedule(progress.step, progress.total_steps, start, 1.0)


def follow(network: models.Network, teacher: models.Network, momentum: float) -> None:
    """One EMA update of ``teacher`` towards ``network``."""
    update_momentum(network, teacher, momentum)

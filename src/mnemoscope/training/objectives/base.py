"""What a training step optimizes: the interface every objective implements.

One step of the engine, with ``owned = objective.attach(network)`` built once per run:

    objective.begin_step(progress)      # schedules: EMA momentum, teacher temperature...
    output = objective.step(model, images, positions, generator)
    output.loss.backward(); optimizer.step()   # network + owned trainable parameters
    objective.end_step()                # after the update: EMA teachers follow the student

``owned`` (an ``nn.Module`` or None) holds what the method adds to the network: prediction
heads, EMA teachers, the MAE decoder, DINO's center. Its parameters that require gradients are
optimized with the network, and its whole ``state_dict`` (buffers included) is checkpointed
beside the network's, so a killed run resumes bit for bit. The network alone is what ``final``
stores and ``load_network`` returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass
class StepOutput:
    """The result of one training step's forward pass.

    ``loss`` is the scalar that is back-propagated; ``per_example`` holds one detached loss
    per image of the batch (its mean equals ``loss``), or None where the loss is a statistic
    of the whole batch (VICReg, Barlow Twins); ``correct`` the number of images whose
    training target the network got right (None where that is not defined).
    ``representations`` are the two views' representations ``(r0, r1)``, each ``[B, D]``
    with gradients, when the objective was built with an ``alignment_tap`` (the alignment
    regularizer of paper 002, eq. 3, reads them); None otherwise.
    """

    loss: torch.Tensor
    per_example: torch.Tensor | None
    correct: int | None = None
    representations: tuple[torch.Tensor, torch.Tensor] | None = None


@dataclass(frozen=True)
class TrainingProgress:
    """Where training stands when a step begins: ``step`` optimizer steps are done."""

    step: int
    total_steps: int
    steps_per_epoch: int

    @property
    def epoch(self) -> int:
        """The 0-based index of the epoch this step belongs to."""
        return self.step // self.steps_per_epoch


class TrainingModel:
    """The network as ``Objective.step`` sees it: ``model(images)`` is the network's output
    under the run's autocast; ``model.features(images, taps)`` the same for taps;
    ``model.network`` the module itself (its parts, for methods that need them), and
    ``with model.autocast():`` the precision context for any other forward pass.
    Augmentations and losses stay outside autocast, in fp32."""

    def __init__(
        self,
        network: nn.Module,
        device: torch.device,
        dtype: torch.dtype | None,
        forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.network = network
        self.device = device
        self.dtype = dtype
        self._forward = forward or network  # a torch.compile'd forward, if any

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self._forward(images)

    def features(self, images: torch.Tensor, taps: Sequence[str]) -> dict[str, torch.Tensor]:
        with self.autocast():
            return self.network.features(images, taps)


class Objective:
    """A training objective. To add a method: subclass this in the method's own module, with
    its pydantic config and its ``Method`` record (``objectives.method``), and list the record
    in ``objectives.REGISTRY``.

    Attributes:
        name: the objective's config name.
        num_outputs: width of the network's output (classes, or projection dim).
        network_options: extra ``models.build`` arguments the method needs (DINO's head).
        per_example_loss: whether ``StepOutput.per_example`` is defined.
        alignment_tap: tap whose activations ``step`` returns as ``representations``, set by
            the engine when ``TrainConfig.alignment_lambda`` > 0 (None: it returns none).
        augmentation: draws the augmented views ``step`` trains on.
    """

    name: str
    num_outputs: int
    augmentation: Augmentation
    network_options: dict = {}  # read only
    per_example_loss: bool = True
    alignment_tap: str | None = None

    def attach(self, network: nn.Module) -> nn.Module | None:
        """Build the modules this method adds to ``network`` (called once per run, under the
        run's initialization seed, before any checkpoint is loaded into them)."""
        return None

    def begin_step(self, progress: TrainingProgress) -> None:
        """Set what is scheduled on training progress, before the step's forward pass."""

    def step(
        self,
        model: TrainingModel,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        """Augment ``images`` (uint8 batch), run the model and return the loss.

        ``positions`` index the batch's images within the training subset (for targets).
        Every random draw comes from ``generator``.
        """
        raise NotImplementedError

    def end_step(self) -> None:
        """After the optimizer's update (EMA teachers follow the student here)."""


@dataclass
class TwoViews:
    """Two augmented views of a batch and the network's outputs on them.

    ``views`` is ``[x'; x'']`` (``[2B, C, H, W]``: every image's first view, then every
    image's second view), kept for methods that pass the same views through a teacher (BYOL,
    DINO); ``z0, z1`` (``[B, D]``) the outputs of ``x'`` and ``x''``; ``representations`` the
    views' representations ``(r0, r1)`` at the objective's ``alignment_tap``, or None.
    """

    views: torch.Tensor
    z0: torch.Tensor
    z1: torch.Tensor
    representations: tuple[torch.Tensor, torch.Tensor] | None


def forward_two_views(
    objective: Objective,
    model: TrainingModel,
    images: torch.Tensor,
    generator: torch.Generator,
) -> TwoViews:
    """The step the joint-embedding methods (SimCLR, BYOL, SimSiam, VICReg, Barlow Twins, DINO)
    share: draw ``x' = t'(x)`` then ``x'' = t''(x)`` from ``generator`` with the objective's
    augmentation, and pass both through the network in one forward pass (BatchNorm sees all
    2B views, as in mnemoscope's SimCLR; one pass is also cheaper on a CPU than two), reading
    the ``alignment_tap`` representations on the way when the objective has one."""
    first = objective.augmentation(images, generator)
    second = objective.augmentation(images, generator)  # drawn after x': the run's draw order
    views = torch.cat([first, second])
    tap = objective.alignment_tap
    if tap is None:
        z0, z1 = model(views).chunk(2)
        return TwoViews(views, z0, z1, None)
    features = model.features(views, [tap, "output"])
    z0, z1 = features["output"].chunk(2)
    r0, r1 = features[tap].chunk(2)
    return TwoViews(views, z0, z1, (r0, r1))


class BatchStatisticObjective(Objective):
    """A joint-embedding method whose loss is a statistic of the batch (VICReg, Barlow Twins):
    lightly's ``criterion`` on the two views' projections, in fp32. Such a loss has no
    per-example value, so ``StepOutput.per_example`` is None."""

    per_example_loss = False
    criterion: nn.Module

    def step(
        self,
        model: TrainingModel,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        pair = forward_two_views(self, model, images, generator)
        loss = self.criterion(pair.z0.float(), pair.z1.float())
        return StepOutput(loss, None, None, pair.representations)

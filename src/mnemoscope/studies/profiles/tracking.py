"""Recognition tracking during training: the engine hook that measures I_theta on X.

One ``RecognitionTracker`` per paradigm holds the tracked images' augmentation bank, drawn once
from the paradigm's own training augmentation (paper 001 appendix B: "the distribution of
augmentations is the same as used during training") and shared by every seed and epoch:

* classification: M + 1 views per image; views 0..M-1 are the M augmentations of eq. 1, view M
  is the fixed augmentation of eq. 2;
* SimCLR: M + 1 pairs of views (2M + 2 views), pair M being the fixed pair (paper 001 footnote 1).

When every view of every image is identical (a deterministic augmentation such as ``none``:
appendix B's degenerate distribution delta(x~ - x)), the M augmentations are one and the same
view: it is evaluated once and stored as a single augmentation (M' = 1), which is also the
fixed augmentation. p_t is then a mean of N trials, hence the staircase profiles of fig. 1.

At each measurement the hook returns, for the network in eval mode (BatchNorm uses running
statistics, so a view's output never depends on the other views of its batch):
``indicators`` uint8 [M', X], ``probabilities`` float16 [M', X], ``fixed`` uint8 [X],
``fixed_probabilities`` float16 [X] and ``seconds`` (its own run time, for the cost of tracking).
SimCLR also records the paper authors' one-direction indicator (``anchor_recognition``, ties as
hits): ``anchor_indicators`` uint8 [M', X] and ``anchor_fixed`` uint8 [X].
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from pydantic import PrivateAttr
from torch import nn

from mnemoscope import augment, data
from mnemoscope.environment import autocast_dtype
from mnemoscope.measure.recognition import (
    Recognition,
    anchor_recognition,
    classification_recognition,
    pair_recognition,
)
from mnemoscope.studies.profiles.config import Data, TrackingSpec
from mnemoscope.training import Hook, HookContext, TrainConfig, prepare
from mnemoscope.training.objectives import method


@dataclass
class TrackedSet:
    """The tracked images X: dataset indices, ids, true labels and positions in the training
    subset (to index the labels the network trains on)."""

    indices: torch.Tensor  # int64 [X], into the dataset's training split
    ids: torch.Tensor  # int64 [X], stable example ids
    labels: torch.Tensor  # int64 [X], true labels
    positions: torch.Tensor  # int64 [X], into the training subset


def build_bank(
    images: torch.Tensor,
    augmentation: augment.Augmentation,
    augmentations: int,
    pair: bool,
    seed: int,
) -> tuple[torch.Tensor, bool]:
    """The views of the tracked images: uint8 [X, V, C, H, W] with V = (M + 1) * (2 if pair
    else 1), and whether the augmentation is degenerate (all views identical).

    A degenerate bank is reduced to one view (one pair) per image, serving as both the single
    augmentation and the fixed one.
    """
    per_augmentation = 2 if pair else 1
    bank = augment.make_bank(images, augmentation, (augmentations + 1) * per_augmentation, seed)
    degenerate = torch.equal(bank, bank[:, :1].expand_as(bank))
    if degenerate:
        bank = bank[:, :per_augmentation].contiguous()
    return bank, degenerate


class RecognitionTracker:
    """The engine hook ``tracker(network, epoch) -> arrays`` of one paradigm (module docstring).

    Args:
        bank: uint8 [X, V, C, H, W] from ``build_bank``.
        degenerate: the bank holds one view (pair) per image serving as every augmentation.
        targets: int64 [X], the training labels of X (classification); None for SimCLR.
        temperature: softmax temperature of the probabilities (1 for classification).
        eval_batch_size: B of SimCLR's evaluation batches.
        eval_order: permutation of X giving SimCLR's fixed batch order.
        precision: "auto" (the training's autocast), "bf16" or "fp32".
        batch_size: views per forward pass.
    """

    def __init__(
        self,
        bank: torch.Tensor,
        degenerate: bool,
        targets: torch.Tensor | None,
        temperature: float,
        eval_batch_size: int,
        eval_order: torch.Tensor,
        precision: str = "auto",
        batch_size: int = 1024,
    ) -> None:
        self.bank = bank
        self.degenerate = degenerate
        self.targets = targets
        self.pair = targets is None
        self.temperature = temperature
        self.eval_batch_size = eval_batch_size
        self.eval_order = eval_order
        self.precision = precision
        self.batch_size = batch_size
        self._on_device: dict[str, torch.Tensor] = {}

    @property
    def views_per_augmentation(self) -> int:
        return 2 if self.pair else 1

    @property
    def augmentations(self) -> int:
        """M' = the number of stored augmentations (M, or 1 for a degenerate bank)."""
        per = self.views_per_augmentation
        return 1 if self.degenerate else self.bank.shape[1] // per - 1

    def __call__(self, network: nn.Module, epoch: float) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        device = next(network.parameters()).device
        outputs = self._outputs(network, device)  # [V, X, K]
        anchor = None
        if self.pair:
            pairs = outputs.shape[0] // 2
            results = [self._pair(outputs[2 * j], outputs[2 * j + 1]) for j in range(pairs)]
            anchor = [
                self._pair(outputs[2 * j], outputs[2 * j + 1], anchor_recognition).correct
                for j in range(pairs)
            ]
        else:
            targets = self.targets.to(device)
            results = [
                classification_recognition(logits, targets, self.temperature) for logits in outputs
            ]
        correct = torch.stack([r.correct for r in results]).to(torch.uint8).cpu().numpy()
        probability = torch.stack([r.probability for r in results]).half().cpu().numpy()
        fixed = -1 if not self.degenerate else 0  # the degenerate view is also the fixed one
        kept = slice(None) if self.degenerate else slice(0, -1)
        # copies: safetensors refuses arrays that share memory (views of one another)
        measured = {
            "indicators": correct[kept].copy(),
            "probabilities": probability[kept].copy(),
            "fixed": correct[fixed].copy(),
            "fixed_probabilities": probability[fixed].copy(),
        }
        if anchor is not None:
            anchor_correct = torch.stack(anchor).to(torch.uint8).cpu().numpy()
            measured["anchor_indicators"] = anchor_correct[kept].copy()
            measured["anchor_fixed"] = anchor_correct[fixed].copy()
        measured["seconds"] = np.float64(time.perf_counter() - started)
        return measured

    def _pair(
        self, z_a: torch.Tensor, z_b: torch.Tensor, indicator: Callable = pair_recognition
    ) -> Recognition:
        order = self.eval_order.to(z_a.device)
        result = indicator(z_a[order], z_b[order], self.eval_batch_size, self.temperature)
        # back from batch order to X's order
        correct = torch.empty_like(result.correct)
        probability = torch.empty_like(result.probability)
        correct[order], probability[order] = result.correct, result.probability
        return Recognition(correct, probability)

    def _outputs(self, network: nn.Module, device: torch.device) -> torch.Tensor:
        """Network outputs of every view, float32 [V, X, K], in chunks of ``batch_size``."""
        key = str(device)
        if key not in self._on_device:
            # views-major: row v * X + i is view v of image i
            self._on_device = {key: self.bank.transpose(0, 1).reshape(-1, *self.bank.shape[2:])}
            self._on_device[key] = self._on_device[key].to(device)
        views = self._on_device[key]
        dtype = autocast_dtype(device, self.precision)
        chunks = []
        for start in range(0, len(views), self.batch_size):
            batch = views[start : start + self.batch_size].float().div_(255)
            if dtype is None:
                chunks.append(network(batch).float())
            else:
                with torch.autocast(device.type, dtype=dtype):
                    chunks.append(network(batch).float())
        return torch.cat(chunks).view(self.bank.shape[1], self.bank.shape[0], -1)


def select_images(
    spec: Data, tracking: TrackingSpec, bundle: data.DatasetBundle
) -> tuple[torch.Tensor, TrackedSet]:
    """The training images (sorted dataset indices) and the tracked set X among them."""
    labels = bundle.train.labels
    count = len(bundle.train)
    if spec.train_size is None:
        train_index = torch.arange(count)
    else:
        if spec.train_size > count:
            raise ValueError(
                f"data.train_size={spec.train_size} is larger than the {count} training "
                f"images of {spec.name!r}"
            )
        train_index = data.split(count, {"train": spec.train_size}, spec.split_seed, labels)[
            "train"
        ]
    if tracking.size > len(train_index):
        raise ValueError(
            f"tracking.size={tracking.size} is larger than the {len(train_index)} training images"
        )
    sizes = {"tracked": tracking.size}
    tracked = data.split(train_index, sizes, tracking.seed, labels[train_index])["tracked"]
    positions = torch.searchsorted(train_index, tracked)
    tracked_set = TrackedSet(tracked, bundle.train.ids[tracked], labels[tracked], positions)
    return train_index, tracked_set


class RecognitionHook(Hook):
    """The engine hook of one paradigm: builds its ``RecognitionTracker`` in the process that
    trains, from the study's data and tracking settings and the run's own config (its
    augmentation and the labels it trains on), then measures with it.

    Its description (part of the run key) is its fields but ``tracking.batch_size``, which
    only sets how many views go through the network at once."""

    data: Data
    tracking: TrackingSpec
    eval_batch_size: int
    _tracker: RecognitionTracker | None = PrivateAttr(None)

    # What each measurement returns (SimCLR adds the paper authors' anchor indicator): part of
    # the description, so a hook that measures more never reuses runs measured with less.
    measures: ClassVar[tuple[str, ...]] = ("indicators", "probabilities", "fixed",
                                           "fixed_probabilities", "anchor_indicators",
                                           "anchor_fixed")  # fmt: skip

    def describe(self) -> dict:
        described = super().describe()
        del described["tracking"]["batch_size"]
        return {**described, "measures": list(self.measures)}

    def setup(self, context: HookContext) -> None:
        self._tracker = self.tracker(context.config, context.bundle)

    def __call__(self, network: nn.Module, epoch: float) -> dict[str, np.ndarray]:
        if self._tracker is None:
            raise RuntimeError("RecognitionHook.setup was not called before measuring")
        return self._tracker(network, epoch)

    def tracker(self, config: TrainConfig, bundle: data.DatasetBundle) -> RecognitionTracker:
        """The tracker of a run of ``config`` on ``bundle`` (the dataset itself)."""
        tracking = self.tracking
        _, tracked = select_images(self.data, tracking, bundle)
        # The engine's own preparation gives the augmentation and the labels the network
        # trains on (true or random, drawn over the whole training set): nothing is re-derived.
        objective = prepare(config, bundle).objective
        pair = method(config.objective.name).recognition == "pair"  # SimCLR's
        images = bundle.train.images[tracked.indices]
        bank, degenerate = build_bank(images, objective.augmentation, tracking.augmentations,
                                      pair, tracking.bank_seed)  # fmt: skip
        if pair:
            targets, temperature = None, config.objective.temperature
        else:
            targets, temperature = objective.targets[tracked.positions].cpu(), 1.0
        precision = config.precision if tracking.precision == "auto" else tracking.precision
        generator = torch.Generator().manual_seed(tracking.seed)
        order = torch.randperm(tracking.size, generator=generator)
        return RecognitionTracker(bank, degenerate, targets, temperature, self.eval_batch_size,
                                  order, precision, tracking.batch_size)  # fmt: skip

    def targets(self, config: TrainConfig, bundle: data.DatasetBundle) -> torch.Tensor | None:
        """The training labels of X (None for SimCLR)."""
        return self.tracker(config, bundle).targets

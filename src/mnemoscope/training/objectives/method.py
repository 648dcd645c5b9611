"""One registration record per training method: everything the rest of the code asks of it.

A method lives in its own module (``objectives/<name>.py``): its pydantic config, its
``Objective`` and its ``Method`` record. ``objectives.REGISTRY`` lists the records, and every
table that used to be kept by hand is derived from it: the config union of
``TrainConfig.objective``, the default augmentation, the builders, the recipes
(``training.recipes``), the classification objectives, the objectives with a recognition
indicator (paper 001) and the ones with an EMA teacher. Adding a method touches its module,
the tuple in ``objectives/__init__.py`` and its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

# Paper 001's recognition indicator I_theta: "classification" (eq. 1: the network's answer is
# the training label) or "pair" (footnote 1: SimCLR's positive view wins among the batch).
Recognition = Literal["classification", "pair"]


@dataclass(frozen=True)
class Method:
    """The registration record of one training method.

    Args:
        name: the ``objective.name`` of configs (the config class's ``name`` literal).
        config: the pydantic config class of the objective's options.
        build: ``build(config, train_labels, subset, num_classes, output_dim, augmentation,
            device) -> Objective`` (see ``objectives.build_objective``).
        augment: the augmentation it trains with when the config names none, as the fields of
            an ``AugmentConfig``: ``{"name": preset, "params": {...}}``.
        classification: it fits labels (supervised or random); otherwise self-supervised.
        recognition: paper 001's recognition indicator for it, or None when undefined.
        teacher: it keeps an EMA teacher in its ``last`` checkpoint (``load_teacher``).
        independent_examples: its batch loss is the mean of one term per example that depends
            on that example alone (no negatives, batch statistics or centering over the batch),
            so that DP-SGD's per-example clipping bounds each example's influence
            (``training.privacy``); methods whose loss couples the batch are refused there.
        paper: the paper recipe's ``TrainConfig`` fields (``recipes``), None = no recipe.
        quick: the CPU-sized recipe's fields on top of the quick base, None = no recipe.
    """

    name: str
    config: type
    build: Callable[..., Any]
    augment: dict[str, Any] = field(default_factory=lambda: {"name": "simclr", "params": {}})
    classification: bool = False
    recognition: Recognition | None = None
    teacher: bool = False
    independent_examples: bool = False
    paper: dict[str, Any] | None = None
    quick: dict[str, Any] | None = None


def self_supervised(objective: type) -> Callable[..., Any]:
    """The builder of a method whose constructor takes (output_dim, augmentation, **options),
    the options being every field of its config but ``name``."""

    def build(config, train_labels, subset, num_classes, output_dim, augmentation, device):
        return objective(output_dim, augmentation, **config.model_dump(exclude={"name"}))

    return build

"""The config of the memorization-profiles study (paper 001), validated before any work starts.

Defaults are paper 001's (sections 3-4, appendix A): CIFAR-10, ResNet-18, N = 30 seeds, |X| =
1,000 tracked images, M = 10 augmentations, lr 3e-4, weight decay 1e-4, batch 256, cosine
schedule, Adam for SimCLR (tau 0.07, output dimension 128) and SGD with momentum 0.9 otherwise,
and four paradigms: supervised (weak augmentation), SimCLR (SimCLR augmentation), random labels
without augmentation and with the weak one. The paper does not give its number of epochs
(t_max); 200 is this toolkit's choice.

A paradigm is a named entry with TrainConfig fields laid over ``train`` (``overlay_fields``:
dicts are merged key by key, except an objective, model, augmentation or optimizer of another
``name``, which replaces the base's whole), so users can add paradigms (e.g. another SSL
objective or augmentation) without code.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.analysis.profiles import PROCEDURES, Procedure
from mnemoscope.strict import StrictModel
from mnemoscope.studies.config import (
    DataSpec,
    StudyConfig,
    StudyTrain,
    distinct_seeds,
    set_by_study,
)
from mnemoscope.training import TrainConfig
from mnemoscope.training.objectives import RECOGNIZABLE, method

# Keys of a TrainConfig the study sets itself: the data and tracked set are shared by every
# paradigm, seeds come from ``seeds`` and measurement points from ``measure_every``.
STUDY_OWNED_KEYS = ("data", "seed", "measure_at")
PROCEDURE_FIELDS = ("averaged_trials", "alignment", "fixed_view", "simclr_indicator")
PARADIGM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Data(DataSpec):
    """The dataset, and the training images: all of its training split or a subset."""

    name: str = Field("cifar10", description="dataset (paper 001: CIFAR-10)")
    train_size: int | None = Field(
        None, ge=2, description="training images, a class-stratified seeded subset; None = all "
        "(paper 001: all 50,000)",
    )  # fmt: skip
    split_seed: int = Field(0, ge=0, description="seed of the training subset")


class TrackingSpec(StrictModel):
    size: int = Field(1000, ge=2, description="|X|, tracked training images (paper 001: 1,000)")
    seed: int = Field(
        0, ge=0, description="seed choosing X (class-stratified) from the training set"
    )
    augmentations: int = Field(10, ge=1, description="M, augmentations per image (paper 001: 10)")
    bank_seed: int = Field(
        0, ge=0, description="seed of the M + 1 augmentations of each image (the last one is the "
        "fixed augmentation of eq. 2), drawn once and shared by every seed and epoch",
    )  # fmt: skip
    eval_batch_size: int | None = Field(
        None, ge=2, description="B of SimCLR's evaluation batches; None = the training batch size"
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="autocast of the tracking forward passes; auto = the training's "
        "(bf16 on CUDA and bf16-capable CPUs, where fp32 would cost ~3x more)",
    )  # fmt: skip
    batch_size: int = Field(1024, ge=1, description="views per forward pass (memory only)")


class ParadigmSpec(StrictModel):
    name: str = Field(description="identifier: lower case letters, digits and _")
    train: dict[str, Any] = Field(
        default_factory=dict, description="TrainConfig fields laid over the study's `train`"
    )
    measure_every: float = Field(
        1.0, gt=0, description="epochs between recognition measurements (fractions allowed)"
    )
    measure_extra: list[float] = Field(
        default_factory=list, description="further measurement epochs (e.g. early fractions)"
    )

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not PARADIGM_NAME.match(name):
            raise ValueError(
                f"paradigm name {name!r} is invalid: use lower case letters, digits and _, "
                "starting with a letter (it names files)"
            )
        return name


class FigureSpec(StrictModel):
    every_kth: int | None = Field(
        None, ge=1, description="fig 4 plots every k-th image (paper 001: 25th of 1,000); "
        "None = |X| // 40",
    )  # fmt: skip
    tsne_images: int = Field(1000, ge=10, description="fig 6: training images embedded by t-SNE")
    tsne_perplexity: float = Field(30.0, gt=0, description="fig 6: t-SNE perplexity")
    tsne_iterations: int = Field(
        1000, ge=250, description="fig 6: t-SNE iterations (the first 250 only exaggerate)"
    )
    activation_channels: int = Field(8, ge=1, description="fig 7: random channels per stage")
    activation_steps: int = Field(200, ge=1, description="fig 7: gradient-ascent steps")
    activation_step_size: float = Field(0.05, gt=0, description="fig 7: step per pixel (rms)")
    seed: int = Field(0, ge=0, description="seed of the t-SNE sample and of fig 7's channels")


PAPER_OPTIM: dict[str, Any] = {"lr": 3e-4, "weight_decay": 1e-4, "momentum": 0.9,
                               "schedule": "cosine"}  # fmt: skip
PAPER_TRAIN: dict[str, Any] = {
    "model": {"name": "resnet18", "output_dim": 128},
    "optim": {"name": "adam", **PAPER_OPTIM},
    "batch_size": 256,
    "epochs": 200,
}
# Another optimizer replaces the base's whole section (``overlay_fields``): each names its lr.
SGD = {"name": "sgd", **PAPER_OPTIM}
PAPER_PARADIGMS: list[dict[str, Any]] = [
    {"name": "supervised", "train": {"objective": {"name": "supervised"},
     "augment": {"name": "weak"}, "optim": SGD}},
    {"name": "simclr", "train": {"objective": {"name": "simclr", "temperature": 0.07},
     "augment": {"name": "simclr"}}},
    {"name": "random_labels", "train": {"objective": {"name": "random_labels"},
     "augment": {"name": "none"}, "optim": SGD}},
    {"name": "random_labels_aug", "train": {"objective": {"name": "random_labels"},
     "augment": {"name": "weak"}, "optim": SGD}},
]  # fmt: skip


class Train(StudyTrain):
    """The profiles study's training: a ``StudyTrain`` whose seed the study gives each run (one
    network per entry of ``seeds``), so that no integer seed sits here for ``repeat`` to shift."""

    seed: None = Field(None, description="set by the study: one network per entry of `seeds`")

    @field_validator("seed", mode="before")
    @classmethod
    def _seed_is_the_studys(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(f"train.seed = {value!r}: the study trains one network per entry "
                             "of `seeds`")  # fmt: skip
        return None


class Config(StudyConfig):
    """The profiles study: paradigms x seeds trained with recognition tracking, then analysed."""

    study: Literal["profiles"] = "profiles"
    seeds: list[int] = Field(
        default_factory=lambda: list(range(30)),
        description="the N networks of each paradigm, one per seed (paper: N = 30)",
    )
    data: Data = Field(default_factory=Data)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    train: Train = Field(
        default_factory=lambda: Train.model_validate(PAPER_TRAIN),
        description="the training every paradigm overlays (on `data`, with the study's seeds)",
    )
    paradigms: list[ParadigmSpec] = Field(
        default_factory=lambda: [ParadigmSpec.model_validate(p) for p in PAPER_PARADIGMS],
        min_length=1,
    )
    targets: list[float] = Field(
        default_factory=lambda: [0.25, 0.5, 0.75],
        min_length=1,
        description="mean recognition levels at which paradigms are aligned (section 4.2)",
    )
    binomial_draws: int = Field(10, ge=1, description="binomial samples per MAE (mean and sd)")
    binomial_seed: int = Field(0, ge=0, description="seed of the binomial samples")
    procedure: Literal["paper", "mnemoscope"] = Field(
        "paper",
        description="how profiles are computed and compared (analysis.profiles): paper = the "
        "authors' own (T = N for averaged profiles, first epoch reaching each target, fixed = "
        "view 0 of the M views, SimCLR one direction with ties as hits); mnemoscope = T = N M, "
        "closest epoch, a separate fixed view, SimCLR both directions with ties as misses. The "
        "four fields below override single choices",
    )
    averaged_trials: Literal["seeds_x_augmentations", "seeds"] | None = Field(
        None,
        description="trials T of the binomial approximating averaged profiles: N M (every "
        "augmentation of every network an independent trial) or N (the authors' code: views of "
        "one network fully dependent); None = the procedure's",
    )
    alignment: Literal["first", "closest"] | None = Field(
        None, description="aligned epoch: the first reaching each target or the closest one; "
        "None = the procedure's",
    )  # fmt: skip
    fixed_view: Literal["first", "extra"] | None = Field(
        None, description="fixed augmentation (eq. 2): view 0 of the M views or the separate "
        "(M+1)-th view; None = the procedure's",
    )  # fmt: skip
    simclr_indicator: Literal["anchor", "mutual"] | None = Field(
        None, description="SimCLR's indicator: anchor = view 1 finds view 2, ties as hits (the "
        "authors' code); mutual = both directions, ties as misses; None = the procedure's",
    )  # fmt: skip
    null_permutations: int = Field(
        100, ge=2, description="draws of the network-block permutation null (MAE mean and sd, "
        "Monte Carlo chi-square p-value)",
    )  # fmt: skip
    null_seed: int = Field(0, ge=0, description="seed of the network-block permutations")
    figures: FigureSpec = Field(default_factory=FigureSpec)

    _seeds = field_validator("seeds")(distinct_seeds)

    _study_sets = field_validator("train")(
        set_by_study("measure_at", by="each paradigm's measure_every/measure_extra")
    )

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        return _optimizers_named(raw) + _seeds_listed(raw)

    @field_validator("targets")
    @classmethod
    def _targets_are_probabilities(cls, targets: list[float]) -> list[float]:
        bad = [target for target in targets if not 0.0 <= target <= 1.0]
        if bad:
            raise ValueError(f"target {bad[0]} is not a mean recognition in [0, 1]")
        return targets

    @model_validator(mode="after")
    def _paradigms_valid(self) -> Config:
        names = [paradigm.name for paradigm in self.paradigms]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"paradigm name {repeated[0]!r} is used twice: names must be unique")
        for paradigm in self.paradigms:
            owned = [key for key in STUDY_OWNED_KEYS if key in paradigm.train]
            if owned:
                raise ValueError(
                    f"paradigm {paradigm.name!r} train sets {owned[0]!r}, which the study sets "
                    "itself (data from `data`, seeds from `seeds`, measurement epochs from "
                    "measure_every/measure_extra)"
                )
        if self.data.train_size is not None and self.tracking.size > self.data.train_size:
            raise ValueError(
                f"tracking.size={self.tracking.size} is larger than data.train_size="
                f"{self.data.train_size}: the tracked images are training images"
            )
        for paradigm in self.paradigms:
            config = self.train_config(paradigm, seed=0)  # raises naming the paradigm
            if config.objective.name not in RECOGNIZABLE:
                raise ValueError(
                    f"paradigm {paradigm.name!r} trains with objective "
                    f"{config.objective.name!r}: recognition (paper 001) is defined for "
                    f"{', '.join(RECOGNIZABLE)}"
                )
            batch = self.eval_batch_size(config)
            if method(config.objective.name).recognition == "pair" and batch > self.tracking.size:
                raise ValueError(
                    f"paradigm {paradigm.name!r}: SimCLR evaluation batch size {batch} is larger "
                    f"than tracking.size={self.tracking.size}; set tracking.eval_batch_size <= "
                    f"{self.tracking.size}"
                )
            late = [point for point in paradigm.measure_extra if not 0 <= point <= config.epochs]
            if late:
                raise ValueError(
                    f"paradigm {paradigm.name!r}: measure_extra epoch {late[0]} is outside "
                    f"0..{config.epochs}"
                )
        return self

    def describe(self) -> str:
        first = self.train_config(self.paradigms[0], self.seeds[0])
        return (f"{self.data.name}, {first.model.name}; N = {len(self.seeds)} seeds per paradigm, "
                f"|X| = {self.tracking.size} tracked images, M = {self.tracking.augmentations} "
                f"augmentations; {first.epochs} epochs")

    def resolved_procedure(self) -> Procedure:
        """``procedure``'s choices with the fields that override them."""
        chosen = {key: getattr(self, key) for key in PROCEDURE_FIELDS}
        overrides = {key: value for key, value in chosen.items() if value is not None}
        return dataclasses.replace(PROCEDURES[self.procedure], **overrides)

    def paradigm(self, name: str) -> ParadigmSpec:
        for paradigm in self.paradigms:
            if paradigm.name == name:
                return paradigm
        raise ValueError(f"no paradigm {name!r}: the config has {[p.name for p in self.paradigms]}")

    def train_config(
        self,
        paradigm: ParadigmSpec,
        seed: int,
        *,
        subset: list[int] | None = None,
        measure_at: list[float] | None = None,
    ) -> TrainConfig:
        """The TrainConfig of one network of ``paradigm``: ``train`` with the paradigm's fields
        laid over it, plus the study-owned data, seed and measurement fields."""
        try:
            train = self.train.overlay(paradigm.train)
            return train.run_config(self.data, subset, seed=seed, measure_at=measure_at or [])
        except ValueError as error:
            raise ValueError(
                f"paradigm {paradigm.name!r}: invalid training config: {error}"
            ) from None

    def eval_batch_size(self, config: TrainConfig) -> int:
        """B of SimCLR's evaluation batches for a paradigm's training config."""
        return self.tracking.eval_batch_size or config.batch_size


def _seeds_listed(raw: dict[str, Any]) -> list[str]:
    """Earlier versions counted the networks (``seeds: N`` from ``first_seed``): a list now."""
    if not isinstance(raw.get("seeds"), int) and "first_seed" not in raw:
        return []
    count = raw.get("seeds", 30)
    first = raw.pop("first_seed", 0)
    if not isinstance(count, int) or not isinstance(first, int):
        raise ValueError(f"first_seed {first!r} with seeds {count!r}: give seeds as a list")
    raw["seeds"] = list(range(first, first + count))
    return [f"seeds: {count} with first_seed {first} is now seeds: "
            f"[{first}, ..., {first + count - 1}]"]  # fmt: skip


def _optimizers_named(raw: dict[str, Any]) -> list[str]:
    """Earlier versions' ``train`` was a partial dict: an optimizer without a name there merged
    into a paradigm's named one. ``train`` is a whole training now, so another optimizer
    replaces its section: the paradigm's gets the shared settings it used to inherit."""
    shared = (raw.get("train") or {}).get("optim")
    if not isinstance(shared, dict) or "name" in shared:
        return []
    notes = []
    for paradigm in raw.get("paradigms") or []:
        own = (paradigm.get("train") or {}).get("optim") if isinstance(paradigm, dict) else None
        if isinstance(own, dict) and "name" in own:
            paradigm["train"]["optim"] = {**shared, **own}
            notes.append(f"paradigm {paradigm.get('name')!r} train.optim now holds train.optim's "
                         "settings too")  # fmt: skip
    return notes


def measurement_epochs(paradigm: ParadigmSpec, epochs: int, steps_per_epoch: int) -> list[float]:
    """Epoch 0, every ``measure_every`` epochs, the ``measure_extra`` points and the last epoch,
    each moved to the nearest optimizer step (the engine measures on the step grid), without
    duplicates. A fractional point is never moved to 0: it would then replace initialization."""
    count = math.floor(epochs / paradigm.measure_every + 1e-9)
    points = [0.0, float(epochs)] + [k * paradigm.measure_every for k in range(1, count + 1)]
    points += list(paradigm.measure_extra)
    steps = set()
    for point in points:
        step = round(point * steps_per_epoch)
        steps.add(max(step, 1) if point > 0 else 0)
    return [step / steps_per_epoch for step in sorted(steps)]

"""The config of one training run, validated before any work starts.

Defaults follow the papers where they agree with a CPU-sized run; the paper values are given
in each field's description so that a paper-scale config is a matter of copying them.
Paper 001 (profiles): ResNet-18, Adam for SimCLR and SGD (momentum 0.9) otherwise, lr 3e-4,
weight decay 1e-4, batch 256, cosine annealing, SimCLR tau 0.07 and output dimension 128.
Paper 003 (benign), table 6: Adam (0.9, 0.999), lr 4e-3, no schedule, batch 256, no weight
decay, MSE on one-hot targets, mixup, projector hidden width 65,536 without normalization.
Paper 002 (SSLMem), table 6, for CIFAR-size data: 600 epochs with 60 warm-up epochs and cosine
decay; MAE batch 2048, AdamW lr 1.2e-3; SimCLR 4096, LARS 4.8; DINO 1024, AdamW 2e-3; VICReg
256, SGD 3e-3. ``mnemoscope.training.recipes`` holds these (and CPU-sized quick ones) as configs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from mnemoscope.strict import StrictModel
from mnemoscope.training.objectives import CLASSIFICATION, REGISTRY
from mnemoscope.training.objectives.classification import SupervisedObjective
from mnemoscope.training.privacy import PrivacyConfig, refusal


class DataConfig(StrictModel):
    name: str = Field("fmnist-mini", description="dataset name (see `mnemoscope datasets`)")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="options passed to mnemoscope.data.load (size, channels, path...)",
    )
    subset: list[int] | None = Field(
        None, description="indices into the training set to train on; None = all of it"
    )

    @field_validator("subset")
    @classmethod
    def _subset_valid(cls, subset: list[int] | None) -> list[int] | None:
        if subset is None:
            return None
        if len(subset) == 0:
            raise ValueError("subset is empty: give at least one training index or null for all")
        negative = [index for index in subset if index < 0]
        if negative:
            raise ValueError(f"subset index {negative[0]} is negative: indices must be >= 0")
        if len(set(subset)) != len(subset):
            raise ValueError("subset has repeated indices: each training index at most once")
        return subset


class ModelConfig(StrictModel):
    name: str = Field("convnet-small", description="architecture (see `mnemoscope models`)")
    projector_hidden: int | None = Field(
        512, ge=0, description="projector hidden width; 0/None = linear head (paper 003: 65,536)"
    )
    projector_norm: Literal["batchnorm", "none"] = Field(
        "batchnorm", description="normalization in the projector (paper 003 table 6: none)"
    )
    output_dim: int = Field(
        128,
        ge=1,
        description="output size for embedding objectives such as SimCLR (paper 001: 128)",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="architecture options")

    @field_validator("name")
    @classmethod
    def _known_model(cls, name: str) -> str:
        from mnemoscope import models

        if name not in models.names():
            raise ValueError(f"unknown model {name!r}: choose one of {models.names()}")
        return name


class AugmentConfig(StrictModel):
    name: str = Field(description="augmentation preset (see mnemoscope.augment.names())")
    params: dict[str, Any] = Field(default_factory=dict, description="preset parameters")

    @field_validator("name")
    @classmethod
    def _known_preset(cls, name: str) -> str:
        from mnemoscope import augment

        if name not in augment.names():
            raise ValueError(f"unknown augmentation {name!r}: choose one of {augment.names()}")
        return name


# The objective's options: one config class per registered method, told apart by ``name``.
ObjectiveConfig = Annotated[
    Union[tuple(method.config for method in REGISTRY.values())],  # noqa: UP007
    Field(discriminator="name"),
]


class ProbeConfig(StrictModel):
    """Probes of the final encoder: kNN (paper 003 section 2: k = 20, cosine) and linear
    (logistic regression, full batch) test accuracy, fitted on the labelled training set.

    They read the final weights and change nothing, so they are not part of the run key: a
    finished run gains (or recomputes) its ``tables/probe`` on the next ``train`` that asks.
    """

    taps: list[str] = Field(
        default_factory=lambda: ["embedding"], description="taps probed (paper: the embedding)"
    )
    k: int = Field(20, ge=1, description="neighbours of the kNN probe (paper 003: 20)")
    knn: bool = Field(True, description="run the kNN probe")
    linear: bool = Field(True, description="run the linear probe")
    train_limit: int | None = Field(
        None,
        ge=2,
        description="fit on at most this many training images (class-stratified, "
        "seeded); None = the whole training set",
    )
    test_limit: int | None = Field(
        None, ge=1, description="evaluate on at most this many test images; None = all"
    )

    @model_validator(mode="after")
    def _something_to_run(self) -> ProbeConfig:
        if not (self.knn or self.linear):
            raise ValueError("probe has knn and linear both off: enable one or set probe: null")
        if not self.taps:
            raise ValueError("probe.taps is empty: name at least one tap, e.g. ['embedding']")
        return self


class OptimConfig(StrictModel):
    name: Literal["adam", "adamw", "sgd", "lars"] = Field(
        "adam",
        description="paper 001: adam for SimCLR, sgd (momentum 0.9) otherwise; paper 003: adam; "
        "paper 002 table 6: adamw (MAE, DINO), lars (SimCLR, lightly's), sgd (VICReg)",
    )
    lr: float = Field(
        1e-3, gt=0, description="initial learning rate (paper 001: 3e-4; paper 003: 4e-3)"
    )
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum (paper 001: 0.9)")
    betas: tuple[float, float] = Field((0.9, 0.999), description="Adam betas (paper 003)")
    weight_decay: float = Field(
        0.0, ge=0, description="weight decay (paper 001: 1e-4; paper 003: 0)"
    )
    schedule: Literal["cosine", "none"] = Field(
        "cosine", description="per-step cosine annealing to 0 (paper 001) or constant (paper 003)"
    )
    warmup_epochs: float = Field(
        0.0,
        ge=0,
        description="linear warm-up from lr/steps to lr over these epochs, per step, before the "
        "schedule (paper 002 table 6: a tenth of the epochs)",
    )


class TrainConfig(StrictModel):
    """One training run: everything that decides the weights, and nothing else."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    objective: ObjectiveConfig = Field(default_factory=SupervisedObjective)
    augment: AugmentConfig | None = Field(
        None, description="training augmentation; None = the objective's default preset"
    )
    optim: OptimConfig = Field(default_factory=OptimConfig)
    epochs: int = Field(10, ge=1, description="training epochs")
    batch_size: int = Field(256, ge=2, description="batch size (papers: 256)")
    seed: int = Field(0, description="fixes initialization, data order and augmentation draws")
    precision: Literal["auto", "bf16", "fp32"] = Field(
        "auto", description="auto = bf16 autocast on CUDA and on CPUs with native bf16"
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    channels_last: bool = Field(True, description="channels_last memory format for convnets")
    compile: bool = Field(False, description="torch.compile the network")
    measure_at: list[float] = Field(
        default_factory=list,
        description="epochs at which hooks measure: 0 = initialization (before any step); a "
        "fraction is measured at the nearest optimizer step, and never before the first step. "
        "Points that fall on the same step are measured once and stored under each of them",
    )
    save_epochs: list[int] = Field(
        default_factory=list,
        description="epochs whose weights are kept as checkpoints epoch-NNNN (0 = initialization)",
    )
    checkpoint_every: int | None = Field(
        None,
        ge=1,
        description="epochs between the resumable 'last' checkpoints (weights, optimizer, "
        "generator); null = after the first epoch that ends at least "
        "CHECKPOINT_SECONDS (30 s) after the previous checkpoint, so short epochs do not spend "
        "their time writing (about a tenth of a small CPU run's); the last epoch always writes "
        "one. A killed run resumes exactly from the latest and repeats the epochs after it. "
        "Not in the run key: it never changes results",
    )
    alignment_lambda: float = Field(
        0.0,
        ge=0,
        le=1,
        description="alignment regularizer (paper 002 eq. 3): (1 - lambda) L_SSL - lambda "
        "E d(f(x'), f(x'')); 0 = off",
    )
    alignment_tap: str = Field(
        "auto",
        description="representation f of the regularizer: a tap, or auto = the encoder's full "
        "output, as SSLMem scores it (token map of a ViT, last feature map of a convnet)",
    )
    alignment_normalize: bool = Field(
        True, description="d = l2 distance of l2-normalized representations (SSLMem's); False = raw"
    )
    probe: ProbeConfig | None = Field(
        None, description="kNN and linear probes of the final encoder; null = none (not in the key)"
    )
    privacy: PrivacyConfig | None = Field(
        None,
        description="DP-SGD through Opacus to a target (epsilon, delta = 1/n) (paper 002 table "
        "5; see mnemoscope.training.privacy): per-example methods only (supervised, "
        "random_labels, mae); null = ordinary training (epsilon = infinity)",
    )

    @field_validator("measure_at")
    @classmethod
    def _measure_points_sorted(cls, points: list[float]) -> list[float]:
        bad = [point for point in points if point < 0]
        if bad:
            raise ValueError(f"measure_at epoch {bad[0]} is negative: use epochs >= 0")
        points = sorted(set(points))
        # Each point is stored as measurements/epoch-<name>.safetensors: one name, one point.
        for before, after in zip(points, points[1:], strict=False):
            if measurement_name(before) == measurement_name(after):
                raise ValueError(
                    f"measure_at epochs {before!r} and {after!r} would both be stored as "
                    f"epoch-{measurement_name(after)}: keep points at least 1e-4 epochs apart"
                )
        return points

    @field_validator("save_epochs")
    @classmethod
    def _save_epochs_not_negative(cls, epochs: list[int]) -> list[int]:
        bad = [epoch for epoch in epochs if epoch < 0]
        if bad:
            raise ValueError(f"save_epochs epoch {bad[0]} is negative: use 0 (init) or later")
        return epochs

    @model_validator(mode="after")
    def _points_within_training(self) -> TrainConfig:
        for key in ("measure_at", "save_epochs"):
            late = [point for point in getattr(self, key) if point > self.epochs]
            if late:
                raise ValueError(f"{key} epoch {late[0]:g} is after the last epoch ({self.epochs})")
        if self.optim.warmup_epochs > self.epochs:
            raise ValueError(
                f"optim.warmup_epochs {self.optim.warmup_epochs:g} is longer than training "
                f"({self.epochs} epochs)"
            )
        return self

    @model_validator(mode="after")
    def _mae_needs_a_vit(self) -> TrainConfig:
        if self.objective.name == "mae" and not self.model.name.startswith("vit"):
            raise ValueError(
                f"objective 'mae' masks patches of a ViT: use model.name 'vit-tiny', "
                f"not {self.model.name!r}"
            )
        return self

    @model_validator(mode="after")
    def _regularizer_needs_two_views(self) -> TrainConfig:
        if self.alignment_lambda > 0 and self.objective.name in CLASSIFICATION:
            raise ValueError(
                f"alignment_lambda {self.alignment_lambda:g} needs a self-supervised objective "
                f"with two views; objective {self.objective.name!r} has one"
            )
        return self

    @model_validator(mode="after")
    def _privacy_needs_independent_examples(self) -> TrainConfig:
        if self.privacy is not None:
            reason = refusal(self)
            if reason is not None:
                raise ValueError(reason)
        return self

    def key(self) -> str:
        """A short hash of everything in the config that decides the run's outputs; options
        that never change the weights or measurements (``_NOT_IN_KEY``) never count. A run's
        directory name hashes it with its data recipe and hooks (``RunSpec.key``)."""
        dump = self.model_dump(mode="json", exclude=set(_NOT_IN_KEY))
        if self.privacy is None:  # added later: configs without it keep their keys
            del dump["privacy"]
        canonical = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def overlay(self, partial: Mapping[str, Any]) -> TrainConfig:
        """This config with the fields of ``partial`` laid over it (``overlay_fields``)."""
        fields = overlay_fields(self.model_dump(mode="json"), partial)
        return type(self).model_validate(fields)  # a StudyTrain stays one (no dataset)


# Options that change how a run is stored or evaluated, never what it trains or measures.
_NOT_IN_KEY = ("probe", "checkpoint_every")


def overlay_fields(base: Mapping[str, Any], partial: Mapping[str, Any]) -> dict[str, Any]:
    """``partial`` laid over ``base`` (config fields as plain dicts): the one overlay rule of
    every study and recipe. Nested dicts merge key by key, except one whose ``name`` differs
    from the base's (another objective, model, augmentation or optimizer): it replaces the
    base's whole, since one method's options mean nothing to another."""
    merged = dict(base)
    for key, value in partial.items():
        held = merged.get(key)
        if isinstance(value, Mapping) and isinstance(held, Mapping):
            renamed = "name" in value and "name" in held and value["name"] != held["name"]
            merged[key] = dict(value) if renamed else overlay_fields(held, value)
        else:
            merged[key] = value
    return merged


def epoch_checkpoint(epoch: int) -> str:
    """The checkpoint name of the weights after ``epoch`` (``save_epochs``; 0 = initialization)."""
    return f"epoch-{epoch:04d}"


def measurement_name(epoch: float) -> str:
    """The name under which the measurements of ``epoch`` are stored (``epoch-<name>``)."""
    return f"{epoch:010.4f}"

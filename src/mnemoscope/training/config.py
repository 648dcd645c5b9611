"""The config of one training run, validated before any work starts.

Defaults follow the papers where they agree with a CPU-sized run; the paper values are given
in each field's description so that a paper-scale config is a matter of copying them.
Paper 001 (profiles): ResNet-18, Adam for SimCLR and SGD (momentum 0.9) otherwise, lr 3e-4,
weight decay 1e-4, batch 256, cosine annealing, SimCLR tau 0.07 and output dimension 128.
Paper 003 (benign), table 6: Adam (0.9, 0.999), lr 4e-3, no schedule, batch 256, no weight
decay, MSE on one-hot targets, mixup, projector hidden width 65,536 without normalization.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class StrictModel(BaseModel):
    # extra="forbid": a misspelt key is an error that names it, not a silently ignored value.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(StrictModel):
    name: str = Field("fmnist-mini", description="dataset name (see `mnemoscope datasets`)")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="options passed to mnemoscope.data.load (size, channels, path...)",
    )
    subset: list[int] | None = Field(
        None, description="indices into the training set to train on; None = all of it"
    )
    derived: dict[str, Any] = Field(
        default_factory=dict,
        description="description of a training set a study builds itself (augmentation banks, "
        "i.i.d. augmentations) and passes to train(bundle=...); part of the run key",
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


class SupervisedObjective(StrictModel):
    """Classification of the true labels (paper 001: cross-entropy, weak augmentation)."""

    name: Literal["supervised"] = "supervised"
    loss: Literal["ce", "mse"] = Field("ce", description="cross-entropy or MSE on one-hot targets")
    mixup_alpha: float | None = Field(
        None, gt=0, description="mixup Beta(alpha, alpha); None = off"
    )


class RandomLabelsObjective(StrictModel):
    """Classification of labels drawn at random once (papers 001 and 003).

    ``label_seed`` is shared by every network of a study, so all seeds fit the same labels.
    """

    name: Literal["random_labels"] = "random_labels"
    label_seed: int = Field(0, description="seed of the random labels, shared across networks")
    label_noise: float = Field(
        1.0, ge=0.0, le=1.0, description="fraction of labels randomized (paper 003 fig 11/13)"
    )
    num_classes: int | None = Field(
        None, ge=2, description="number of random classes C (paper 003 fig 9); None = dataset's"
    )
    per_sample: bool = Field(False, description="every training example its own class")
    loss: Literal["ce", "mse"] = Field("ce", description="paper 003 uses mse on one-hot targets")
    mixup_alpha: float | None = Field(
        None, gt=0, description="mixup Beta(alpha, alpha); None = off"
    )

    @model_validator(mode="after")
    def _per_sample_excludes_noise(self) -> RandomLabelsObjective:
        if self.per_sample and (self.label_noise != 1.0 or self.num_classes is not None):
            raise ValueError(
                "per_sample=True gives every example its own class: leave label_noise at 1.0 "
                "and num_classes unset"
            )
        return self


class SimCLRObjective(StrictModel):
    """SimCLR's NT-Xent on two views per image (paper 001: tau = 0.07, output dim 128)."""

    name: Literal["simclr"] = "simclr"
    temperature: float = Field(0.07, gt=0, description="softmax temperature tau (paper 001: 0.07)")


ObjectiveConfig = Annotated[
    SupervisedObjective | RandomLabelsObjective | SimCLRObjective, Field(discriminator="name")
]


class OptimConfig(StrictModel):
    name: Literal["adam", "adamw", "sgd"] = Field(
        "adam",
        description="paper 001: adam for SimCLR, sgd (momentum 0.9) otherwise; paper 003: adam",
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
        description="epochs (fractions allowed, 0 = initialization) at which hooks measure",
    )
    measure: dict[str, Any] = Field(
        default_factory=dict, description="what the study's hooks measure (part of the run key)"
    )
    save_epochs: list[int] = Field(
        default_factory=list, description="epochs whose weights are kept as checkpoints"
    )

    @field_validator("measure_at")
    @classmethod
    def _measure_points_sorted(cls, points: list[float]) -> list[float]:
        bad = [point for point in points if point < 0]
        if bad:
            raise ValueError(f"measure_at epoch {bad[0]} is negative: use epochs >= 0")
        return sorted(set(points))

    @model_validator(mode="after")
    def _points_within_training(self) -> TrainConfig:
        for key in ("measure_at", "save_epochs"):
            late = [point for point in getattr(self, key) if point > self.epochs]
            if late:
                raise ValueError(f"{key} epoch {late[0]:g} is after the last epoch ({self.epochs})")
        return self

    def key(self) -> str:
        """A short hash of everything that decides the run's outputs: the run directory's name."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def run_name(self) -> str:
        return f"{self.objective.name}-s{self.seed}-{self.key()}"

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
    """SimCLR's NT-Xent on two views per image (paper 001: tau = 0.07, output dim 128).

    Paper 002 table 6: batch 4096, LARS lr 4.8, 600 epochs (60 warm-up), cosine decay.
    """

    name: Literal["simclr"] = "simclr"
    temperature: float = Field(0.07, gt=0, description="softmax temperature tau (paper 001: 0.07)")


class BYOLObjective(StrictModel):
    """BYOL (Grill et al. 2020): online network + predictor regresses an EMA target network.

    Paper values: projector 4096 hidden / 256 out (``model.projector_hidden``,
    ``model.output_dim``), predictor 4096 hidden, momentum 0.996 rising to 1, LARS. CPU quick:
    predictor_hidden 512 with the model defaults (512 / 128). See ``objectives.byol``.
    """

    name: Literal["byol"] = "byol"
    predictor_hidden: int = Field(4096, ge=1, description="predictor hidden width (BYOL: 4096)")
    momentum: float = Field(
        0.996, ge=0, le=1, description="initial EMA momentum of the target, cosine to 1 (0.996)"
    )


class SimSiamObjective(StrictModel):
    """SimSiam (Chen & He 2021): predictor on one branch, stop-gradient on the other.

    Paper values: projector 2048 / 2048 (``model.projector_hidden``, ``model.output_dim``),
    predictor bottleneck 512, SGD lr 0.05 x batch / 256, momentum 0.9, weight decay 1e-4.
    CPU quick: predictor_hidden 128 with the model defaults (512 / 128). See ``objectives.simsiam``.
    """

    name: Literal["simsiam"] = "simsiam"
    predictor_hidden: int = Field(512, ge=1, description="predictor bottleneck width (512)")


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


class BarlowTwinsObjective(StrictModel):
    """Barlow Twins (Zbontar et al. 2021): cross-correlation to identity (not per example).

    Paper values: lambda 5e-3, projector 8192-8192-8192, LARS, batch 2048. CPU quick: the model
    defaults (512 / 128). See ``objectives.barlowtwins``.
    """

    name: Literal["barlowtwins"] = "barlowtwins"
    redundancy_weight: float = Field(
        5e-3, ge=0, description="lambda, off-diagonal weight (Barlow Twins: 5e-3)"
    )


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


class MAEObjective(StrictModel):
    """MAE (He et al. 2022) on a ViT (``model.name: vit-tiny``); scored on the ``tokens`` tap.

    Paper values: mask ratio 0.75, decoder 512 wide, 8 blocks, 16 heads, normalized-pixel
    targets. Paper 002 table 6: batch 2048, AdamW lr 1.2e-3, 600 epochs (60 warm-up), cosine
    decay. CPU quick: decoder_dim 128, decoder_depth 2, decoder_heads 4. See ``objectives.mae``.
    """

    name: Literal["mae"] = "mae"
    mask_ratio: float = Field(0.75, gt=0, lt=1, description="fraction of patches masked (0.75)")
    decoder_dim: int = Field(512, ge=1, description="decoder width (MAE: 512)")
    decoder_depth: int = Field(8, ge=1, description="decoder transformer blocks (MAE: 8)")
    decoder_heads: int = Field(16, ge=1, description="decoder attention heads (MAE: 16)")
    norm_pix_loss: bool = Field(
        True, description="standardize each target patch (MAE section 4: better features)"
    )

    @model_validator(mode="after")
    def _heads_divide_width(self) -> MAEObjective:
        if self.decoder_dim % self.decoder_heads:
            raise ValueError(
                f"decoder_heads {self.decoder_heads} does not divide decoder_dim "
                f"{self.decoder_dim}: each head needs decoder_dim / decoder_heads channels"
            )
        return self


ObjectiveConfig = Annotated[
    SupervisedObjective
    | RandomLabelsObjective
    | SimCLRObjective
    | BYOLObjective
    | SimSiamObjective
    | VICRegObjective
    | BarlowTwinsObjective
    | DINOObjective
    | MAEObjective,
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
    measure: dict[str, Any] = Field(
        default_factory=dict, description="what the study's hooks measure (part of the run key)"
    )
    save_epochs: list[int] = Field(
        default_factory=list,
        description="epochs whose weights are kept as checkpoints epoch-NNNN (0 = initialization)",
    )
    checkpoint_every: int = Field(
        1,
        ge=1,
        description="epochs between the resumable 'last' checkpoints (weights, optimizer, "
        "generator); the last epoch always writes one. A killed run resumes exactly from the "
        "latest and repeats the epochs after it. Not in the run key: it never changes results",
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
        if self.alignment_lambda > 0 and self.objective.name in ("supervised", "random_labels"):
            raise ValueError(
                f"alignment_lambda {self.alignment_lambda:g} needs a self-supervised objective "
                f"with two views; objective {self.objective.name!r} has one"
            )
        return self

    def key(self) -> str:
        """A short hash of everything that decides the run's outputs: the run directory's name.

        Options added after runs were first stored are left out while at their default
        (``_LATE_DEFAULTS``), so those runs keep their directories; options that never change
        the weights or measurements (``_NOT_IN_KEY``: probe, checkpoint_every) never count.
        """
        dump = self.model_dump(mode="json", exclude=set(_NOT_IN_KEY))
        for path, default in _LATE_DEFAULTS.items():
            *parents, leaf = path
            holder = dump
            for parent in parents:
                holder = holder[parent]
            if holder.get(leaf) == default:
                del holder[leaf]
        canonical = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def run_name(self) -> str:
        return f"{self.objective.name}-s{self.seed}-{self.key()}"


# Options that change how a run is stored or evaluated, never what it trains or measures.
_NOT_IN_KEY = ("probe", "checkpoint_every")

# Options added after the first runs were stored, with the default that leaves them out of the key.
_LATE_DEFAULTS: dict[tuple[str, ...], Any] = {
    ("optim", "warmup_epochs"): 0.0,
    ("alignment_lambda",): 0.0,
    ("alignment_tap",): "auto",
    ("alignment_normalize",): True,
}


def epoch_checkpoint(epoch: int) -> str:
    """The checkpoint name of the weights after ``epoch`` (``save_epochs``; 0 = initialization)."""
    return f"epoch-{epoch:04d}"


def measurement_name(epoch: float) -> str:
    """The name under which the measurements of ``epoch`` are stored (``epoch-<name>``)."""
    return f"{epoch:010.4f}"

"""The config of the memorization atlas (``study: atlas``, issue 23).

One design for every per-image score: K models per method, each trained on the shared images
plus a seeded half of a candidate pool (``pool``), known atypical images planted among the
candidates (``planted``), and every score measured from the same K models: SSLMem and LayerMem
(paper 002 eq. 1-2; Wang et al. 2024), Feldman & Zhang's subsampled estimator, LiRA (Carlini et
al. 2022), learning dynamics (Toneva et al. 2019; Swayamdipta et al. 2020) and Déjà Vu
(Meehan et al. 2023). ``methods`` lists the trainings, each a partial ``TrainConfig`` laid over
``train`` as in sslmem's ``compare.variants``: SSL methods give the SSL scores, supervised ones
Feldman's and the classifier's.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.measure.dejavu import DEFAULT_K
from mnemoscope.strict import StrictModel
from mnemoscope.studies.config import DataSpec, StudyConfig, StudyTrain, set_by_study
from mnemoscope.studies.sslmem.config import MeasureConfig as SSLMemMeasure
from mnemoscope.studies.sslmem.config import ssl_by_default
from mnemoscope.training.objectives import CLASSIFICATION

METHOD_NAME = re.compile(r"^[a-z][a-z0-9-]*$")  # no "_": it separates method and score names
ATYPICAL = ("noise", "inverted", "held_out_class")  # paper 002 sec. 4.3's atypical images
SIMPLE_KINDS = (*ATYPICAL, "near_duplicate", "mislabeled")
DUPLICATE = re.compile(r"^duplicate_(\d+)$")  # duplicate_<copies>: exact copies of one image
ALL_KINDS = ["noise", "inverted", "held_out_class", "duplicate_2", "duplicate_8",
             "near_duplicate", "mislabeled"]  # fmt: skip
VARIANTS = ("online", "online-fixed", "offline", "offline-fixed")


def copies_of_kind(kind: str) -> int:
    """Images per group of a planted kind: c for ``duplicate_c``, 2 for ``near_duplicate``
    (an image and its near copy), 1 for every other kind."""
    found = DUPLICATE.match(kind)
    if found:
        return int(found.group(1))
    return 2 if kind == "near_duplicate" else 1


class ModelPool(StrictModel):
    """K models in pairs on complementary halves of the candidates (``pool.membership``), the
    design the atlas and the privacy audit share."""

    models: int = Field(
        16, ge=4, le=998,
        description="K models per method, even: model 2j and 2j + 1 train on complementary "
        "halves of the candidates, so every candidate is IN for exactly K / 2 models",
    )  # fmt: skip
    seed: int = Field(0, ge=0, description="seed of the shared part, the candidates and the halves")

    @field_validator("models")
    @classmethod
    def _even(cls, models: int) -> int:
        if models % 2:
            raise ValueError(
                f"pool.models = {models} is odd: the models come in pairs trained on "
                "complementary halves of the candidates (every candidate IN for K / 2)"
            )
        return models


class PoolConfig(ModelPool):
    """The membership design: K models per method, each on the shared images plus one half of
    the candidates (``pool.membership``: complementary halves per pair of models)."""

    candidates: int = Field(
        1000, ge=10, description="ordinary candidates (the planted images come on top)"
    )
    shared: int = Field(1000, ge=0, description="ordinary images every model trains on")
    stratify: bool = Field(True, description="keep class proportions in shared and candidates")


class PlantedConfig(StrictModel):
    """Known answers planted among the candidates (``pool.plant``), each IN for half the
    models like any candidate."""

    kinds: list[str] = Field(
        default_factory=lambda: list(ALL_KINDS),
        description="noise = uniform noise images (random labels); inverted = colour-inverted "
        "images whose originals are used nowhere; held_out_class = images of a class left out of "
        "everything else; duplicate_<c> = groups of c exact copies of one image; near_duplicate = "
        "pairs of an image and a slightly noisy copy; mislabeled = images with another class's "
        "label (supervised methods only)",
    )
    per_kind: int = Field(
        16, ge=2, description="images of each kind (a multiple of a kind's copies: groups x copies)"
    )
    copies_of: Literal["noise", "inverted", "ordinary"] = Field(
        "noise",
        description="what duplicates and near-duplicates copy: noise (an image memorized when "
        "alone, so that copies can lower it), inverted or ordinary unused images",
    )
    near_sigma: float = Field(
        16.0, gt=0, le=128, description="sd of the Gaussian noise of a near copy, in 0..255 units"
    )
    held_out_class: int | None = Field(
        None, ge=0, description="the class left out; None = the dataset's last class"
    )
    seed: int = Field(0, ge=0, description="seed of the planted images and their sources")

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, kinds: list[str]) -> list[str]:
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"planted.kinds repeat: {kinds}")
        for kind in kinds:
            found = DUPLICATE.match(kind)
            if kind not in SIMPLE_KINDS and not (found and int(found.group(1)) >= 2):
                raise ValueError(
                    f"planted kind {kind!r} is unknown: use {', '.join(SIMPLE_KINDS)} or "
                    "duplicate_<c> with c >= 2 copies"
                )
        return kinds

    @model_validator(mode="after")
    def _groups(self) -> PlantedConfig:
        for kind in self.kinds:
            copies = copies_of_kind(kind)
            if self.per_kind % copies:
                raise ValueError(
                    f"planted.per_kind = {self.per_kind} is not a multiple of the {copies} "
                    f"copies of {kind}: use a multiple of {copies}"
                )
        return self


class MeasureConfig(SSLMemMeasure):
    """SSLMem's measurement (views, tap, distance, normalization) as the sslmem study's, on the
    candidates of every SSL method; ``center: [shared]`` centers each model's alignment on
    ``shared_points`` shared images."""

    shared_points: int = Field(
        100, ge=1, description="shared images each model's alignment is centered on "
        "(center: [shared]; a class-stratified sample of the shared part)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_estimate(self) -> MeasureConfig:
        if self.pairs == "auto":
            raise ValueError(
                "measure.pairs = auto: the atlas reports each score's reliability over views "
                "itself; give a number of pairs"
            )
        if len(self.center) != 1:
            raise ValueError(f"measure.center = {self.center}: the atlas scores one estimate, "
                             "[plain] or [shared]")  # fmt: skip
        return self


class DejaVuConfig(StrictModel):
    """Déjà Vu (Meehan et al. 2023; ``measure.dejavu``) of the SSL methods, IN models as A and
    OUT models as B: each model guesses each candidate's label from its periphery."""

    enabled: bool = Field(True, description="measure Déjà Vu for the SSL methods")
    public: int = Field(
        500, ge=2, description="labelled public images from the test split (class-stratified)"
    )
    k: int = Field(DEFAULT_K, ge=1, description="neighbours in the public set (Meehan et al.: 100)")
    box: float = Field(0.5, gt=0, lt=1, description="side of the masked central box (fraction)")
    fill: float = Field(0.5, ge=0, le=1, description="value of the masked box, in [0, 1]")
    tap: str = Field("embedding", description="representation the kNN reads")

    @model_validator(mode="after")
    def _enough_public(self) -> DejaVuConfig:
        if self.enabled and self.k > self.public:
            raise ValueError(f"dejavu.k = {self.k} exceeds dejavu.public = {self.public} images")
        return self


class MembershipConfig(StrictModel):
    """LiRA (Carlini et al., S&P 2022; ``analysis.membership``): every model the target in turn,
    its Gaussians fitted on the K - 2 models outside its pair."""

    variants: list[Literal["online", "online-fixed", "offline", "offline-fixed"]] = Field(
        default_factory=lambda: ["online", "online-fixed", "offline"],
        description="online / offline likelihood ratios; -fixed: one variance for all images "
        "(the paper's choice for few models)",
    )

    @field_validator("variants")
    @classmethod
    def _variants(cls, variants: list[str]) -> list[str]:
        if not variants or len(set(variants)) != len(variants):
            raise ValueError(f"membership.variants must list distinct variants, got {variants}")
        return variants


class DynamicsConfig(StrictModel):
    """Learning dynamics from the same trainings: recognition of every candidate by every model
    at measured epochs (``pool.TrackingHook``, paper 001's indicator), read over the IN models."""

    enabled: bool = Field(True, description="track recognition during training (methods with "
                          "paper 001's indicator: supervised, SimCLR)")  # fmt: skip
    measurements: int = Field(
        10, ge=2, description="measured epochs per training, evenly spaced and ending at its last "
        "epoch (each method's own epochs; every epoch of a shorter training)",
    )  # fmt: skip
    augmentations: int = Field(
        1, ge=1, description="M training augmentations per image tracked (plus a fixed one)"
    )
    seed: int = Field(0, ge=0, description="seed of the tracked views, shared by every model")
    eval_batch_size: int | None = Field(
        None, ge=2, description="SimCLR's evaluation batch; None = the training batch size"
    )
    batch_size: int = Field(1024, ge=1, description="views per forward pass (memory only)")


class StatsConfig(StrictModel):
    """Intervals, reliability and agreement."""

    confidence: float = Field(0.95, gt=0, lt=1, description="level of every interval")
    resamples: int = Field(1000, ge=50, description="bootstrap resamples (models; images)")
    splits: int = Field(20, ge=1, description="random halvings averaged per split-half")
    draws: int = Field(10, ge=1, description="subsets of k models per point of the curve")
    target: float = Field(0.8, gt=0, lt=1, description="the reliability asked for")
    top_k: int = Field(100, ge=1, description="k of the top-k overlap")
    fpr: float = Field(0.01, gt=0, lt=1, description="FPR of the planted detection's TPR")
    gallery: list[str] | None = Field(
        None, min_length=2, max_length=2,
        description="the two scores of the disagreement gallery; None = the first SSL method's "
        "SSLMem and the first supervised method's Feldman score (else the first two scores)",
    )  # fmt: skip
    gallery_size: int = Field(8, ge=1, description="images a side of the gallery")


class MethodConfig(StrictModel):
    """One training method: its K models, a partial ``TrainConfig`` laid over ``train``."""

    name: str = Field(description="lower case letters, digits and -: names the scores")
    train: dict = Field(
        default_factory=dict,
        description="partial TrainConfig merged into the study's train (as sslmem's "
        "compare.variants; null resets a key to its default)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not METHOD_NAME.match(name):
            raise ValueError(
                f"method name {name!r}: use lower case letters, digits and -, starting with a "
                "letter (score names are <method>_<score>)"
            )
        return name


def default_methods() -> list[MethodConfig]:
    return [MethodConfig(name="simclr"),
            MethodConfig(name="supervised", train={"objective": {"name": "supervised"},
                                                   "augment": None})]  # fmt: skip


class Config(StudyConfig):
    """``mnemoscope run``'s config for ``study: atlas``."""

    study: Literal["atlas"] = "atlas"
    data: DataSpec = Field(default_factory=DataSpec)
    train: StudyTrain = Field(
        default_factory=lambda: StudyTrain.model_validate({"objective": {"name": "simclr"}}),
        description="the training every method overlays (objective defaults to simclr); each "
        "model's images and seed (train.seed + k) are the study's",
    )
    methods: list[MethodConfig] = Field(default_factory=default_methods, min_length=1)
    pool: PoolConfig = Field(default_factory=PoolConfig)
    planted: PlantedConfig = Field(default_factory=PlantedConfig)
    measure: MeasureConfig = Field(default_factory=MeasureConfig)
    dejavu: DejaVuConfig = Field(default_factory=DejaVuConfig)
    membership: MembershipConfig = Field(default_factory=MembershipConfig)
    dynamics: DynamicsConfig = Field(default_factory=DynamicsConfig)
    stats: StatsConfig = Field(default_factory=StatsConfig)

    _ssl_by_default = field_validator("train", mode="before")(ssl_by_default)

    _study_sets = field_validator("train")(
        set_by_study("save_epochs", "measure_at", by="see dynamics.measurements")
    )

    @model_validator(mode="after")
    def _methods_valid(self) -> Config:
        names = [method.name for method in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"methods repeat a name: {names}")
        self.method_trains()  # builds (and so validates) every method's training
        return self

    def describe(self) -> str:
        return (f"{self.data.name}, {self.train.model.name}; methods "
                f"{', '.join(m.name for m in self.methods)}; K = {self.pool.models} models each "
                f"on {self.pool.shared} shared + half of {self.pool.candidates} candidates "
                f"(+ {len(self.planted.kinds)} planted kinds x {self.planted.per_kind}); "
                f"{self.train.epochs} epochs")  # fmt: skip

    def method_trains(self) -> dict[str, StudyTrain]:
        """Each method's training, by name: ``train`` with the method's ``train`` laid over it;
        supervised (Feldman's scores) or a self-supervised objective (SSLMem's)."""
        trains = {}
        for method in self.methods:
            owned = sorted({"seed", "save_epochs", "measure_at", "data"} & set(method.train))
            if owned:
                raise ValueError(f"method {method.name!r} sets train.{owned[0]}: the study's")
            try:
                train = self.train.overlay(method.train)
            except ValueError as error:  # pydantic's ValidationError is a ValueError
                raise ValueError(f"method {method.name!r}: {error}") from None
            name = train.objective.name
            if name in CLASSIFICATION and name != "supervised":
                raise ValueError(
                    f"method {method.name!r} trains {name!r}: a classifier of the atlas is "
                    "supervised (Feldman's score reads the true label's probability)"
                )
            trains[method.name] = train
        return trains

    def measured_epochs(self, epochs: int) -> list[float]:
        """The epochs at which a training of ``epochs`` epochs is tracked
        (``dynamics.measurements`` of them, evenly spaced, the last one included)."""
        count = self.dynamics.measurements
        return sorted({float(max(1, round(epochs * i / count))) for i in range(1, count + 1)})

    def is_ssl(self, method: str) -> bool:
        return self.method_trains()[method].objective.name not in CLASSIFICATION

"""The config of the SSLMem study (paper 002); defaults follow the paper, options are deviations.

Paper settings (section 4, appendix A): S_S / S_C / S_I = 80% / 10% / 10% of the training set,
S_E = as many test images as S_C; f trains on S_S + S_C, g on S_S + S_I; l2 distance between
l2-normalized representations averaged over 5 augmentation pairs; scores normalized by their
range; three seeds. Training itself is any ``TrainConfig`` (SimCLR by default), so every
objective of the engine, present or future, plugs in unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.analysis.stats import TOP_KS
from mnemoscope.execution.config import ExecutionConfig
from mnemoscope.strict import StrictModel
from mnemoscope.studies.config import (
    Size,
    SplitSpec,
    StudyConfig,
    StudyTrain,
    distinct_seeds,
    moved,
    refuse_outer_owned,
    set_by_study,
)
from mnemoscope.training import AugmentConfig, OptimConfig, SupervisedObjective

PLANTED_KINDS = ("inverted", "held_out_class", "noise")


class SplitConfig(SplitSpec):
    """S_S / S_C / S_I from the training set and S_E from the test set (section 4)."""

    shared: Size = Field(0.8, description="S_S: fraction or count of the training set (80%)")
    candidates: Size = Field(0.1, description="S_C, trained on by f only (10%)")
    independent: Size = Field(0.1, description="S_I, trained on by g only (10%)")
    extra: int | None = Field(
        None, ge=1, description="S_E from the test set; None = as many as S_C (section 4)"
    )
    scored_shared: int | None = Field(
        None, ge=1, description="S_S points scored; None = as many as S_C (a sample, as S_C)"
    )

    def parts(self) -> dict[str, Size]:
        return {"shared": self.shared, "candidates": self.candidates,
                "independent": self.independent}  # fmt: skip


class PlantedConfig(StrictModel):
    """Known atypical images put into S_C, to check that the score finds them (AUROC)."""

    kinds: list[Literal["inverted", "held_out_class", "noise"]] = Field(
        default_factory=list,
        description="inverted = colour-inverted unused training images; held_out_class = "
        "images of a class left out of S_S, S_C, S_I and S_E; noise = uniform noise images",
    )
    per_kind: int = Field(25, ge=2, description="planted images of each kind")
    held_out_class: int | None = Field(
        None, ge=0, description="the class left out; None = the dataset's last class"
    )
    seed: int = Field(0, ge=0, description="seed of which images are planted and of the noise")

    @field_validator("kinds")
    @classmethod
    def _unique(cls, kinds: list[str]) -> list[str]:
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"planted kinds repeat: {kinds}")
        return kinds


class MeasureConfig(StrictModel):
    """How eq. 1 and eq. 2 are measured."""

    augment: AugmentConfig | None = Field(
        None,
        description="measurement augmentation; None = the training one (paper); table 8: "
        "gaussian_noise, rotate (with reference: clean), color_drop",
    )
    pairs: int | Literal["auto"] = Field(
        5,
        description="augmentation pairs A per image (section 4: 5); auto = draw more pairs "
        "until the per-image score of the ordinary candidates reaches target_reliability "
        "(split-half, Spearman-Brown) or max_pairs",
    )
    target_reliability: float = Field(
        0.8, gt=0, lt=1, description="pairs: auto stops at this reliability (and reports it)"
    )
    max_pairs: int = Field(50, ge=2, description="pairs: auto never draws more pairs than this")
    scorer: Literal["eq1", "authors-fixed"] = Field(
        "eq1",
        description="eq1 = the paper's eq. 1 (reference and augment as set here); "
        "authors-fixed = the authors' released scorer with its pixel-range bug fixed: clean "
        "image vs one view of their augmentation (reference: clean, augment: benign)",
    )
    reference: Literal["views", "clean"] = Field(
        "views",
        description="views = two views per pair (eq. 1); clean = clean image vs one view, as "
        "the authors' released scorer (deviation)",
    )
    distance: Literal["l2", "angular"] = Field("l2", description="d of eq. 1 (paper: l2)")
    tap: str = Field(
        "auto",
        description="representation: auto = the encoder's full output (appendix A): the last "
        "feature map (layer4) of a convnet, the token map of a ViT; embedding = pooled vector",
    )
    extra_taps: list[str] | Literal["all"] = Field(
        default_factory=list,
        description="more taps scored with the same views (tables/sslmem_taps.csv: which layer "
        "memorizes), e.g. [embedding, output]; all = LayerMem (Wang et al. 2024): every tap of "
        "the model, with Delta-LayerMem between consecutive layers",
    )
    center: list[Literal["plain", "shared"]] = Field(
        default_factory=lambda: ["plain"],
        description="estimates reported; the first is the headline. plain = eq. 2 (paper); "
        "shared = each encoder centered on its mean alignment over S_S (deviation)",
    )
    seed: int = Field(0, ge=0, description="seed of the views (common to every encoder)")
    batch_size: int = Field(
        256, ge=1, description="views per forward pass (speed and memory, never results)"
    )
    precision: Literal["fp32", "bf16"] = Field(
        "fp32",
        description="fp32 (default); bf16 autocast is ~2x faster on AMX CPUs but moves L_align "
        "by ~1e-3, the size of small-scale memorization gaps (deviation)",
    )

    @model_validator(mode="after")
    def _scorer_sets_its_options(self) -> MeasureConfig:
        if self.scorer != "eq1":
            clash = sorted({"reference", "augment"} & self.model_fields_set)
            if clash:
                raise ValueError(
                    f"measure.scorer={self.scorer!r} sets reference and augment itself: leave "
                    f"out measure.{clash[0]}"
                )
        if isinstance(self.pairs, int) and self.pairs < 1:
            raise ValueError(f"measure.pairs={self.pairs} is invalid: need >= 1 or 'auto'")
        return self

    @model_validator(mode="after")
    def _extra_taps(self) -> MeasureConfig:
        if self.extra_taps == "all":
            return self  # the model's taps, resolved by the study
        taps = [self.tap, *self.extra_taps]
        if len(set(taps)) != len(taps):
            raise ValueError(f"measure.extra_taps {self.extra_taps} repeat a tap (tap: {self.tap})")
        return self

    @field_validator("center")
    @classmethod
    def _centers(cls, center: list[str]) -> list[str]:
        if not center or len(set(center)) != len(center):
            raise ValueError(f"center must list 'plain' and/or 'shared' once each, got {center}")
        return center


class UnitMemConfig(StrictModel):
    """UnitMem (Wang et al., "Localizing Memorization in SSL Vision Encoders", NeurIPS 2024) of
    the trained f encoders, on f's scored training images (S_C with planted ones, and S_S):
    ``mnemoscope.measure.unitmem``. No training of its own."""

    enabled: bool = Field(False, description="measure UnitMem of every unit of `taps`")
    taps: list[str] = Field(
        default_factory=lambda: ["layer1", "layer2", "layer3", "layer4"],
        description="layers whose units are scored (a conv channel: its spatial mean)",
    )
    views: int = Field(10, ge=1, description="K augmented views averaged per image and unit")
    negative: Literal["nan", "shift"] = Field(
        "nan",
        description="units with a negative image mean (no ReLU before the tap): nan = "
        "undefined (paper), shift = subtract the unit's lowest image mean first (deviation)",
    )
    top: int = Field(20, ge=1, description="the most memorizing units listed with their image")

    @field_validator("taps")
    @classmethod
    def _taps(cls, taps: list[str]) -> list[str]:
        if not taps or len(set(taps)) != len(taps):
            raise ValueError(f"unitmem.taps must list distinct taps, got {taps}")
        return taps


class OverTrainingConfig(StrictModel):
    """Fig. 2b: scores, training loss and probe accuracy at saved epochs."""

    epochs: list[int] = Field(
        default_factory=list,
        description="epochs whose checkpoints are scored (the final epoch is always added); "
        "empty = no fig 2b",
    )
    probe: Literal["knn", "linear"] = Field("knn", description="accuracy beside the score")
    top_fraction: float = Field(
        0.1, gt=0, le=1, description="fig 2b also follows the most memorized 10% of S_C"
    )

    @field_validator("epochs")
    @classmethod
    def _positive(cls, epochs: list[int]) -> list[int]:
        if any(epoch < 1 for epoch in epochs):
            raise ValueError(f"over_training.epochs must be >= 1, got {epochs}")
        return sorted(set(epochs))


class FeldmanConfig(StrictModel):
    """Appendix B.3: supervised f and g on the same splits; Feldman's memorization is the
    difference of their softmax probability of the true label on the clean image."""

    enabled: bool = Field(False, description="train the supervised pair and compare rankings")
    seeds: list[int] | None = Field(None, description="None = the study's seeds")
    epochs: int = Field(20, ge=1, description="supervised training epochs")
    objective: SupervisedObjective = Field(default_factory=SupervisedObjective)
    augment: AugmentConfig | None = Field(None, description="None = the supervised default")
    optim: OptimConfig | None = Field(None, description="None = the SSL runs' optimizer")


class StatsConfig(StrictModel):
    confidence: float = Field(0.95, gt=0, lt=1, description="bootstrap confidence level")
    bootstrap_resamples: int = Field(2000, ge=100, description="bootstrap resamples")
    equal_var: bool = Field(
        True, description="Student's t (the authors' Ttest.py); False = Welch's t"
    )
    top_ks: list[int] = Field(default_factory=lambda: list(TOP_KS), description="table 12's k")


class VariantConfig(StrictModel):
    """One more training of f and g on the study's splits (a row of table 1)."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][\w.=+-]*$", description="the row's name in the tables and figures"
    )
    train: dict[str, Any] = Field(
        default_factory=dict,
        description="partial TrainConfig merged into the study's train: nested sections key by "
        "key, except that a section naming another `name` (objective, model, augment, optim) "
        "replaces the study's whole; null resets a key to its default",
    )


class CompareConfig(StrictModel):
    """Table 1, fig. 4 and table 13: other trainings of f and g on the very same splits and
    planted images, scored with the same measurement (views, pairs, tap, center)."""

    base_name: str = Field(
        "base",
        pattern=r"^[A-Za-z0-9][\w.=+-]*$",
        description="the row name of the study's own `train`",
    )
    variants: list[VariantConfig] = Field(
        default_factory=list, description="SSL methods / architectures / settings to compare"
    )
    lambdas: list[float] = Field(
        default_factory=list,
        description="fig. 4: one variant of `train` per alignment_lambda (eq. 3), named "
        "lambda-<value>; the value of `train` itself is its row (no second copy)",
    )
    probe: Literal["linear", "knn"] = Field(
        "linear", description="table 1 / fig. 4 accuracy: linear probe (paper) or kNN (k = 20)"
    )

    @field_validator("lambdas")
    @classmethod
    def _lambdas(cls, lambdas: list[float]) -> list[float]:
        bad = [value for value in lambdas if not 0 <= value <= 1]
        if bad:
            raise ValueError(f"compare.lambdas {bad} are outside [0, 1] (eq. 3's lambda)")
        if len(set(lambdas)) != len(lambdas):
            raise ValueError(f"compare.lambdas repeat: {lambdas}")
        return lambdas


def ssl_by_default(cls: type, train: Any) -> Any:
    """Validator of ``train`` (before parsing): TrainConfig's own default objective is
    supervised; the SSL studies' is SimCLR."""
    if isinstance(train, dict) and "objective" not in train:
        return {**train, "objective": {"name": "simclr"}}
    return train


def default_train() -> StudyTrain:
    """SimCLR with the training defaults: the SSL studies' default ``train``."""
    return StudyTrain.model_validate({"objective": {"name": "simclr"}})


class Config(StudyConfig):
    """``mnemoscope run``'s config for ``study: sslmem``."""

    study: Literal["sslmem"] = "sslmem"
    train: StudyTrain = Field(
        default_factory=default_train,
        description="the training of every f and g on `data` (the study chooses their images: "
        "S_S + S_C for f, S_S + S_I for g); objective defaults to simclr",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0, 1, 2],
        description="K seeds a side (paper: 3); f_k and g_k share seed k",
    )
    splits: SplitConfig = Field(default_factory=SplitConfig)
    planted: PlantedConfig = Field(default_factory=PlantedConfig)
    measure: MeasureConfig = Field(default_factory=MeasureConfig)
    unitmem: UnitMemConfig = Field(default_factory=UnitMemConfig)
    over_training: OverTrainingConfig = Field(default_factory=OverTrainingConfig)
    feldman: FeldmanConfig = Field(default_factory=FeldmanConfig)
    stats: StatsConfig = Field(default_factory=StatsConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)

    _ssl_by_default = field_validator("train", mode="before")(ssl_by_default)

    _study_sets = field_validator("train")(
        set_by_study("save_epochs", "measure_at", by="use over_training.epochs")
    )

    _seeds = field_validator("seeds")(distinct_seeds)

    @model_validator(mode="after")
    def _epochs_within_training(self) -> Config:
        late = [epoch for epoch in self.over_training.epochs if epoch > self.train.epochs]
        if late:
            raise ValueError(
                f"over_training.epochs {late} are after the last epoch ({self.train.epochs})"
            )
        if self.feldman.enabled and self.feldman.seeds is not None and not self.feldman.seeds:
            raise ValueError("feldman.seeds is empty: give seeds or null for the study's")
        return self

    @model_validator(mode="after")
    def _variants_valid(self) -> Config:
        self.variant_trains()  # builds (and so validates) every variant's TrainConfig
        return self

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        return moved(raw, "train.data", "data")

    def describe(self) -> str:
        return (f"{self.data.name}, {self.train.model.name}; K = {len(self.seeds)} "
                f"encoders a side, |S_S| = {self.splits.shared}, |S_C| = "
                f"{self.splits.candidates}; {self.train.epochs} epochs")

    def variant_trains(self) -> dict[str, StudyTrain]:
        """The trainings compared (``compare``), by row name: the study's ``train`` first
        (``compare.base_name``), then ``compare.variants``, then one per ``compare.lambdas``
        other than the base's own ``alignment_lambda`` (that point is the base row)."""
        compare = self.compare
        named = [(variant.name, variant.train) for variant in compare.variants]
        named += [(f"lambda-{value:g}", {"alignment_lambda": value}) for value in compare.lambdas
                  if value != self.train.alignment_lambda]  # fmt: skip
        trains = {compare.base_name: self.train}
        for name, overrides in named:
            if name in trains:
                raise ValueError(
                    f"compare: variant name {name!r} is used twice (the study's own train is "
                    f"{compare.base_name!r}, lambdas are named lambda-<value>): rename one"
                )
            owned = sorted({"seed", "save_epochs", "measure_at"} & set(overrides))
            if owned:
                raise ValueError(
                    f"compare variant {name!r} sets train.{owned[0]}: seeds and checkpoints "
                    "are the study's (seeds, over_training.epochs); leave it out"
                )
            try:
                trains[name] = self._study_sets(self.train.overlay(overrides))
            except ValueError as error:  # pydantic's ValidationError is a ValueError
                raise ValueError(f"compare variant {name!r}: {error}") from None
        return trains


class Nested(Config):
    """An SSLMem study nested in another (the ranking study of ``sslmem-removal`` and of
    ``sslmem-privacy``): every field of ``Config`` but its data, execution and repeats, which
    are the outer config's (``studies.config.OUTER_OWNED``; ``whole`` gives the full config)."""

    study: Literal["sslmem"] = "sslmem"
    data: None = Field(None, description="the outer config's `data`")
    execution: None = Field(None, description="the outer config's `execution`")
    repeat: None = Field(None, description="the outer config's `repeat` repeats the whole study")

    @field_validator("data", "execution", "repeat", mode="before")
    @classmethod
    def _outer_owned(cls, value: Any, info: Any) -> None:
        refuse_outer_owned(info.field_name, value, "sslmem")
        return None

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        return []  # the outer config moves the nested study's keys (``lift``)

    @classmethod
    def lift(cls, outer: dict[str, Any], at: str) -> list[str]:
        """The outer config's ``upgrade``: move what earlier versions kept in the nested study
        at ``outer[at]`` to the outer config (its dataset; an execution set only there), drop
        the nested copies a stored config of an earlier version repeats. A nested ``repeat``
        stays to be refused: no earlier version ran one."""
        notes = moved(outer, f"{at}.train.data", "data")
        inner = outer.get(at)
        if not isinstance(inner, dict):
            return notes
        if inner.get("repeat", "set") is None:
            inner.pop("repeat")
        if "execution" in inner:
            if inner["execution"] in (None, ExecutionConfig().model_dump(mode="json"),
                                      outer.get("execution")):  # fmt: skip
                inner.pop("execution")  # the outer's own value, or nothing set
            else:
                notes += moved(outer, f"{at}.execution", "execution")
        return notes

    def describe(self) -> str:
        return f"{self.train.model.name}; K = {len(self.seeds)} encoders a side"

    def whole(self, outer: StudyConfig) -> Config:
        """The SSLMem study's own config: these fields on the outer config's data and
        execution, run once."""
        return Config.model_validate({**self.model_dump(mode="json"),
                                      "data": outer.data.model_dump(mode="json"),
                                      "execution": outer.execution.model_dump(mode="json"),
                                      "repeat": None})  # fmt: skip

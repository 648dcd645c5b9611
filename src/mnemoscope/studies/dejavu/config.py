"""The config of the Déjà Vu study (paper 002 section 4.5, table 4; Meehan et al. 2023).

Meehan et al. train A and B on disjoint sets of 300k ImageNet images each, with a labelled
public set disjoint from both, and infer labels with k = 100 neighbours; paper 002 does the
same on CIFAR-10 and ImageNet for MAE, DINO and VICReg. Here the training split of the dataset
is cut into A's half, B's half and the public set (``splits``); every method in ``methods``
trains one A and one B per seed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.measure.dejavu import DEFAULT_K
from mnemoscope.strict import StrictModel
from mnemoscope.studies.config import (
    Size,
    SplitSpec,
    StudyConfig,
    StudyTrain,
    distinct_seeds,
    moved,
    set_by_study,
)
from mnemoscope.studies.sslmem.config import (
    MeasureConfig,
    VariantConfig,
    default_train,
    ssl_by_default,
)


class SplitConfig(SplitSpec):
    """A's half, B's half and the public set, disjoint parts of the training split (``seed``
    also draws the scored sample)."""

    half: Size = Field(0.4, description="images A trains on, and as many B: fraction or count")
    public: Size = Field(0.2, description="labelled public set the kNN reads: fraction or count")

    def parts(self) -> dict[str, Size]:
        return {"A's half": self.half, "B's half": self.half, "public": self.public}


class DejaVuConfig(StrictModel):
    """The label inference of ``measure.dejavu``."""

    k: int = Field(DEFAULT_K, ge=1, description="neighbours in the public set (Meehan et al.: 100)")
    box: float = Field(
        0.5, gt=0, lt=1,
        description="side of the masked central box, a fraction of the image side (adaptation: "
        "no bounding boxes here; measure.dejavu gives the exact definition)",
    )  # fmt: skip
    fill: float = Field(0.5, ge=0, le=1, description="value of the masked box's pixels (grey)")
    tap: str = Field("embedding", description="representation the kNN reads (the backbone's)")
    scored: int | None = Field(
        None, ge=1,
        description="A's images scored (a class-stratified sample; SSLMem scores as many of B's "
        "and of the public set to set its scale); None = all of A's half",
    )  # fmt: skip
    batch_size: int = Field(512, ge=1, description="images per forward pass (speed only)")


class Config(StudyConfig):
    """``mnemoscope run``'s config for ``study: sslmem-dejavu``."""

    study: Literal["sslmem-dejavu"] = "sslmem-dejavu"
    train: StudyTrain = Field(
        default_factory=default_train,
        description="the training every method overlays, on `data` (the study chooses A's or "
        "B's half); objective defaults to simclr",
    )
    methods: list[VariantConfig] = Field(
        default_factory=lambda: [VariantConfig(name="simclr")],
        description="rows of table 4: a name and a partial TrainConfig laid over `train` "
        "(paper: mae, dino, vicreg)",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0, 1, 2], description="one A and one B per seed and method"
    )
    splits: SplitConfig = Field(default_factory=SplitConfig)
    dejavu: DejaVuConfig = Field(default_factory=DejaVuConfig)
    measure: MeasureConfig = Field(
        default_factory=MeasureConfig,
        description="SSLMem of A's scored images with f = A and g = B (the sslmem study's "
        "measurement); center: plain only (A and B share no image to center on)",
    )
    probe: Literal["linear", "knn"] = Field(
        "linear", description="table 4's accuracy: probe of A fitted on A's half, on the test set"
    )

    _ssl_by_default = field_validator("train", mode="before")(ssl_by_default)

    _study_sets = field_validator("train")(
        set_by_study("save_epochs", "measure_at", by="it uses final weights")
    )

    _seeds = field_validator("seeds")(distinct_seeds)

    @field_validator("measure")
    @classmethod
    def _plain_only(cls, measure: MeasureConfig) -> MeasureConfig:
        if measure.extra_taps:
            raise ValueError(
                f"measure.extra_taps = {measure.extra_taps}: this study scores SSLMem at "
                "measure.tap only; leave extra_taps out"
            )
        if measure.center != ["plain"]:
            raise ValueError(
                f"measure.center = {measure.center}: A and B share no training image, so only "
                "the plain estimate (eq. 2) exists here; use [plain]"
            )
        return measure

    @model_validator(mode="after")
    def _methods_valid(self) -> Config:
        self.method_trains()
        return self

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        return moved(raw, "train.data", "data")

    def describe(self) -> str:
        return (f"{self.data.name}, {self.train.model.name}; {len(self.seeds)} seeds; "
                f"{self.train.epochs} epochs")

    def method_trains(self) -> dict[str, StudyTrain]:
        """Each method's training by row name: ``train`` with the method's fields laid over."""
        if not self.methods:
            raise ValueError("methods is empty: name at least one (e.g. {name: simclr})")
        trains: dict[str, StudyTrain] = {}
        for method in self.methods:
            if method.name in trains:
                raise ValueError(f"methods: the name {method.name!r} is used twice: rename one")
            owned = sorted({"seed", "save_epochs", "measure_at"} & set(method.train))
            if owned:
                raise ValueError(
                    f"method {method.name!r} sets train.{owned[0]}: seeds are the study's; "
                    "leave it out"
                )
            try:
                trains[method.name] = self._study_sets(self.train.overlay(method.train))
            except ValueError as error:
                raise ValueError(f"method {method.name!r}: {error}") from None
        return trains

"""The config of the privacy audit (``study: privacy-audit``, issue 28).

For each training method (``methods``, partial ``TrainConfig``s laid over ``train`` as in the
atlas) and each target epsilon (``epsilons``; infinity = the same training without DP-SGD), a
pool of K models in pairs on complementary halves of the canaries (``pool``: the atlas's
design), every model on the ordinary training images (``pool.shared``) and its half of the
canaries (``canaries``: uniform noise images with random labels, images with a wrong label).
The atlas's LiRA (``audit.variant``) tells IN canaries from OUT ones, and
``analysis.privacy_audit.epsilon_lower_bound`` turns it into an empirical lower bound on
epsilon, reported beside the accountant's.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.strict import StrictModel
from mnemoscope.studies.atlas.config import MethodConfig, ModelPool, PlantedConfig
from mnemoscope.studies.config import (
    DP_OPTIONS_HELP,
    DataSpec,
    StudyConfig,
    StudyTrain,
    dp_without_epsilon,
    refuse_nonpositive_epsilons,
    set_by_study,
)
from mnemoscope.studies.sslmem.config import MeasureConfig as SSLMemMeasure
from mnemoscope.training.objectives import CLASSIFICATION

CANARY_KINDS = ("noise", "mislabeled")


def row_name(method: str, epsilon: float) -> str:
    """The name of one pool: ``<method>-epsilon-<epsilon>`` (``inf``: no DP-SGD)."""
    return f"{method}-epsilon-{epsilon:g}"


class PoolConfig(ModelPool):
    """K models per method and epsilon, in pairs on complementary halves of the canaries
    (``atlas.pool.membership``), each on the ordinary training images too."""

    shared: int = Field(
        500, ge=1, description="ordinary training images every model trains on (the normal "
        "training set; class-stratified from the dataset's training split)",
    )  # fmt: skip
    stratify: bool = Field(True, description="keep class proportions in the shared images")

    @field_validator("models")
    @classmethod
    def _enough_for_lira(cls, models: int) -> int:
        if models < 6:
            raise ValueError(
                f"pool.models = {models}: LiRA fits each canary's IN and OUT Gaussians on the "
                "models outside the target's pair and needs 2 a side; give at least 6"
            )
        return models


class CanaryConfig(StrictModel):
    """The canaries (``atlas.pool.plant``): each IN for half of the models of a pool."""

    kinds: list[Literal["noise", "mislabeled"]] = Field(
        default_factory=lambda: list(CANARY_KINDS),
        description="noise = uniform noise images with random labels; mislabeled = unused "
        "training images with a label drawn from the other classes (audited for methods that "
        "read labels only: an SSL method never sees a label)",
    )
    per_kind: int = Field(64, ge=2, description="canaries of each kind")
    seed: int = Field(0, ge=0, description="seed of the canaries (noise, labels, originals)")

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, kinds: list[str]) -> list[str]:
        if not kinds or len(set(kinds)) != len(kinds):
            raise ValueError(f"canaries.kinds must list distinct kinds of {CANARY_KINDS}, "
                             f"got {kinds}")  # fmt: skip
        return kinds

    def planted(self) -> PlantedConfig:
        """The atlas's planted-image config of these canaries."""
        return PlantedConfig(kinds=list(self.kinds), per_kind=self.per_kind, seed=self.seed)


class MeasureConfig(SSLMemMeasure):
    """The membership statistic of an SSL method (the atlas's: its alignment loss averaged over
    ``pairs`` view pairs at ``tap``); supervised methods read p(y | x) and ignore it."""

    @model_validator(mode="after")
    def _one_statistic(self) -> MeasureConfig:
        if self.pairs == "auto":
            raise ValueError("measure.pairs = auto: give a number of view pairs, e.g. 4")
        if self.extra_taps or self.center != ["plain"]:
            raise ValueError(
                f"measure.extra_taps = {self.extra_taps}, measure.center = {self.center}: the "
                "audit reads one statistic; leave extra_taps empty and center [plain]"
            )
        return self


class AuditConfig(StrictModel):
    """The attack and the bound (``analysis.privacy_audit``)."""

    variant: Literal["online", "online-fixed", "offline", "offline-fixed"] = Field(
        "online-fixed",
        description="LiRA variant (the atlas's; -fixed: one variance for all canaries, "
        "Carlini et al.'s choice for few models)",
    )
    confidence: float = Field(
        0.95, gt=0, lt=1, description="level of the Clopper-Pearson bounds (one-sided overall)"
    )
    seed: int = Field(
        0, ge=0, description="seed of the split of the canaries into the half that picks the "
        "threshold and the half that bounds epsilon",
    )  # fmt: skip


def default_methods() -> list[MethodConfig]:
    return [MethodConfig(name="supervised")]


class Config(StudyConfig):
    """``mnemoscope run``'s config for ``study: privacy-audit``."""

    study: Literal["privacy-audit"] = "privacy-audit"
    data: DataSpec = Field(default_factory=DataSpec)
    train: StudyTrain = Field(
        default_factory=lambda: StudyTrain.model_validate({"objective": {"name": "supervised"}}),
        description="the training every method overlays (objective defaults to supervised); "
        "each model's images and seed (train.seed + k) are the study's, privacy is set per "
        "epsilon",
    )
    methods: list[MethodConfig] = Field(
        default_factory=default_methods, min_length=1,
        description="the trainings audited, each a partial train laid over `train`: supervised "
        "(statistic: p(y | x) of the label trained on) or mae (the alignment loss; DP-SGD needs "
        "a per-example loss)",
    )  # fmt: skip
    epsilons: list[float] = Field(
        default_factory=lambda: [1.0, 8.0, math.inf],
        description="target epsilons of the DP-SGD pools; .inf = the same training without "
        "DP-SGD (the attack's TPR at low FPR there)",
    )
    dp: dict[str, Any] = Field(default_factory=dict, description=DP_OPTIONS_HELP)
    pool: PoolConfig = Field(default_factory=PoolConfig)
    canaries: CanaryConfig = Field(default_factory=CanaryConfig)
    measure: MeasureConfig = Field(
        default_factory=lambda: MeasureConfig(pairs=4),
        description="the statistic of SSL methods (SSLMem's measurement options)",
    )
    audit: AuditConfig = Field(default_factory=AuditConfig)

    _study_sets = field_validator("train")(
        set_by_study("save_epochs", "measure_at", "privacy", by="see epsilons and dp")
    )

    @field_validator("epsilons")
    @classmethod
    def _epsilons(cls, epsilons: list[float]) -> list[float]:
        refuse_nonpositive_epsilons(epsilons, "1, 8")
        if len(set(epsilons)) != len(epsilons):
            raise ValueError(f"epsilons repeat: {epsilons}")
        if all(math.isinf(value) for value in epsilons):
            raise ValueError(
                f"epsilons {epsilons} holds no finite target epsilon: the audit checks DP-SGD "
                "trainings; give at least one, such as [1, .inf]"
            )
        return sorted(epsilons)

    _dp_options = field_validator("dp")(dp_without_epsilon("pool"))

    @model_validator(mode="after")
    def _pools_valid(self) -> Config:
        names = [method.name for method in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"methods repeat a name: {names}")
        for (name, _epsilon), train in self.pool_trains().items():  # builds (validates) each
            objective = train.objective.name
            if objective in CLASSIFICATION and objective != "supervised":
                raise ValueError(
                    f"method {name!r} trains {objective!r}: the audit's statistic of a "
                    "classifier is p(y | x) of the label it trained on; use supervised"
                )
        for method in self.methods:
            if not self.audited_kinds(method.name):
                raise ValueError(
                    f"method {method.name!r} reads no label, and canaries.kinds = "
                    f"{self.canaries.kinds} holds mislabeled images only: add noise"
                )
        return self

    def describe(self) -> str:
        epsilons = ", ".join(f"{e:g}" for e in self.epsilons)
        return (f"{self.data.name}, {self.train.model.name}; methods "
                f"{', '.join(m.name for m in self.methods)}; epsilon {epsilons}; K = "
                f"{self.pool.models} models each on {self.pool.shared} images + half of "
                f"{len(self.canaries.kinds) * self.canaries.per_kind} canaries "
                f"({', '.join(self.canaries.kinds)}); {self.train.epochs} epochs")  # fmt: skip

    def pool_trains(self) -> dict[tuple[str, float], StudyTrain]:
        """The training of every pool, by (method, epsilon): ``train`` with the method's
        ``train`` laid over it, and ``privacy: {**dp, epsilon}`` for a finite epsilon."""
        trains = {}
        for method in self.methods:
            owned = sorted({"seed", "save_epochs", "measure_at", "data", "privacy"}
                           & set(method.train))  # fmt: skip
            if owned:
                raise ValueError(f"method {method.name!r} sets train.{owned[0]}: the study's")
            for epsilon in self.epsilons:
                extra = {} if math.isinf(epsilon) else {"privacy": {**self.dp, "epsilon": epsilon}}
                try:
                    trains[method.name, epsilon] = self.train.overlay({**method.train, **extra})
                except ValueError as error:  # pydantic's ValidationError is a ValueError
                    raise ValueError(f"method {method.name!r} at epsilon {epsilon:g}: "
                                     f"{error}") from None  # fmt: skip
        return trains

    def is_supervised(self, method: str) -> bool:
        """Whether ``method`` trains a classifier (its statistic: p(y | x))."""
        train = self.pool_trains()[method, self.epsilons[0]]
        return train.objective.name in CLASSIFICATION

    def audited_kinds(self, method: str) -> list[str]:
        """The canary kinds audited for ``method``: a label-free method never sees a wrong
        label, so its mislabeled canaries are ordinary images to it."""
        supervised = self.is_supervised(method)
        return [kind for kind in self.canaries.kinds if supervised or kind != "mislabeled"]

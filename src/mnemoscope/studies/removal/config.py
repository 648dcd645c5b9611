"""The config of the removal and coreset study (paper 002, section 4.4, appendices B.2, D.5).

The ranking comes from an SSLMem study nested at ``sslmem`` (any ``study: sslmem`` config's
fields but its data, execution and repeats, which are this config's): its f encoders train on
S_S + S_C, its scores rank the candidates S_C. Then:

* removal (fig. 3, figs. 6-7, table 14): retrain f on S_S + S_C without the k candidates of
  highest SSLMem, and without k random candidates (``draws`` draws), for every k and seed;
* coreset (table 17): train on only the k candidates of highest SSLMem, on k random ones, and
  compare with f itself (all of S_S + S_C).

Every retraining is the SSLMem study's ``train`` at the SSLMem study's seeds (the paper
retrains the same way), probed linearly on each ``downstream`` dataset.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.strict import StrictModel
from mnemoscope.studies.config import StudyConfig
from mnemoscope.studies.sslmem.config import Config as SslmemConfig
from mnemoscope.studies.sslmem.config import Nested
from mnemoscope.training.downstream import DownstreamConfig, check_labels


def _check_ks(ks: list[int], where: str) -> list[int]:
    bad = [k for k in ks if k <= 0]
    if bad:
        raise ValueError(f"{where}.ks {ks} holds {bad[0]}: every k must be >= 1")
    if len(set(ks)) != len(ks):
        raise ValueError(f"{where}.ks {ks} repeats a k")
    return sorted(ks)


class RemovalConfig(StrictModel):
    """Fig. 3: retrain without the top-k and without k random candidates."""

    ks: list[int] = Field(
        default_factory=lambda: [500, 1000, 2000, 4000, 8000, 16000],
        description="how many candidates are removed (paper: 500 ... 16k of 25k); empty = none",
    )
    draws: int = Field(3, ge=1, description="random draws of k candidates per k")
    seed: int = Field(0, ge=0, description="seed of the random draws")

    @field_validator("ks")
    @classmethod
    def _ks(cls, ks: list[int]) -> list[int]:
        return _check_ks(ks, "removal")


class CoresetConfig(StrictModel):
    """Table 17: train on only the top-k (or k random) candidates."""

    ks: list[int] = Field(
        default_factory=list,
        description="how many candidates are kept (paper: 12k ... 24k of 25k); empty = no coreset",
    )
    draws: int = Field(3, ge=1, description="random draws of k candidates per k")
    seed: int = Field(1, ge=0, description="seed of the random draws")

    @field_validator("ks")
    @classmethod
    def _ks(cls, ks: list[int]) -> list[int]:
        return _check_ks(ks, "coreset")


class Config(StudyConfig):
    """``mnemoscope run``'s config for ``study: sslmem-removal``."""

    study: Literal["sslmem-removal"] = "sslmem-removal"
    sslmem: Nested = Field(
        default_factory=Nested,
        description="the SSLMem study that ranks S_C, on `data` (run into OUT/sslmem, reused "
        "when finished); its train and seeds are every retraining's",
    )
    removal: RemovalConfig = Field(default_factory=RemovalConfig)
    coreset: CoresetConfig = Field(default_factory=CoresetConfig)
    downstream: list[DownstreamConfig] = Field(
        default_factory=list,
        description="datasets of the linear probe; empty = the training dataset's own split",
    )
    probe: Literal["linear", "knn"] = Field(
        "linear", description="downstream probe: linear (paper) or kNN (k = 20)"
    )
    tap: str = Field("embedding", description="features probed (paper: the representation)")
    alpha: float = Field(0.05, gt=0, lt=1, description="level of the paired tests' verdicts")

    @field_validator("sslmem")
    @classmethod
    def _no_planted(cls, sslmem: Nested) -> Nested:
        if sslmem.planted.kinds:
            raise ValueError(
                f"sslmem.planted.kinds = {sslmem.planted.kinds}: planted images are not "
                "training data to remove or keep; leave planted out of the ranking study"
            )
        return sslmem

    @field_validator("downstream")
    @classmethod
    def _labels(cls, downstream: list[DownstreamConfig]) -> list[DownstreamConfig]:
        check_labels(downstream)
        return downstream

    @model_validator(mode="after")
    def _something_to_do(self) -> Config:
        if not self.removal.ks and not self.coreset.ks:
            raise ValueError("removal.ks and coreset.ks are both empty: nothing to retrain")
        return self

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        return Nested.lift(raw, "sslmem")

    def describe(self) -> str:
        train = self.sslmem.train
        return (f"{self.data.name}, {train.model.name}; {len(self.sslmem.seeds)} seeds; "
                f"{train.epochs} epochs")

    def ranking_study(self) -> SslmemConfig:
        """The SSLMem study that ranks S_C, whole: ``sslmem`` on this config's data."""
        return self.sslmem.whole(self)

    def downstream_sets(self) -> list[DownstreamConfig]:
        """``downstream``, or the training dataset itself when empty."""
        own = DownstreamConfig(name=self.data.name, options=self.data.options)
        return list(self.downstream) or [own]

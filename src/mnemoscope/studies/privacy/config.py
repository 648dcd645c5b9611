"""The config of ``sslmem-privacy``: an SSLMem study and the epsilons its training is redone at.

Paper 002 table 5 trains MAE on ViT-Tiny with DP-SGD (ViP, Yu et al. 2023) at epsilon 20 and 8,
against the ordinary MAE (epsilon = infinity). Here the SSLMem study (``sslmem``: splits, seeds,
measurement, probe) is run with one ``compare`` variant per epsilon whose training adds
``privacy: {epsilon, **dp}`` to the study's ``train`` (delta = 1/n unless ``dp.delta`` is set).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.studies.config import (
    DP_OPTIONS_HELP,
    StudyConfig,
    dp_without_epsilon,
    refuse_nonpositive_epsilons,
)
from mnemoscope.studies.sslmem.config import Config as SSLMemConfig
from mnemoscope.studies.sslmem.config import Nested


def _default_sslmem() -> Nested:
    # The paper's case: MAE on ViT-Tiny (the sslmem study's own default, SimCLR, cannot be DP).
    return Nested.model_validate(
        {"train": {"objective": {"name": "mae"}, "model": {"name": "vit-tiny"}}}
    )


def variant_name(epsilon: float) -> str:
    """The compare variant (row) of target ``epsilon``."""
    return f"epsilon-{epsilon:g}"


class Config(StudyConfig):
    """``mnemoscope run``'s config for ``study: sslmem-privacy``."""

    study: Literal["sslmem-privacy"] = "sslmem-privacy"
    epsilons: list[float] = Field(
        default_factory=lambda: [20.0, 8.0],
        description="target epsilons of the DP-SGD trainings (table 5: 20, 8); epsilon = "
        "infinity, the study's own training, is always the baseline row",
    )
    dp: dict[str, Any] = Field(default_factory=dict, description=DP_OPTIONS_HELP)
    sslmem: Nested = Field(
        default_factory=_default_sslmem,
        description="the SSLMem study (study: sslmem fields but data, execution and repeat: "
        "this config's); its train must be a per-example method (mae, supervised) without "
        "privacy; compare is set by this study",
    )

    @field_validator("epsilons")
    @classmethod
    def _epsilons(cls, epsilons: list[float]) -> list[float]:
        refuse_nonpositive_epsilons(epsilons, "20, 8")
        finite = [value for value in epsilons if math.isfinite(value)]  # inf: the baseline
        if not finite:  # only the baseline: no DP-SGD training, nothing to compare
            raise ValueError(f"epsilons {epsilons} holds no finite target epsilon: the study "
                             "compares DP-SGD trainings with its own (infinity, always there); "
                             "give at least one, such as [20, 8]")  # fmt: skip
        if len(set(finite)) != len(finite):
            raise ValueError(f"epsilons repeat: {epsilons}")
        return finite

    _dp_options = field_validator("dp")(dp_without_epsilon("row"))

    @field_validator("sslmem")
    @classmethod
    def _sslmem_owned(cls, sslmem: Nested) -> Nested:
        if sslmem.compare.variants or sslmem.compare.lambdas:
            raise ValueError(
                "sslmem.compare.variants / lambdas are set by this study (one per epsilon): "
                "leave them out"
            )
        if sslmem.train.privacy is not None:
            raise ValueError(
                "sslmem.train.privacy is set by this study per epsilon; sslmem.train is the "
                "epsilon = infinity baseline: leave privacy out"
            )
        return sslmem

    @model_validator(mode="after")
    def _variants_valid(self) -> Config:
        self.sslmem_config()  # refuses, e.g., a batch-coupled method, naming it
        return self

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        return Nested.lift(raw, "sslmem")

    def describe(self) -> str:
        train = self.sslmem.train
        return (f"{self.data.name}, {train.model.name}; {len(self.sslmem.seeds)} seeds; "
                f"{train.epochs} epochs")

    def sslmem_config(self) -> SSLMemConfig:
        """The SSLMem study run: the base (epsilon = infinity) and one variant per epsilon."""
        compare = self.sslmem.compare.model_dump(mode="json")
        compare["base_name"] = variant_name(math.inf)
        compare["variants"] = [
            {"name": variant_name(epsilon), "train": {"privacy": {**self.dp, "epsilon": epsilon}}}
            for epsilon in self.epsilons
        ]
        raw = {**self.sslmem.whole(self).model_dump(mode="json"), "compare": compare}
        return SSLMemConfig.model_validate(raw)

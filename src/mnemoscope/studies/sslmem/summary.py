"""``summary.json`` of the SSLMem study (``study.write_summary`` fills it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mnemoscope.studies.record import StudySummary, SummaryRow


class TTest(BaseModel):
    """Table 2's one-sided t-test of m(S_C) > m(S_S) at one estimate (center)."""

    statistic: float | None
    p_value: float | None
    effect_size: float | None  # Cohen's d


class FeldmanTau(BaseModel):
    """Kendall's tau between SSLMem and Feldman's score of the ordinary candidates (table 12),
    two-sided p, and the tau two scores this noisy can reach at most."""

    tau: float | None
    p_value: float | None
    tau_ceiling: float | None = None
    n: int | None = None  # candidates ranked (None: a run before this field)


class MethodRow(SummaryRow):
    """A row of table 1 (``tables/sslmem_methods``): one training's SSLMem and accuracy."""

    variant: str
    score_norm_mean: float | None
    probe_accuracy: float | None


class SSLMemSummary(StudySummary):
    center: str  # the headline estimate (measure.center's first)
    centers: list[str]
    tap: str
    mean_score: dict[str, dict[str, float | None]]  # center -> subset -> mean normalized score
    ttest_candidates_vs_shared: dict[str, TTest]  # center -> test
    planted_auroc: dict[str, float | None]  # planted kind -> AUROC against ordinary candidates
    n: dict[str, int]  # subset -> scored points
    classes: list[str]
    reliability: list[dict[str, Any]] = []  # tables/sslmem_reliability's rows
    feldman_tau: FeldmanTau | None = None  # None: feldman.enabled is off
    methods: list[MethodRow] = []  # table 1: the study's training and compare's
    methods_tau: dict[str, float | int | None] | None = None  # table 13's range

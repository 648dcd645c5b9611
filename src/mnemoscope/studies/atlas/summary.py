"""``summary.json`` of the atlas (``study_summary`` fills it from ``scores.Atlas``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from mnemoscope.analysis.stats import ttest
from mnemoscope.store import json_safe
from mnemoscope.studies.atlas.config import Config, copies_of_kind
from mnemoscope.studies.atlas.pool import ORDINARY
from mnemoscope.studies.record import StudySummary, SummaryRow


class ScoreRow(SummaryRow):
    """A row of ``tables/atlas_reliability``: one score's reliability and the models it needs."""

    score: str
    method: str
    kind: str
    reliability: float | None  # over the K models (Spearman-Brown), ordinary candidates
    reliability_both: float | None  # over models and views (= reliability without views)
    models_for_target: int | None  # K predicted for stats.target (None: no finite answer)


class DetectionRow(SummaryRow):
    """A row of ``tables/atlas_detection``: one score against one planted kind."""

    score: str
    method: str
    measure: str
    kind: str
    auroc: float | None
    auroc_low: float | None
    auroc_high: float | None


class AgreementRow(SummaryRow):
    """A row of ``tables/atlas_agreement``: one pair of scores over the ordinary candidates."""

    a: str
    b: str
    same_models: bool = False  # both of one method: shared models and views, shared noise
    n: int
    spearman: float | None
    spearman_p: float | None
    kendall: float | None
    kendall_p: float | None
    kendall_ceiling: float | None
    spearman_ceiling: float | None


class MembershipRow(SummaryRow):
    """A row of ``tables/atlas_membership``: LiRA of one method and variant."""

    score: str
    method: str
    variant: str
    auc: float | None


class MeanTest(BaseModel):
    """The one-sided t-test over the ordinary candidates of mean score > 0 (paper 002 table 16:
    m(S_C) > 0), of one method's SSLMem (IN models against OUT; normalized, which changes
    neither t nor p)."""

    score: str
    mean: float | None
    statistic: float | None
    p_value: float | None
    effect_size: float | None
    n: int


class AtlasSummary(StudySummary):
    models: int  # K per method
    candidates: int  # ordinary candidates
    planted: dict[str, int]  # kind -> images
    methods: dict[str, str]  # method -> "ssl" or "supervised"
    headline: dict[str, str]  # method -> its headline score (SSLMem, Feldman)
    classes: list[str]
    scores: list[ScoreRow]
    detection: list[DetectionRow]
    agreement: list[AgreementRow]
    membership: list[MembershipRow]
    memorized: MeanTest | None = None  # None: no SSL method
    copies: dict[str, dict[str, float | None]] = {}  # headline score -> kind -> mean score


def headline_scores(config: Config) -> dict[str, str]:
    """Each method's headline score: SSLMem for an SSL method, Feldman's for a supervised one."""
    return {m.name: f"{m.name}_{'sslmem' if config.is_ssl(m.name) else 'feldman'}"
            for m in config.methods}  # fmt: skip


def copies_means(scores: pd.DataFrame, headline: dict[str, str],
                 kinds: list[str]) -> dict[str, dict[str, float | None]]:  # fmt: skip
    """Mean headline score of the images of each copy kind and of single noise images (one
    copy), per headline score: more copies, less memorization per copy."""
    chosen = [kind for kind in kinds if kind == "noise" or copies_of_kind(kind) > 1]
    return {score: {kind: float(scores.loc[scores["kind"] == kind, score].mean())
                    for kind in chosen} for score in headline.values()}  # fmt: skip


def study_summary(config: Config, atlas: Any, images: pd.DataFrame,
                  classes: list[str]) -> AtlasSummary:  # fmt: skip
    """The summary and its one-line headlines."""
    headline = headline_scores(config)
    methods = {m.name: "ssl" if config.is_ssl(m.name) else "supervised" for m in config.methods}
    ordinary = (images["kind"] == ORDINARY).to_numpy()
    memorized = None
    ssl = [name for name, role in methods.items() if role == "ssl"]
    if ssl:
        name = headline[ssl[0]]
        raw = atlas.scores[name].to_numpy()[ordinary]
        raw = raw[np.isfinite(raw)]
        if raw.size >= 2:
            test = ttest(raw, alternative="greater")
            memorized = {"score": name, "mean": test.difference, "statistic": test.statistic,
                         "p_value": test.p_value, "effect_size": test.effect_size,
                         "n": int(raw.size)}  # fmt: skip
    numbers = {
        "models": config.pool.models, "candidates": int(ordinary.sum()),
        "planted": {kind: int((images["kind"] == kind).sum()) for kind in config.planted.kinds},
        "methods": methods, "headline": headline, "classes": classes,
        "scores": atlas.reliability.to_dict(orient="records"),
        "detection": atlas.detection.to_dict(orient="records"),
        "agreement": atlas.agreement.to_dict(orient="records"),
        "membership": atlas.membership.to_dict(orient="records"),
        "memorized": memorized,
        "copies": copies_means(atlas.scores, headline, config.planted.kinds),
    }  # fmt: skip
    numbers["headlines"] = headlines(numbers, config)
    return AtlasSummary.model_validate(json_safe(numbers))


def headlines(numbers: dict[str, Any], config: Config) -> list[str]:
    """One line per finding: reliability and models needed, agreement, detection, LiRA."""
    lines = []
    target = config.stats.target
    by_score = {row["score"]: row for row in numbers["scores"]}
    for score in numbers["headline"].values():
        row = by_score.get(score)
        if row is not None:
            lines.append(f"{score}: reliability {_number(row['reliability'])} over "
                         f"{numbers['models']} models; {_models(row['models_for_target'])} "
                         f"models for {target:g}")  # fmt: skip
        found = [d for d in numbers["detection"] if d["score"] == score
                 and _finite(d["auroc_low"]) and d["auroc_low"] > 0.5]  # fmt: skip
        if found:
            lines.append(f"{score} finds " + ", ".join(
                f"{d['kind']} (AUROC {d['auroc']:.2f})" for d in found))  # fmt: skip
    pairs = list(numbers["headline"].values())
    for row in numbers["agreement"]:
        if {row["a"], row["b"]} == set(pairs[:2]) and len(pairs) >= 2:
            lines.append(f"{row['a']} vs {row['b']}: Spearman {_number(row['spearman'])} "
                         f"(ceiling {_number(row['spearman_ceiling'])}), Kendall "
                         f"{_number(row['kendall'])} (ceiling "
                         f"{_number(row['kendall_ceiling'])})")  # fmt: skip
    for row in numbers["membership"]:
        lines.append(f"LiRA {row['method']} {row['variant']}: AUC {_number(row['auc'])}, TPR "
                     f"{_number(row.get('tpr_at_0.1%'))} at 0.1% FPR, "
                     f"{_number(row.get('tpr_at_1%'))} at 1%")  # fmt: skip
    if numbers["memorized"] is not None:
        test = numbers["memorized"]
        lines.append(f"{test['score']} of the ordinary candidates > 0: mean "
                     f"{_number(test['mean'])}, t = {_number(test['statistic'])}, p = "
                     f"{_number(test['p_value'])}")  # fmt: skip
    for score, means in numbers["copies"].items():
        if len(means) > 1:
            lines.append(f"{score} per copy: " + ", ".join(
                f"{kind} {_number(value)}" for kind, value in means.items()))  # fmt: skip
    return lines


def _finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> str:
    return f"{value:.3g}" if _finite(value) else "-"


def _models(value: Any) -> str:
    return str(value) if value is not None else "no finite number of"

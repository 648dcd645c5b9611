"""``summary.json`` of the privacy audit (``study_summary`` fills it from the audit table)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mnemoscope.store import json_safe
from mnemoscope.studies.privacy_audit.config import Config
from mnemoscope.studies.record import StudySummary, SummaryRow


class AuditRow(SummaryRow):
    """A row of ``tables/privacy_audit``: one pool (method, epsilon). ``epsilon_target`` and
    ``epsilon_accountant`` are null for the pool without DP-SGD (infinity, which JSON cannot
    hold); ``epsilon_point`` is null when no OUT canary passed the threshold (infinity)."""

    pool: str
    method: str
    epsilon_target: float | None
    epsilon_accountant: float | None
    delta: float
    epsilon_lower: float  # the empirical lower bound at ``confidence``
    epsilon_point: float | None
    confidence: float
    exceeds: bool  # epsilon_lower > epsilon_accountant: the guarantee fails
    auc: float


class AuditSummary(StudySummary):
    rows: list[AuditRow]  # methods in config order, epsilons increasing (infinity last)
    models: int  # K per pool
    canaries: int  # canaries planted (each IN for K / 2 models of a pool)
    variant: str  # the LiRA variant


def study_summary(config: Config, table: pd.DataFrame) -> AuditSummary:
    """The summary and its one-line headlines."""
    numbers: dict[str, Any] = {
        "rows": table.to_dict(orient="records"), "models": config.pool.models,
        "canaries": len(config.canaries.kinds) * config.canaries.per_kind,
        "variant": config.audit.variant,
        "headlines": [headline(row) for row in table.to_dict(orient="records")],
    }  # fmt: skip
    return AuditSummary.model_validate(json_safe(numbers))


def headline(row: dict[str, Any]) -> str:
    """One line per pool: the bound beside the accountant's epsilon, the TPR at low FPR."""
    level = f"{100 * row['confidence']:g}%"
    tprs = (f"TPR {row['tpr_at_0.1%']:.3g} at 0.1% FPR, {row['tpr_at_1%']:.3g} at 1% "
            f"(AUC {row['auc']:.3f})")  # fmt: skip
    if math.isinf(row["epsilon_target"]):
        return (f"{row['pool']} (no DP-SGD): empirical epsilon >= {row['epsilon_lower']:.3g} "
                f"({level}, delta {row['delta']:.2g}); {tprs}")  # fmt: skip
    verdict = "ABOVE the accountant's: the guarantee fails" if row["exceeds"] else "within it"
    return (f"{row['pool']}: empirical epsilon >= {row['epsilon_lower']:.3g} ({level}) beside "
            f"the accountant's {row['epsilon_accountant']:.3g} at delta {row['delta']:.2g}, "
            f"{verdict}; {tprs}")  # fmt: skip

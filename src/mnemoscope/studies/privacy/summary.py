"""``summary.json`` of the differential-privacy study (``study.summary`` fills it)."""

from __future__ import annotations

from typing import Any

from mnemoscope.studies.record import StudySummary, SummaryRow


class PrivacyRow(SummaryRow):
    """A row of table 5 (``tables/sslmem_privacy``): one target epsilon (null: no DP-SGD,
    epsilon = infinity, which JSON cannot hold)."""

    epsilon_target: float | None
    sslmem_mean: float
    sslmem_ci_low: float
    sslmem_ci_high: float
    confidence: float  # level of the two-sided bootstrap interval
    probe_accuracy: float


class PrivacySummary(StudySummary):
    privacy: list[PrivacyRow]  # epsilon = infinity first, then decreasing epsilons
    headline: dict[str, Any] | None = None  # the smallest epsilon against no DP

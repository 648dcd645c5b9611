"""``summary.json`` of the Déjà Vu study (``study.study_summary`` fills it)."""

from __future__ import annotations

from typing import Any

from mnemoscope.studies.record import StudySummary, SummaryRow


class MethodRow(SummaryRow):
    """A row of table 4 (``tables/sslmem_dejavu``): one SSL method."""

    method: str
    dejavu: float  # A's label-inference accuracy from the periphery minus B's
    dejavu_p: float | None  # one-sided t-test over seeds that the gap is above 0
    dejavu_seed_std: float | None  # sd of the gap over seeds (None: one seed)
    seeds: int


class DejaVuSummary(StudySummary):
    table4: list[MethodRow]
    per_seed: list[dict[str, Any]]
    sizes: dict[str, int]
    classes: list[str]

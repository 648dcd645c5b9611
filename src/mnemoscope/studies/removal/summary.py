"""``summary.json`` of the removal and coreset study (``study.study_summary`` fills it)."""

from __future__ import annotations

from mnemoscope.studies.record import StudySummary, SummaryRow


class PairedTest(SummaryRow):
    """A row of ``tables/sslmem_removal_tests`` (or ``_coreset_tests``): top-k against
    random-k, paired by seed (``tables.paired_tests``)."""

    k: str  # a number of candidates, or "all" (pooled over k)
    downstream: str  # a downstream set's label, or "all"
    pairs: int
    mean_top: float | None
    mean_random: float | None
    difference: float | None  # top - random, accuracy
    p_value: float | None  # two-sided
    mde: float | None = None  # minimum detectable |difference| (None: infinite, or older run)


class RemovalSummary(StudySummary):
    ranking_reliability: float | None  # split-half reliability of the SSLMem ranking
    pairs: int  # view pairs the ranking averaged
    downstream: list[str]
    skipped: list[str]
    removal: list[PairedTest] | None = None  # None: removal.ks is empty
    coreset: list[PairedTest] | None = None  # None: coreset.ks is empty

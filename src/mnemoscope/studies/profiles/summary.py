"""``summary.json`` of the profiles study (``tables.build_summary`` fills it)."""

from __future__ import annotations

from typing import Any

from mnemoscope.studies.record import StudySummary, SummaryRow


class AlignmentRow(SummaryRow):
    """A row of ``tables/profile_alignment``: one paradigm's profile against a null at a
    target mean recognition p_t (section 4.2)."""

    paradigm: str
    variant: str  # averaged (eq. 1) or fixed (eq. 2)
    null: str  # binomial (the paper's) or network_block
    target_p: float
    reached: bool  # the paradigm's mean p_t reached the target
    mae: float
    mae_sd: float | None = None  # sd over binomial draws or permutations


class ProfilesSummary(StudySummary):
    procedure: str
    seeds: int
    tracked_images: int
    augmentations: int
    targets: list[float]
    tracking_share: float
    paradigms: dict[str, dict[str, Any]]
    alignment: list[AlignmentRow]
    dynamics_correlation: list[dict[str, Any]] = []

"""``summary.json`` of the benign study (``tables.summary`` fills it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mnemoscope.studies.record import StudySummary, SummaryRow


class VerdictRow(SummaryRow):
    """A row of ``tables/benign_verdict``: definition 4.1 for one random-label setting."""

    setting: str
    verdict: str  # benign, malign, no memorization, undecided at this scale
    train_acc_random: float
    probe_acc: float
    init_probe_acc: float
    gain: float | None = None  # mean embedding kNN gain over initialization


class ToyNumbers(BaseModel):
    """The toy model (appendix E) at its smallest n: fewest against most augmentations."""

    model_config = {"extra": "allow"}

    test_knn_fewest: float
    test_knn_most: float
    fewest_augmentations: int
    most_augmentations: int


class BenignSummary(StudySummary):
    num_classes: int
    chance: float
    clean_knn_final: dict[str, dict[str, float | None]]  # setting -> tap -> clean kNN accuracy
    noisy_knn_final: dict[str, dict[str, float | None]]
    invariance_embedding_final: dict[str, float | None]  # setting -> eq. 2 of the embedding
    verdicts: list[VerdictRow]
    epochs: dict[str, float]
    toy: ToyNumbers | None = None  # None: toy.enabled is off
    sweeps: dict[str, list[dict[str, Any]]] = {}
    transfer: list[dict[str, Any]] | None = None

"""How well memorization scores find planted positives (atypical images put in on purpose).

For every score and every planted kind: the planted images of that kind are the positives,
the ordinary images the negatives (other kinds are left out), and the score (larger = more
memorized) is read as a detector: AUROC (``stats.auroc``: P(planted scores above ordinary),
ties 1/2) and the TPR at a target FPR (largest TPR with FPR <= target), both computed by
``roc.batch_rates`` (the closed form of ``roc.roc``'s numbers, for many resamples at once).
Intervals: percentile bootstrap over images, resampling the planted and the ordinary images
separately with replacement (stratified, so every resample has both classes and the class
sizes of the data), ``n_resamples`` resamples from ``seed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mnemoscope.analysis.roc import batch_rates

BLOCK = 1 << 22  # resampled scores held at once (~32 MB of float64)
COLUMNS = [
    "score",
    "kind",
    "planted",
    "ordinary",
    "auroc",
    "auroc_low",
    "auroc_high",
    "fpr",
    "tpr",
    "tpr_low",
    "tpr_high",
]


def planted_detection(
    scores: Mapping[str, Any],
    kind: Any,
    *,
    ordinary: str = "ordinary",
    fpr: float = 0.01,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Any:
    """A DataFrame (``COLUMNS``), one row per score (name -> ``[N]``, NaN = not scored) and
    planted kind (``kind[n]`` names image n's kind; ``ordinary`` marks the negatives): the
    counts, AUROC and TPR at ``fpr`` with their bootstrap intervals (module docstring)."""
    import pandas as pd

    kind = np.asarray(kind).astype(str)
    if kind.ndim != 1:
        raise ValueError(f"kind must be one label per image, got shape {kind.shape}")
    if not 0 < confidence < 1 or n_resamples < 1:
        raise ValueError(f"confidence={confidence!r} must lie in (0, 1), n_resamples >= 1")
    kinds = [name for name in dict.fromkeys(kind.tolist()) if name != ordinary]
    rows = []
    for index, (name, values) in enumerate(scores.items()):
        values = np.asarray(values, dtype=np.float64)
        if values.shape != kind.shape:
            raise ValueError(f"score {name!r} has shape {values.shape}, kind {kind.shape}")
        negatives = values[(kind == ordinary) & np.isfinite(values)]
        for position, planted in enumerate(kinds):
            positives = values[(kind == planted) & np.isfinite(values)]
            row = {
                "score": name,
                "kind": planted,
                "planted": positives.size,
                "ordinary": negatives.size,
                "fpr": fpr,
            }
            if positives.size == 0 or negatives.size == 0:
                rows.append(row)
                continue
            stream = np.random.default_rng([seed, index, position])  # one stream per row
            rows.append(
                row | _detection(positives, negatives, fpr, confidence, n_resamples, stream)
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _detection(
    positives: np.ndarray,
    negatives: np.ndarray,
    fpr: float,
    confidence: float,
    n_resamples: int,
    generator: np.random.Generator,
) -> dict:
    area, tpr = batch_rates(positives, negatives, fpr)
    step = max(1, BLOCK // (positives.size + negatives.size))
    resampled = []
    for start in range(0, n_resamples, step):
        count = min(step, n_resamples - start)
        drawn_positives = positives[
            generator.integers(positives.size, size=(count, positives.size))
        ]
        drawn_negatives = negatives[
            generator.integers(negatives.size, size=(count, negatives.size))
        ]
        resampled.append(np.stack(batch_rates(drawn_positives, drawn_negatives, fpr), axis=1))
    quantiles = [(1 - confidence) / 2, (1 + confidence) / 2]
    low, high = np.quantile(np.concatenate(resampled), quantiles, axis=0)
    return {
        "auroc": float(area[0]),
        "auroc_low": low[0],
        "auroc_high": high[0],
        "tpr": float(tpr[0]),
        "tpr_low": low[1],
        "tpr_high": high[1],
    }

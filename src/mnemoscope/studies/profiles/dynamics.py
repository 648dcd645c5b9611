"""Learning-dynamics scores beside the memorization profiles (``analysis.dynamics``).

Per tracked image x and paradigm, from the indicators and probabilities the recognition hook
already records at every measured epoch (the procedure's indicators: for SimCLR under the
paper procedure, view 1 finding view 2 with ties as hits):

* each (network, view) sequence over the measured epochs after initialization is scored
  (forgetting events, never learned, confidence, variability, correctness), and the scores are
  averaged over the N networks and M' views of x;
* the probability of the recognized target is, for classification, the softmax probability of
  the training label (tau = 1); for SimCLR it is the NT-Xent softmax probability of the partner
  view among the 2B - 1 views of its evaluation batch at the training temperature (mean of the
  two directions): it is defined, so the pair-finding margin is not needed; it depends on the
  evaluation batch B, as the indicator does;
* epochs are the measurement points, which a config may space unevenly (e.g. quarter epochs
  early in supervised training): every measurement counts once.

``dynamics`` holds the scores per image with p_t(x) at the epoch aligned with the middle target
(0.5), and ``dynamics_correlation`` the Spearman rank correlation of each score with that p_t.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mnemoscope.analysis.dynamics import cartography, forgetting_events, never_learned
from mnemoscope.store import RunDir

SCORES = ("forgetting_events", "never_learned", "confidence", "variability", "correctness")


def image_scores(views: np.ndarray, probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """``views`` uint8 and ``probabilities`` [N, E, M', X] (epoch 0 = initialization, dropped)
    -> each score per image [X], averaged over networks and views."""
    if views.shape != probabilities.shape or views.ndim != 4:
        raise ValueError(f"views {views.shape} and probabilities {probabilities.shape} must both "
                         "be [N, E, M', X]")  # fmt: skip
    if views.shape[1] < 2:
        raise ValueError("learning dynamics need at least one measurement after initialization")
    correct, probability = views[:, 1:], probabilities[:, 1:].astype(np.float64)
    confidence, variability, correctness = cartography(probability, correct, axis=1)
    return {
        "forgetting_events": forgetting_events(correct, axis=1).mean(axis=(0, 1)),
        "never_learned": never_learned(correct, axis=1).mean(axis=(0, 1)),
        "confidence": confidence.mean(axis=(0, 1)),
        "variability": variability.mean(axis=(0, 1)),
        "correctness": correctness.mean(axis=(0, 1)),
    }


def write_dynamics_tables(
    study: RunDir, loaded: dict[str, Any], alignment: pd.DataFrame, target: float
) -> pd.DataFrame:
    """Write ``dynamics`` and ``dynamics_correlation`` (profiles at the epochs ``alignment``
    aligns with ``target``); return the correlation table. ``loaded``: per paradigm,
    ``tables.load_recognition``'s result."""
    ids = study.load_array("tracked-ids", mmap=False)
    labels = study.load_array("tracked-labels", mmap=False)
    per_image, correlations = [], []
    for name, arrays in loaded.items():
        measured = arrays["indicators"]
        scores = image_scores(measured["views"], measured["probabilities"])
        row = alignment[(alignment.paradigm == name) & (alignment.variant == "averaged")
                        & (alignment.target_p == target)].iloc[0]  # fmt: skip
        index = int(np.flatnonzero(arrays["epochs"] == row.epoch)[0])
        profile = arrays["averaged"]["values"][index]
        per_image.append(
            pd.DataFrame(
                {
                    "paradigm": name,
                    "example_id": ids,
                    "label": labels,
                    **scores,
                    "p": profile,
                    "p_epoch": float(row.epoch),
                }
            )
        )
        for score in SCORES:
            rho, p_value = _spearman(scores[score], profile)
            correlations.append({"paradigm": name, "score": score, "spearman": rho,
                                 "p_value": p_value, "epoch": float(row.epoch),
                                 "target_p": target, "images": len(profile)})  # fmt: skip
    study.save_table("dynamics", pd.concat(per_image, ignore_index=True))
    table = pd.DataFrame(correlations)
    study.save_table("dynamics_correlation", table)
    return table


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and its p-value; NaN when either side is constant (no ranking)."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    result = stats.spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)

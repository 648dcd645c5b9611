"""ROC curves of a score that should rank positives (members, planted images) first.

The rule is "positive when score >= t"; ``roc`` evaluates it at every distinct score
(``sklearn.metrics.roc_curve`` with ``drop_intermediate=False``: dropping collinear points, the
default, can remove the very point that has the largest TPR below a small FPR target).

TPR at a target FPR alpha: the largest TPR over the curve's points with FPR <= alpha (no
interpolation between points: an attacker can only pick a threshold, and interpolation would
credit a randomized one). Carlini et al.'s published LiRA code reads
``tpr[np.where(fpr < alpha)[0][-1]]``, a strict inequality; the two differ only when a point
lies exactly on alpha (e.g. 1 false positive among 1,000 negatives at alpha = 0.1%).
``inclusive=False`` reproduces theirs.

``batch_rates``: the AUROC and that TPR for many resamples at once (bootstrap intervals), in
closed form: AUROC = (sum of the positives' mid-ranks - P (P + 1) / 2) / (P M) (Mann-Whitney);
with m = floor(alpha M) false positives allowed, the best threshold lies just above the
(m + 1)-th largest negative c, so TPR = #{positives > c} / P (1 when m = M).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from mnemoscope.analysis.stats import auroc


@dataclass(frozen=True)
class Roc:
    """``fpr[i]``, ``tpr[i]``: rates of "score >= thresholds[i]" (the first threshold is +inf:
    nothing flagged); ``auc``: area under the curve (ties count 1/2); the class counts."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    positives: int
    negatives: int

    def tpr_at(self, fpr: float, *, inclusive: bool = True) -> float:
        """``tpr_at_fpr`` on this curve."""
        return tpr_at_fpr(self.fpr, self.tpr, fpr, inclusive=inclusive)


def roc(scores: Any, positive: Any) -> Roc:
    """The ROC curve of ``scores`` ``[N]`` (finite) for the boolean labels ``positive`` ``[N]``
    (both classes present, or ValueError)."""
    from sklearn.metrics import roc_curve

    area = auroc(scores, positive)  # validates shapes, finiteness and both classes
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    fpr, tpr, thresholds = roc_curve(positive, scores, drop_intermediate=False)
    return Roc(fpr, tpr, thresholds, area, int(positive.sum()), int((~positive).sum()))


def tpr_at_fpr(fpr: Any, tpr: Any, target: float, *, inclusive: bool = True) -> float:
    """The largest ``tpr`` over the points with ``fpr <= target`` (``< target`` when not
    ``inclusive``); 0 when no point qualifies (the +inf threshold flags nothing)."""
    if not 0 <= target <= 1:
        raise ValueError(f"target FPR {target!r} must lie in [0, 1]")
    fpr, tpr = np.asarray(fpr, dtype=np.float64), np.asarray(tpr, dtype=np.float64)
    allowed = fpr <= target if inclusive else fpr < target
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def batch_rates(
    positives: np.ndarray, negatives: np.ndarray, fpr: float
) -> tuple[np.ndarray, np.ndarray]:
    """(AUROC, TPR at FPR <= ``fpr``), each ``[B]``, of B samples at once: ``positives``
    ``[B, P]`` and ``negatives`` ``[B, M]`` (finite); the same numbers as ``roc`` row by
    row (module docstring)."""
    if not 0 <= fpr <= 1:
        raise ValueError(f"target FPR {fpr!r} must lie in [0, 1]")
    positives, negatives = np.atleast_2d(positives), np.atleast_2d(negatives)
    count_p, count_m = positives.shape[1], negatives.shape[1]
    ranks = scipy_stats.rankdata(np.concatenate([positives, negatives], axis=1), axis=1)
    area = (ranks[:, :count_p].sum(axis=1) - count_p * (count_p + 1) / 2) / (count_p * count_m)
    allowed = math.floor(fpr * count_m + 1e-9)  # 1e-9: 0.01 * 400 is 4, not 3.9999...
    if allowed >= count_m:
        return area, np.ones(positives.shape[0])
    cut = -np.partition(-negatives, allowed, axis=1)[:, allowed]  # (allowed + 1)-th largest
    return area, (positives > cut[:, None]).mean(axis=1)

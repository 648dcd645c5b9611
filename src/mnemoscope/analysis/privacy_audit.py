"""An empirical lower bound on the epsilon of a training algorithm from a membership attack
on canaries (the DP audit, issue 28; Jagielski et al., NeurIPS 2020; Nasr et al., IEEE S&P
2021).

If training is (epsilon, delta)-DP, every test "member when score >= t" obeys
TPR(t) <= e^epsilon FPR(t) + delta, so

    epsilon >= log((TPR(t) - delta) / FPR(t))   for every threshold t.

The rates are estimated from canaries trained IN (``scores_in``) and OUT (``scores_out``);
an audit must not claim more than the data show, so TPR is replaced by its one-sided
Clopper-Pearson lower bound and FPR by its upper bound (``clopper_pearson``), and the bound
is 0 when no threshold gives a positive value. The canaries are assumed independent trials
(each IN or OUT by its own coin, its score not depending on the other canaries); with many
canaries in one training run that is the usual approximation, not a guarantee.

Multiple thresholds: maximizing over thresholds after looking at the scores would spend the
confidence many times. Two corrections, both valid at ``confidence`` overall:

* ``thresholds`` given (chosen before seeing these scores): Bonferroni over the T thresholds
  and the two bounds of each, every one-sided bound at level alpha / (2 T) (alpha =
  1 - confidence): with probability >= 1 - alpha all 2 T bounds hold at once, and then
  log((TPR_low - delta) / FPR_high) <= epsilon at every t, hence at the best one.
* ``thresholds=None``: split. The canaries of each side are split at random (``seed``) into
  a selection half and an evaluation half; the threshold is picked on the selection half
  (the distinct IN scores there, maximizing the bound at alpha / 2 per side, uncorrected) and
  the bound is computed once, at alpha / 2 per side, on the evaluation half, which the choice
  never saw.

The other direction of DP (epsilon >= log((TNR - delta) / FNR)) is the same audit with the
roles swapped: ``epsilon_lower_bound(-scores_out, -scores_in)``; reporting the larger of the
two spends the confidence twice (use confidence 1 - alpha / 2 for each).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy import stats as scipy_stats

Side = Literal["two-sided", "greater", "less"]


def clopper_pearson(
    successes: Any, trials: Any, confidence: float = 0.95, alternative: Side = "two-sided"
) -> tuple[Any, Any]:
    """The exact (Clopper & Pearson 1934) interval of a binomial proportion from the beta
    quantiles, elementwise: two-sided, (B(alpha/2; k, n-k+1), B(1-alpha/2; k+1, n-k));
    ``greater`` (a lower bound) (B(alpha; k, n-k+1), 1); ``less`` (an upper bound)
    (0, B(1-alpha; k+1, n-k)); the lower end is 0 at k = 0, the upper 1 at k = n. The same
    as ``scipy.stats.binomtest(k, n, alternative=...).proportion_ci(confidence, 'exact')``."""
    k, n = np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n) or np.any(k != np.round(k)):
        raise ValueError("successes must be whole numbers in 0..trials, trials >= 1")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must lie strictly between 0 and 1")
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative={alternative!r} is not two-sided, greater or less")
    alpha = 1 - confidence
    tail = alpha / 2 if alternative == "two-sided" else alpha
    with np.errstate(invalid="ignore"):  # beta with a 0 shape: replaced just below
        low = np.where(k > 0, scipy_stats.beta.ppf(tail, k, n - k + 1), 0.0)
        high = np.where(k < n, scipy_stats.beta.ppf(1 - tail, k + 1, n - k), 1.0)
    if alternative == "greater":
        high = np.ones_like(high)
    if alternative == "less":
        low = np.zeros_like(low)
    return (float(low), float(high)) if low.ndim == 0 else (low, high)


@dataclass(frozen=True)
class PrivacyBound:
    """The audit's result: ``epsilon`` (>= 0) at ``threshold``, the point rates and their
    one-sided bounds at the threshold, the counts they come from (the evaluation half for
    ``split``), ``tried`` thresholds, ``method`` ("bonferroni" or "split"), ``confidence``
    and ``delta``."""

    epsilon: float
    threshold: float
    tpr: float
    fpr: float
    tpr_low: float
    fpr_high: float
    true_positives: int
    positives: int
    false_positives: int
    negatives: int
    tried: int
    method: str
    confidence: float
    delta: float


def epsilon_lower_bound(
    scores_in: Any,
    scores_out: Any,
    *,
    delta: float = 0.0,
    confidence: float = 0.95,
    thresholds: Any = None,
    seed: int = 0,
) -> PrivacyBound:
    """The epsilon lower bound of the module docstring from attack scores (larger = member)
    of the IN and the OUT canaries; ``thresholds`` given: Bonferroni over them; None: split."""
    scores_in, scores_out = _scores("scores_in", scores_in), _scores("scores_out", scores_out)
    if not 0 < confidence < 1 or not 0 <= delta < 1:
        raise ValueError(f"confidence={confidence!r} must lie in (0, 1), delta={delta!r} in [0, 1)")
    alpha = 1 - confidence
    if thresholds is not None:
        thresholds = np.unique(np.asarray(thresholds, dtype=np.float64))
        if thresholds.size == 0 or not np.all(np.isfinite(thresholds)):
            raise ValueError("thresholds must be a non-empty list of finite numbers")
        found = _best(scores_in, scores_out, thresholds, alpha / (2 * thresholds.size), delta)
        return replace(found, tried=thresholds.size, method="bonferroni", confidence=confidence)
    if scores_in.size < 2 or scores_out.size < 2:
        raise ValueError("the split needs at least 2 canaries a side")
    generator = np.random.default_rng(seed)
    order_in, order_out = generator.permutation(scores_in), generator.permutation(scores_out)
    half_in, half_out = scores_in.size // 2, scores_out.size // 2
    candidates = np.unique(order_in[:half_in])
    chosen = _best(order_in[:half_in], order_out[:half_out], candidates, alpha / 2, delta)
    found = _best(
        order_in[half_in:], order_out[half_out:], np.array([chosen.threshold]), alpha / 2, delta
    )
    return replace(found, tried=candidates.size, method="split", confidence=confidence)


def _scores(name: str, values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be a non-empty vector of finite scores")
    return values


def _best(
    scores_in: np.ndarray,
    scores_out: np.ndarray,
    thresholds: np.ndarray,
    level: float,
    delta: float,
) -> PrivacyBound:
    """The threshold of ``thresholds`` with the largest bound, each rate bounded one-sidedly
    at ``level`` (ties: the lowest threshold); ``tried``, ``method`` and ``confidence`` are
    the caller's to fill in."""
    sorted_in, sorted_out = np.sort(scores_in), np.sort(scores_out)
    # count of scores >= t: everything from the first index not below t
    positives = scores_in.size - np.searchsorted(sorted_in, thresholds, side="left")
    negatives = scores_out.size - np.searchsorted(sorted_out, thresholds, side="left")
    tpr_low, _ = clopper_pearson(positives, scores_in.size, 1 - level, "greater")
    _, fpr_high = clopper_pearson(negatives, scores_out.size, 1 - level, "less")
    tpr_low, fpr_high = np.atleast_1d(tpr_low), np.atleast_1d(fpr_high)
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.where(tpr_low > delta, np.log((tpr_low - delta) / fpr_high), -np.inf)
    best = int(np.argmax(bounds))
    return PrivacyBound(
        epsilon=max(0.0, float(bounds[best])),
        threshold=float(thresholds[best]),
        tpr=float(positives[best] / scores_in.size),
        fpr=float(negatives[best] / scores_out.size),
        tpr_low=float(tpr_low[best]),
        fpr_high=float(fpr_high[best]),
        true_positives=int(positives[best]),
        positives=scores_in.size,
        false_positives=int(negatives[best]),
        negatives=scores_out.size,
        tried=thresholds.size,
        method="",
        confidence=1 - level,
        delta=delta,
    )

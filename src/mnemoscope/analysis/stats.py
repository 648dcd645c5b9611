"""The statistics of paper 002 (SSLMem), usable on any score vectors.

* ``ttest``: one-sided (or two-sided) t-tests of tables 2 and 16, with Cohen's d as effect size.
  Two samples: Student's t with pooled variance, as the authors' ``Ttest.py``
  (``scipy.stats.ttest_ind(equal_var=True)`` halved to one side), ``equal_var=False`` = Welch;
  one sample: against 0. Paper 002's "effect size" column (86.82 for 5,000 points a side) is
  of the size of the t statistic itself; here the statistic is reported as such and the effect
  size is Cohen's d = (mean_a - mean_b) / s_pooled (one sample: mean / s), independent of n.
* ``bootstrap_mean_ci``: confidence interval of a mean over points (``scipy.stats.bootstrap``).
* ``bootstrap_difference_ci``: interval of mean(g) - mean(f) when the seeds are resampled,
  each side independently (the expectation over encoders of eq. 2).
* ``difference_p``: one-sided test of mean_a > mean_b for two means reported with intervals
  (``interval_se``: the standard error a two-sided normal interval implies).
* ``ranking_agreement``: Kendall's tau with its p-value and top-k overlap (tables 12 and 13).
* ``auroc``: how well a score separates known positives (planted atypical images) from the rest.
* ``seed_interval``: the t interval of a mean over seeds (networks, or whole study repetitions)
  and which side of a margin it lies on: the one rule behind every "undecided at this scale".
* ``combine_p_values``: Stouffer's combination of independent one-sided p-values (study seeds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

Alternative = Literal["greater", "less", "two-sided"]
ALTERNATIVES = ("greater", "less", "two-sided")
TOP_KS = (10, 20, 50, 75, 100, 150, 200)  # table 12's "within first X samples"


def _vector(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


@dataclass(frozen=True)
class TTest:
    """One t-test: H1 is ``mean_a <alternative> mean_b`` (mean_b = 0 for one sample).

    ``effect_size`` is Cohen's d (see the module docstring), ``difference`` mean_a - mean_b.
    """

    statistic: float
    p_value: float
    effect_size: float
    difference: float
    n_a: int
    n_b: int
    alternative: str


def ttest(
    a: Any,
    b: Any = None,
    *,
    alternative: Alternative = "greater",
    equal_var: bool = True,
) -> TTest:
    """t-test of H1: mean(a) > mean(b) (``greater``), < (``less``) or != (``two-sided``).

    Without ``b``, a one-sample test of mean(a) against 0 (table 16: m(S_C) > 0, m(S_I) < 0).
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative={alternative!r} is not one of {ALTERNATIVES}")
    a = _vector("a", a)
    if b is None:
        if a.size < 2:
            raise ValueError(f"a one-sample t-test needs >= 2 values, got {a.size}")
        result = stats.ttest_1samp(a, 0.0, alternative=alternative)
        sd = a.std(ddof=1)
        d = a.mean() / sd if sd > 0 else _signed_infinity(a.mean())
        return TTest(float(result.statistic), float(result.pvalue), float(d), float(a.mean()),
                     a.size, 0, alternative)  # fmt: skip
    b = _vector("b", b)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"a two-sample t-test needs >= 2 values a side, got {a.size}, {b.size}")
    result = stats.ttest_ind(a, b, equal_var=equal_var, alternative=alternative)
    pooled = np.sqrt(
        ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    )
    difference = a.mean() - b.mean()
    d = difference / pooled if pooled > 0 else _signed_infinity(difference)
    return TTest(float(result.statistic), float(result.pvalue), float(d), float(difference),
                 a.size, b.size, alternative)  # fmt: skip


def _signed_infinity(value: float) -> float:
    return 0.0 if value == 0 else float(np.sign(value)) * np.inf


def bootstrap_mean_ci(
    values: Any,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    method: Literal["BCa", "percentile", "basic"] = "BCa",
) -> tuple[float, float]:
    """Bootstrap confidence interval of the mean of ``values`` (resampling the points).

    Fewer than 2 values, or all equal: the interval collapses to the mean (nothing varies).
    """
    values = _vector("values", values)
    _check_confidence(confidence, n_resamples)
    if values.size == 0:
        raise ValueError("values is empty: nothing to bootstrap")
    if values.size < 2 or np.all(values == values[0]):
        return float(values.mean()), float(values.mean())
    result = stats.bootstrap(
        (values,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
        method=method, rng=np.random.default_rng(seed), vectorized=True,
    )  # fmt: skip
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def bootstrap_difference_ci(
    f_values: Any,
    g_values: Any,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of mean(g_values) - mean(f_values), resampling each side's seeds.

    ``f_values[k]`` is a per-encoder quantity (e.g. the mean alignment of f_k over a subset), so
    the interval says how much the estimate of eq. 2 depends on which encoders were trained.
    Percentile, not BCa: with a handful of seeds BCa's jackknife is degenerate. NaN when a side
    has fewer than 2 seeds (there is nothing to resample).
    """
    f_values, g_values = _vector("f_values", f_values), _vector("g_values", g_values)
    _check_confidence(confidence, n_resamples)
    if f_values.size < 2 or g_values.size < 2:
        return float("nan"), float("nan")

    def difference(g: np.ndarray, f: np.ndarray, axis: int = -1) -> np.ndarray:
        return g.mean(axis=axis) - f.mean(axis=axis)

    result = stats.bootstrap(
        (g_values, f_values), difference, confidence_level=confidence, n_resamples=n_resamples,
        method="percentile", rng=np.random.default_rng(seed), vectorized=True, paired=False,
    )  # fmt: skip
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def interval_se(interval: tuple[float, float], confidence: float = 0.95) -> float:
    """The standard error a two-sided interval at ``confidence`` implies when it is normal:
    (high - low) / (2 z), z = Phi^-1((1 + confidence) / 2)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must lie strictly between 0 and 1")
    low, high = interval
    return (high - low) / (2 * stats.norm.ppf((1 + confidence) / 2))


def difference_p(
    mean_a: float,
    interval_a: tuple[float, float],
    mean_b: float,
    interval_b: tuple[float, float],
    confidence: float = 0.95,
) -> float:
    """One-sided p-value of mean_a - mean_b > 0, each mean reported with a two-sided interval
    at ``confidence`` (normal approximation):

        z = (mean_a - mean_b) / sqrt(se_a^2 + se_b^2),  p = 1 - Phi(z),  se_i = ``interval_se``.

    The two means are taken as independent; two means over the same points (the same images
    scored by two trainings) are positively correlated, so the difference's true standard
    error is smaller and this p-value is conservative."""
    se = math.hypot(interval_se(interval_a, confidence), interval_se(interval_b, confidence))
    difference = mean_a - mean_b
    if se == 0:  # both intervals collapsed: the sign alone decides
        return 0.0 if difference > 0 else 1.0 if difference < 0 else 0.5
    return float(stats.norm.sf(difference / se))


def _check_confidence(confidence: float, n_resamples: int) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must lie strictly between 0 and 1")
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples!r} must be an integer >= 1")


def kendall_tau(a: Any, b: Any) -> tuple[float, float]:
    """Kendall's tau-b between two score vectors over the same points, and its two-sided
    p-value (H0: no association, table 13). NaN for fewer than 2 points or a constant vector."""
    a, b = _paired(a, b)
    if a.size < 2:
        return float("nan"), float("nan")
    result = stats.kendalltau(a, b)
    return float(result.statistic), float(result.pvalue)


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest values (ties broken by position, stable)."""
    return np.argsort(-values, kind="stable")[:k]


def top_k_overlap(a: Any, b: Any, k: int) -> float:
    """|top_k(a) & top_k(b)| / k: the share of the k most memorized points both agree on."""
    a, b = _paired(a, b)
    if not isinstance(k, int) or not 1 <= k <= a.size:
        raise ValueError(f"k={k!r} must be an integer in 1..{a.size} (the number of points)")
    return len(set(top_k(a, k).tolist()) & set(top_k(b, k).tolist())) / k


def ranking_agreement(a: Any, b: Any, ks: Sequence[int] = TOP_KS) -> Any:
    """Tables 12 and 13 for two score vectors over the same points: a DataFrame with columns
    k, overlap, tau, p_value.

    For each k (those not below the number of points are skipped) ``overlap`` is
    ``top_k_overlap`` and tau / p_value are Kendall's tau between a and b on the k points that
    ``a`` ranks highest ("within the first k samples"; ``a`` is the reference ranking). Selecting
    on ``a`` alone keeps tau near 0 for unrelated rankings; selecting on both (the union of the
    two top-k sets) would bias it negative. The last row, k = n, is tau over all points
    (table 13).
    """
    import pandas as pd

    a, b = _paired(a, b)
    rows = []
    for k in sorted({int(k) for k in ks if 1 <= int(k) < a.size}):
        first = top_k(a, k)
        tau, p_value = kendall_tau(a[first], b[first])
        rows.append({"k": k, "overlap": top_k_overlap(a, b, k), "tau": tau, "p_value": p_value})
    tau, p_value = kendall_tau(a, b)
    rows.append({"k": a.size, "overlap": 1.0, "tau": tau, "p_value": p_value})
    return pd.DataFrame(rows, columns=["k", "overlap", "tau", "p_value"])


def _paired(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = _vector("a", a), _vector("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must score the same points: shapes {a.shape} and {b.shape}")
    return a, b


def auroc(scores: Any, positive: Any) -> float:
    """Area under the ROC curve of ``scores`` for the boolean labels ``positive`` (sklearn):
    the probability that a random positive scores above a random negative (ties count 1/2)."""
    from sklearn.metrics import roc_auc_score

    scores = _vector("scores", scores)
    positive = np.asarray(positive, dtype=bool)
    if positive.shape != scores.shape:
        raise ValueError(f"positive has shape {positive.shape}, scores {scores.shape}")
    if positive.all() or not positive.any():
        raise ValueError("AUROC needs both positive and negative points")
    return float(roc_auc_score(positive, scores))


@dataclass(frozen=True)
class SeedInterval:
    """The mean of one quantity over S seeds with its two-sided t interval at ``confidence``:

        mean -/+ t_{(1 + confidence) / 2, S - 1} sd / sqrt(S)

    (a point, low = high = mean, for S = 1). ``side(margin)``: "above" when the whole interval
    lies above ``margin``, "below" when it lies at or below it, "straddles" otherwise.
    """

    mean: float
    low: float
    high: float
    minimum: float
    maximum: float
    seeds: int
    confidence: float

    def side(self, margin: float) -> str:
        if self.low > margin:
            return "above"
        if self.high <= margin:
            return "below"
        return "straddles"


def seed_interval(values: Any, confidence: float = 0.95) -> SeedInterval:
    """``SeedInterval`` of ``values``, one per seed (see there)."""
    values = _vector("values", values)
    if values.size == 0:
        raise ValueError("values is empty: an interval over seeds needs at least one seed")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must lie strictly between 0 and 1")
    mean = float(values.mean())
    half = 0.0
    if values.size > 1:
        half = float(stats.t.ppf((1 + confidence) / 2, values.size - 1)
                     * values.std(ddof=1) / np.sqrt(values.size))  # fmt: skip
    return SeedInterval(mean, mean - half, mean + half, float(values.min()), float(values.max()),
                        int(values.size), confidence)  # fmt: skip


def combine_p_values(p_values: Any) -> float:
    """One p-value from independent one-sided p-values of the same hypothesis (one per study
    seed): Stouffer's Z = sum_i Phi^-1(1 - p_i) / sqrt(S) (``scipy.stats.combine_pvalues``).

    Stouffer, not Fisher: Fisher's -2 sum log p_i is dominated by its smallest p-value, so one
    seed with a strong effect makes the combination significant even when the other seeds show
    the opposite direction; Stouffer weighs every seed alike and a seed in the other direction
    (p near 1, negative z) cancels one in the paper's, which is what "holds across seeds" asks.
    The p-values must be one-sided in the same direction (a two-sided p-value of an effect of
    the paper's sign halves; of the other sign, 1 - p / 2).
    """
    p_values = _vector("p_values", p_values)
    if p_values.size == 0 or np.any((p_values < 0) | (p_values > 1)):
        raise ValueError(f"p_values must be a non-empty list of values in [0, 1], got {p_values}")
    # Stouffer is undefined at exactly 0 or 1 (infinite z): clip to the float range.
    clipped = np.clip(p_values, np.finfo(float).tiny, 1 - np.finfo(float).eps)
    return float(stats.combine_pvalues(clipped, method="stouffer").pvalue)

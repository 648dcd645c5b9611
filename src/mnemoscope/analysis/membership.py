"""Membership inference with the likelihood-ratio attack, LiRA (Carlini et al., "Membership
Inference Attacks From First Principles", IEEE S&P 2022), on a model pool (``analysis.pool``).

Statistic: for a classifier, the logit-scaled probability of the true label,
phi(p) = log(p / (1 - p)) (``logit_scale``; section IV-B: it makes the per-image distribution
close to Gaussian); for an SSL encoder, the alignment loss (low = member).

Per image n, Gaussians are fitted to the statistic over the IN models and over the OUT models
(``fit_gaussians``): means mu_in(n), mu_out(n) and unbiased variances s_in^2(n), s_out^2(n)
(ddof 1: 2 models a side at least, else NaN). ``fixed_variance``: one variance for IN and one
for OUT shared by all images (the paper's choice for few shadow models), the pooled
within-image variance sum_n sum_{k in IN(n)} (v_kn - mu_in(n))^2 / sum_n (|IN(n)| - 1) over the
images with 2 IN models or more (likewise OUT). Carlini et al.'s code takes np.std over all
IN values instead, which adds the spread of the means between images; this does not.

Score of an observation x of image n by a target model (larger = member, ``lira_score``):

    online:   Lambda = log N(x; mu_in, s_in^2) - log N(x; mu_out, s_out^2)
    offline:  Lambda = log Pr[Z < x]   (member_high)   or   log Pr[Z > x]   (member low),
              Z ~ N(mu_out, s_out^2)

The online ratio needs no direction (an observation that looks IN scores high whichever side
IN lies on); the offline test is one-sided (the paper: 1 - Pr[Z > phi(x)]; the log keeps
resolution in the tail and is monotone, so the ROC is the same). Carlini et al.'s code scores
offline by the two-sided density -log N(x; mu_out, s_out^2); this follows the paper.
Variances are floored at 1e-30 (their code adds 1e-30 to the sd) so that an image whose fitted
models all agree still has a finite score.

``lira``: every model in turn is the target, the Gaussians are fitted on the other K - 1
models only and the target's observation of every image is scored; (score, was image n in
the target's training set) are pooled over all targets into one ROC (``analysis.roc``).

``groups``: the models held out with each target (the target's whole group leaves the fit). In
a balanced pool (every image IN for K/2 models) holding out the target alone leaves its own
side one model short for every image: K/2 - 1 against K/2. The shorter side's mean and
variance are the noisier, so an observation fits it worse, and without any membership signal
an IN target scores below an OUT one (with a known variance and no signal, E[Lambda] =
(1 / (K/2) - 1 / (K/2 - 1)) / 2 < 0 for an IN target and its negative for an OUT one: an AUC
below 0.5, visible at small K). A pool built in pairs of models on complementary halves (the atlas)
holds out the target's partner with it: every image then keeps K/2 - 1 models a side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as scipy_stats

from mnemoscope.analysis.pool import check_pool
from mnemoscope.analysis.roc import Roc, roc

Variant = Literal["online", "offline"]
VARIANTS = ("online", "offline")
MIN_VARIANCE = 1e-30
FPRS = (0.001, 0.01)  # the paper's headline rates: TPR at 0.1% and 1% FPR


def logit_scale(p: Any, eps: float = float(np.finfo(np.float64).eps)) -> np.ndarray:
    """phi(p) = log(p / (1 - p)), with p clipped to [eps, 1 - eps] first so that p = 0 and
    p = 1 (a saturated softmax) give finite values, +-log((1 - eps) / eps) (~ +-36 at the
    default: float64 cannot tell 1 - p apart from 0 below it)."""
    p = np.asarray(p, dtype=np.float64)
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    if not 0 < eps < 0.5:
        raise ValueError(f"eps={eps!r} must lie in (0, 0.5)")
    p = np.clip(p, eps, 1 - eps)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Gaussians:
    """Per image ``[N]``: IN and OUT means and variances (module docstring; NaN where a side
    has too few models)."""

    mean_in: np.ndarray
    var_in: np.ndarray
    mean_out: np.ndarray
    var_out: np.ndarray


def fit_gaussians(values: Any, inside: Any, *, fixed_variance: bool = False) -> Gaussians:
    """IN and OUT Gaussians of every image from ``values`` ``[K, N]`` and ``inside``."""
    values, inside = check_pool(values, inside)
    if values.ndim != 2:
        raise ValueError(
            f"values must be [K, N] (one statistic per model and image), got {values.shape}"
        )
    mean_in, var_in = _side(values, inside, fixed_variance)
    mean_out, var_out = _side(values, ~inside, fixed_variance)
    return Gaussians(mean_in, var_in, mean_out, var_out)


def _side(values: np.ndarray, mask: np.ndarray, fixed_variance: bool) -> tuple[np.ndarray, ...]:
    count = mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 models: the NaN we want
        mean = np.where(mask, values, 0).sum(axis=0) / count
        squares = np.where(mask, (values - mean) ** 2, 0).sum(axis=0)
        variance = squares / (count - 1)
    mean = np.where(count > 0, mean, np.nan)
    variance = np.where(count > 1, variance, np.nan)
    if fixed_variance:
        usable = count > 1  # pooled within-image variance over images with 2+ models
        pooled = squares[usable].sum() / (count[usable] - 1).sum() if usable.any() else np.nan
        variance = np.where(count > 0, pooled, np.nan)
    return mean, np.maximum(variance, MIN_VARIANCE)


def lira_score(
    x: Any, fitted: Gaussians, *, variant: Variant = "online", member_high: bool = True
) -> np.ndarray:
    """Lambda of the module docstring for observations ``x`` ``[N]`` (one per image) under
    ``fitted``; larger = member. ``member_high`` orients the offline test only."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is not one of {VARIANTS}")
    x = np.asarray(x, dtype=np.float64)
    sd_out = np.sqrt(fitted.var_out)
    if variant == "offline":
        tail = scipy_stats.norm.logcdf if member_high else scipy_stats.norm.logsf
        return tail(x, fitted.mean_out, sd_out)
    return scipy_stats.norm.logpdf(x, fitted.mean_in, np.sqrt(fitted.var_in)) - (
        scipy_stats.norm.logpdf(x, fitted.mean_out, sd_out)
    )


@dataclass(frozen=True)
class Lira:
    """``scores[t, n]``: Lambda of image n against target model t (Gaussians fitted without
    t; NaN where those K - 1 models cannot fit it); ``member = inside``; ``roc`` over the
    finite (score, member) pairs of all targets; ``tpr_at``: FPR -> TPR (``roc.tpr_at_fpr``,
    FPR <= target)."""

    scores: np.ndarray
    member: np.ndarray
    roc: Roc
    tpr_at: dict[float, float]


def held_out_scores(
    values: Any,
    inside: Any,
    *,
    variant: Variant = "online",
    fixed_variance: bool = False,
    member_high: bool = True,
    groups: Any = None,
) -> np.ndarray:
    """``[K, N]``: Lambda of image n against target model k, the Gaussians fitted on the other
    K - 1 models only (NaN where they cannot fit it): ``Lira.scores`` without the ROC, for a
    pool too small for one (e.g. a split half of the models). ``groups`` ``[K]``: the target's
    whole group is left out of the fit (module docstring); None = the target alone."""
    values, inside = check_pool(values, inside)
    if values.ndim != 2:
        raise ValueError(f"values must be [K, N], got {values.shape}")
    models = inside.shape[0]
    groups = np.arange(models) if groups is None else np.asarray(groups)
    if groups.shape != (models,):
        raise ValueError(f"groups must give one group per model ({models}), got {groups.shape}")
    scores = np.full(values.shape, np.nan)
    for target in range(models):
        others = groups != groups[target]
        fitted = fit_gaussians(values[others], inside[others], fixed_variance=fixed_variance)
        scores[target] = lira_score(
            values[target], fitted, variant=variant, member_high=member_high
        )
    return scores


def lira(
    values: Any,
    inside: Any,
    *,
    variant: Variant = "online",
    fixed_variance: bool = False,
    member_high: bool = True,
    fprs: Sequence[float] = FPRS,
    groups: Any = None,
) -> Lira:
    """LiRA over a model pool ``values`` ``[K, N]``, ``inside`` ``[K, N]`` with every model
    held out as the target in turn (with its ``groups`` partners: module docstring)."""
    scores = held_out_scores(values, inside, variant=variant, fixed_variance=fixed_variance,
                             member_high=member_high, groups=groups)  # fmt: skip
    inside = np.asarray(inside)
    finite = np.isfinite(scores)
    curve = roc(scores[finite], inside[finite])
    return Lira(scores, inside.copy(), curve, {float(f): curve.tpr_at(f) for f in fprs})

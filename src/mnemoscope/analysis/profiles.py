"""Memorization profiles of paper 001: p_t, p~_t, their binomial null and epoch alignment.

Indicators I_theta (``mnemoscope.measure.recognition``) are stored as uint8 arrays
``[seed, epoch, augmentation, example]`` (N seeds, M augmentations) and ``[seed, epoch,
example]`` for the fixed augmentation. From them (appendix B):

    p_t(x)   = 1/(N M) sum_i sum_j I_theta_i(x~_j)          (eq. 1 and 4: averaged)
    p~_t(x~) = 1/N     sum_i I_theta_i(x~)                  (eq. 2: one fixed augmentation)

A memorization profile is p_t (or p~_t) sorted over the tracked images X (section 3).

Binomial null (section 4.1, appendix B): if every pair were equally hard, N p~_t(x~) would be
Bin(N, p) for all x~ (eq. 3). p is estimated by its maximum likelihood value, the mean
p^ = mean_x p~_t(x~); the profile is compared to a sorted sample of Bin(T, p^) / T of the same
size, with T the number of trials behind each value (T = N for fixed augmentations; for
averaged ones T = N M, the approximation the paper uses for eq. 4, which has no exact law):

    MAE = 1/|X| sum_k | sort(p)_k - sort(b)_k |,   b ~ Bin(T, p^) / T   (mean, sd over draws)

and for fixed augmentations the counts N p~_t are tested against Bin(N, p^) with Pearson's
chi-square goodness of fit (bins pooled to expected counts >= 5, dof = bins - 2 for the
estimated p).

Epoch alignment (section 4.2): for each target p^ in {0.25, 0.5, 0.75}, the epoch whose mean
p_t (the area under the profile) is closest to the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_EXPECTED = 5.0  # the usual rule for Pearson's chi-square: every pooled bin expects >= 5


def _integers(name: str, values: np.ndarray, ndim: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {values.shape}")
    if values.size == 0:
        raise ValueError(f"{name} is empty (shape {values.shape})")
    return values


def averaged_recognition(indicators: np.ndarray) -> np.ndarray:
    """p_t(x), eq. 1 / 4: ``indicators`` [seed, epoch, augmentation, example] -> [epoch,
    example], the mean over seeds and augmentations."""
    indicators = _integers("indicators", indicators, 4)
    return indicators.mean(axis=(0, 2), dtype=np.float64)


def fixed_recognition(fixed: np.ndarray) -> np.ndarray:
    """p~_t(x~), eq. 2: ``fixed`` [seed, epoch, example] -> [epoch, example]."""
    fixed = _integers("fixed", fixed, 3)
    return fixed.mean(axis=0, dtype=np.float64)


def augmentation_recognition(indicators: np.ndarray) -> np.ndarray:
    """p~_t of every single augmentation (fig. 4): [seed, epoch, aug, example] -> [epoch, aug,
    example], the mean over seeds only."""
    indicators = _integers("indicators", indicators, 4)
    return indicators.mean(axis=0, dtype=np.float64)


def sorted_profile(values: np.ndarray) -> np.ndarray:
    """The memorization profile: ``values`` sorted (ascending) along the last axis."""
    return np.sort(np.asarray(values, dtype=np.float64), axis=-1)


def binomial_profile(p_hat: float, trials: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A sorted sample of ``size`` values of Bin(trials, p_hat) / trials: the null's profile."""
    _check_trials(trials)
    if not 0.0 <= p_hat <= 1.0:
        raise ValueError(f"p_hat={p_hat} is not a probability in [0, 1]")
    return np.sort(rng.binomial(trials, p_hat, size=size) / trials)


def binomial_mae(
    values: np.ndarray, trials: int, draws: int = 10, seed: int = 0
) -> tuple[float, float]:
    """Mean and sd (over ``draws`` binomial samples) of the MAE between the sorted ``values``
    and a sorted Bin(trials, p^) / trials sample of the same size, p^ = mean(values)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty vector, got shape {values.shape}")
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws={draws!r} must be an integer >= 1")
    profile = np.sort(values)
    p_hat = float(np.clip(profile.mean(), 0.0, 1.0))
    rng = np.random.default_rng(seed)
    errors = [
        np.abs(profile - binomial_profile(p_hat, trials, values.size, rng)).mean()
        for _ in range(draws)
    ]
    return float(np.mean(errors)), float(np.std(errors, ddof=1)) if draws > 1 else 0.0


@dataclass(frozen=True)
class ChiSquare:
    """Pearson's goodness of fit of counts to Bin(trials, p^): statistic, p-value and degrees of
    freedom (NaN statistic and p-value when fewer than 3 bins remain after pooling)."""

    statistic: float
    p_value: float
    dof: int
    p_hat: float


def pooled_bins(expected: np.ndarray, min_expected: float = MIN_EXPECTED) -> list[np.ndarray]:
    """Consecutive groups of outcomes 0..T whose expected counts each reach ``min_expected``.

    Groups are filled from the left; a last group short of the minimum joins the one before.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0.0
    for outcome, count in enumerate(expected):
        current.append(outcome)
        total += count
        if total >= min_expected:
            groups.append(current)
            current, total = [], 0.0
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return [np.asarray(group) for group in groups]


def binomial_chi2(counts: np.ndarray, trials: int, min_expected: float = MIN_EXPECTED) -> ChiSquare:
    """Chi-square test of ``counts`` (successes out of ``trials``, one per item) against
    Bin(trials, p^) with p^ = mean(counts) / trials, the maximum likelihood estimate (eq. 3)."""
    _check_trials(trials)
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty vector, got shape {counts.shape}")
    rounded = np.rint(counts)
    if np.any(np.abs(counts - rounded) > 1e-6) or rounded.min() < 0 or rounded.max() > trials:
        raise ValueError(f"counts must be integers in 0..{trials} (successes out of {trials})")
    counts = rounded.astype(np.int64)
    p_hat = float(counts.mean() / trials)
    observed = np.bincount(counts, minlength=trials + 1).astype(np.float64)
    expected = counts.size * stats.binom.pmf(np.arange(trials + 1), trials, p_hat)
    groups = pooled_bins(expected, min_expected)
    dof = len(groups) - 2  # bins - 1, minus one for the estimated p
    if dof < 1:
        return ChiSquare(float("nan"), float("nan"), max(dof, 0), p_hat)
    observed_pooled = np.array([observed[group].sum() for group in groups])
    expected_pooled = np.array([expected[group].sum() for group in groups])
    statistic = float(((observed_pooled - expected_pooled) ** 2 / expected_pooled).sum())
    return ChiSquare(statistic, float(stats.chi2.sf(statistic, dof)), dof, p_hat)


@dataclass(frozen=True)
class Alignment:
    """The measured epoch closest to one target mean recognition (section 4.2).

    ``reached``: the target lies within the range of mean p over the measured epochs; when it
    does not, the closest epoch is still reported (its ``mean_p`` shows how far it is)."""

    target_p: float
    index: int
    epoch: float
    mean_p: float
    reached: bool


def align_epochs(
    epochs: Sequence[float], mean_p: Sequence[float], targets: Sequence[float]
) -> list[Alignment]:
    """For each target, the epoch whose mean p is closest (the earliest one on ties)."""
    epochs = np.asarray(epochs, dtype=np.float64)
    mean_p = np.asarray(mean_p, dtype=np.float64)
    if epochs.ndim != 1 or epochs.shape != mean_p.shape or epochs.size == 0:
        raise ValueError(
            f"epochs and mean_p must be equally long non-empty vectors; got shapes "
            f"{epochs.shape} and {mean_p.shape}"
        )
    low, high = float(mean_p.min()), float(mean_p.max())
    alignments = []
    for target in targets:
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"target p {target} is not in [0, 1]")
        index = int(np.argmin(np.abs(mean_p - target)))  # argmin: first of equal distances
        alignments.append(Alignment(float(target), index, float(epochs[index]),
                                    float(mean_p[index]), low <= target <= high))  # fmt: skip
    return alignments


def _check_trials(trials: int) -> None:
    if not isinstance(trials, int | np.integer) or isinstance(trials, bool) or trials < 1:
        raise ValueError(f"trials={trials!r} must be an integer >= 1")

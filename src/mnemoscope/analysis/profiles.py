"""Memorization profiles of paper 001: p_t, p~_t, their nulls and epoch alignment.

Indicators I_theta (``mnemoscope.measure.recognition``) are stored as uint8 arrays
``[seed, epoch, augmentation, example]`` (N seeds, M augmentations) and ``[seed, epoch,
example]`` for the fixed augmentation. From them (appendix B):

    p_t(x)   = 1/(N M) sum_i sum_j I_theta_i(x~_j)          (eq. 1 and 4: averaged)
    p~_t(x~) = 1/N     sum_i I_theta_i(x~)                  (eq. 2: one fixed augmentation)

A memorization profile is p_t (or p~_t) sorted over the tracked images X (section 3).

Two procedures (``Procedure``), differing in four choices:

* ``paper``: what the authors computed (their analysis notebook, isadrtdinov/self-supervised
  ``notebooks/plots.ipynb``): the binomial of averaged profiles has T = N trials (the M views of
  one network are not counted as trials); the aligned epoch is the first whose mean p reaches
  the target; the fixed augmentation is view 0 of the same M views; SimCLR's indicator is one
  direction with ties as hits (``measure.recognition.anchor_recognition``); MAE sd over draws
  with ddof 0 (``np.std``).
* ``mnemoscope``: T = N M for averaged profiles (every view of every network an independent
  trial, which they are not: see the network-block null below); the epoch closest to the target;
  a separate (M+1)-th fixed view; SimCLR pairs recognized in both directions, ties as misses;
  sd with ddof 1.

Binomial null (section 4.1, appendix B): if every pair were equally hard, N p~_t(x~) would be
Bin(N, p) for all x~ (eq. 3). p is estimated by its maximum likelihood value, the mean
p^ = mean_x p~_t(x~); the profile is compared to a sorted sample of Bin(T, p^) / T of the same
size (one draw per MAE, repeated; mean and sd over draws):

    MAE = 1/|X| sum_k | sort(p)_k - sort(b)_k |,   b ~ Bin(T, p^) / T

and for fixed augmentations the counts N p~_t are tested against Bin(N, p^) with Pearson's
chi-square goodness of fit (bins pooled to expected counts >= 5, dof = bins - 2 for the
estimated p; the authors' notebook does not pool, which inflates the statistic through the
near-empty tails: pooling is kept in both procedures).

Network-block permutation null (mnemoscope's headline distance). The M views of one image in
one network are not independent trials: a network that memorized an image recognizes most of
its views, so even equally hard images give averaged profiles wider than Bin(N M) / (N M). With
s_i(x) = sum_j I_theta_i(x~_j) the count of network i on image x, the null shuffles the images
independently within each network, moving each network's M views of an image together:

    k*(x) = sum_i s_i(pi_i(x)),   pi_1..pi_N independent uniform permutations of X

This keeps every network's recognition rate and its within-network view agreement, and destroys
only what the paper asks about: agreement across networks on which images are hard. The profile
k / T is compared to the permuted profiles k* / T: MAE (mean, sd over permutations) and Pearson's
chi-square of the histogram of k against the permutations' mean histogram (pooled to expected
counts >= 5, dof = bins - 1), with the Monte Carlo p-value (1 + #{chi2* >= chi2}) / (1 + P)
over the permutations' own statistics.

Epoch alignment (section 4.2): for each target p^ in {0.25, 0.5, 0.75}, the first epoch whose
mean p_t (the area under the profile) reaches the target (``paper``), or the closest one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_EXPECTED = 5.0  # the usual rule for Pearson's chi-square: every pooled bin expects >= 5
ALIGNMENT_RULES = ("first", "closest")


@dataclass(frozen=True)
class Procedure:
    """How profiles are computed and compared (module docstring): ``averaged_trials``
    ("seeds": T = N, "seeds_x_augmentations": T = N M), ``alignment`` ("first" or "closest"),
    ``fixed_view`` ("first": view 0 of the M views, "extra": the (M+1)-th view),
    ``simclr_indicator`` ("anchor": one direction, ties as hits; "mutual": both directions,
    ties as misses) and ``sd_ddof`` of the MAE's sd over draws."""

    name: str
    averaged_trials: str
    alignment: str
    fixed_view: str
    simclr_indicator: str
    sd_ddof: int


PROCEDURES = {
    "paper": Procedure("paper", "seeds", "first", "first", "anchor", 0),
    "mnemoscope": Procedure("mnemoscope", "seeds_x_augmentations", "closest", "extra", "mutual", 1),
}


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
    values: np.ndarray, trials: int, draws: int = 10, seed: int = 0, ddof: int = 1
) -> tuple[float, float]:
    """Mean and sd (over ``draws`` binomial samples, with ``ddof``) of the MAE between the
    sorted ``values`` and a sorted Bin(trials, p^) / trials sample of the same size,
    p^ = mean(values)."""
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
    return float(np.mean(errors)), float(np.std(errors, ddof=ddof)) if draws > ddof else 0.0


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


def permute_within_networks(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw of the network-block null: ``counts`` [N, X] (s_i(x), network i's recognized
    views of image x) with each network's row shuffled by its own permutation of X."""
    counts = _integers("counts", counts, 2)
    order = np.argsort(rng.random(counts.shape), axis=1)
    return np.take_along_axis(counts, order, axis=1)


@dataclass(frozen=True)
class NullComparison:
    """A profile against the network-block null: MAE (mean, sd over permutations) and the
    chi-square of its count histogram (statistic, Monte Carlo p-value, dof; NaN with fewer than
    2 pooled bins)."""

    mae: float
    mae_sd: float
    chi2: float
    p_value: float
    dof: int
    trials: int


def network_block_null(
    counts: np.ndarray, trials: int, permutations: int = 100, seed: int = 0
) -> NullComparison:
    """Compare the profile of ``counts`` [N, X] (per network and image, each out of
    ``trials`` / N views) with ``permutations`` draws of the network-block null."""
    counts = _integers("counts", counts, 2).astype(np.int64)
    _check_trials(trials)
    if not isinstance(permutations, int) or permutations < 2:
        raise ValueError(f"permutations={permutations!r} must be an integer >= 2")
    if counts.min() < 0 or counts.sum(axis=0).max() > trials:
        raise ValueError(f"counts must be >= 0 and sum over networks to at most {trials}")
    rng = np.random.default_rng(seed)
    observed = counts.sum(axis=0)
    permuted = np.stack([permute_within_networks(counts, rng).sum(axis=0)
                         for _ in range(permutations)])  # fmt: skip
    profile = np.sort(observed) / trials
    errors = np.abs(np.sort(permuted, axis=1) / trials - profile).mean(axis=1)
    histograms = np.stack([np.bincount(k, minlength=trials + 1) for k in permuted])
    expected = histograms.mean(axis=0)
    groups = pooled_bins(expected)
    dof = len(groups) - 1  # the null's parameters are conditioned on, not estimated
    if dof < 1:
        statistic = p_value = float("nan")
    else:
        pool = np.stack([expected[group].sum() for group in groups])

        def chi2(histogram: np.ndarray) -> np.ndarray:
            pooled = np.stack([histogram[..., group].sum(axis=-1) for group in groups], axis=-1)
            return ((pooled - pool) ** 2 / pool).sum(axis=-1)

        statistic = float(chi2(np.bincount(observed, minlength=trials + 1)))
        p_value = float((1 + np.sum(chi2(histograms) >= statistic)) / (1 + permutations))
    return NullComparison(float(errors.mean()), float(errors.std(ddof=1)), statistic, p_value,
                          max(dof, 0), trials)  # fmt: skip


def null_profile(counts: np.ndarray, trials: int, seed: int) -> np.ndarray:
    """The sorted profile of the first permutation ``network_block_null`` draws with ``seed``
    (for figures)."""
    draw = permute_within_networks(np.asarray(counts), np.random.default_rng(seed))
    return np.sort(draw.sum(axis=0)) / trials


@dataclass(frozen=True)
class Alignment:
    """The measured epoch aligned with one target mean recognition (section 4.2).

    ``reached``: the target lies within the range of mean p over the measured epochs; when it
    does not, the closest epoch is still reported (its ``mean_p`` shows how far it is)."""

    target_p: float
    index: int
    epoch: float
    mean_p: float
    reached: bool


def align_epochs(
    epochs: Sequence[float], mean_p: Sequence[float], targets: Sequence[float], rule: str = "first"
) -> list[Alignment]:
    """For each target, the first epoch whose mean p reaches it (``rule="first"``, the paper
    authors' ``np.nonzero(areas >= target)[0][0]``) or the epoch whose mean p is closest
    (``"closest"``, the earliest one on ties). A target never reached falls back to the closest
    epoch under either rule, marked ``reached=False``."""
    if rule not in ALIGNMENT_RULES:
        raise ValueError(f"alignment rule {rule!r}: expected one of {ALIGNMENT_RULES}")
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
        reaching = np.flatnonzero(mean_p >= target)
        if rule == "first" and reaching.size:
            index = int(reaching[0])
        else:
            index = int(np.argmin(np.abs(mean_p - target)))  # argmin: first of equal distances
        alignments.append(Alignment(float(target), index, float(epochs[index]),
                                    float(mean_p[index]), low <= target <= high))  # fmt: skip
    return alignments


def _check_trials(trials: int) -> None:
    if not isinstance(trials, int | np.integer) or isinstance(trials, bool) or trials < 1:
        raise ValueError(f"trials={trials!r} must be an integer >= 1")

"""How much of a per-image SSLMem score is signal: split-half reliability over view pairs.

An SSLMem score (paper 002 eq. 2) averages A augmentation pairs (eq. 1); a second draw of A
pairs gives another score for the very same encoders. The share of the score's variance over
images that survives a redraw is its reliability. Split-half estimate: split the A pairs into
two halves of h = floor(A / 2), score every image from each half,

    m_P(x) = mean_k mean_{a in P} d(g_k, x, a) - mean_k mean_{a in P} d(f_k, x, a),

take Pearson's r between the two halves' scores over the images, averaged over ``splits``
random halvings (a fixed seed), and correct it to the full A pairs with the Spearman-Brown
formula (Spearman 1910; Brown 1910), k = A / h:

    rho_A = k r / (1 + (k - 1) r).

It measures view noise given the encoders (the pairs are the only thing redrawn); the spread
over training seeds is reported separately (``seed_ci``). Centering (``center: shared``) shifts
all points of an encoder alike and does not change it.

The same formula predicts the pairs needed for a target reliability R from rho at A pairs
(``count_for``, alias ``pairs_for``), which ``pairs: auto`` uses, and bounds any agreement
between two noisy scores (their noise ceiling, Spearman 1904's attenuation): Pearson's r
between scores of reliabilities rho_a and rho_b cannot exceed sqrt(rho_a rho_b); for Kendall's
tau the tables give (2 / pi) arcsin(sqrt(rho_a rho_b)) (Greiner's relation), for Spearman's rho
(6 / pi) arcsin(sqrt(rho_a rho_b) / 2) (Pearson 1907), both exact for bivariate normal scores.
Dividing an observed r by sqrt(rho_a rho_b) is Spearman's (1904) disattenuated correlation
(``disattenuate``). A score without view noise (Feldman's, from clean images) has
reliability 1.

The split-half machinery is one function, ``split_half_of``: it only needs "the per-image score
from these units", so the same code splits view pairs (``split_half``, ``split_half_columns``)
and the models of a model pool (``analysis.pool_reliability``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_SPLITS = 20  # random halvings averaged: one halving is itself noisy at A = 5


@dataclass(frozen=True)
class Reliability:
    """``half_r``: mean Pearson r between half scores; ``reliability``: Spearman-Brown rho at
    ``units`` units (view pairs, or models of a pool; NaN for fewer than 2 units or 3 points,
    or no variance); ``n``: images."""

    half_r: float
    reliability: float
    units: int
    n: int

    @property
    def pairs(self) -> int:
        """``units`` under the name the view-pair callers use."""
        return self.units


def spearman_brown(r: float, factor: float) -> float:
    """The reliability of a score ``factor`` times as long as one of reliability ``r``."""
    if math.isnan(r):
        return math.nan
    return factor * r / (1 + (factor - 1) * r)


Length = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def split_half_of(
    score: Callable[[np.ndarray], np.ndarray],
    units: int,
    n: int,
    *,
    length: Length | None = None,
    splits: int = DEFAULT_SPLITS,
    seed: int = 0,
) -> Reliability:
    """Split-half reliability of a per-image score that averages ``units`` units (view pairs,
    models): ``score(indices)`` is the ``[n]`` score from the units at ``indices`` alone (NaN
    for an image that this subset cannot score, e.g. a model half without an OUT model).

    Each of ``splits`` random halvings (``seed``) gives two disjoint halves of h = floor(U / 2)
    units; r is Pearson's over the images both halves score (a halving leaving fewer than 3
    such images, or a constant half, counts as missing); the mean r over the halvings is
    corrected to U units, rho_U = spearman_brown(r, L), with the length factor L = U / h, or
    the mean over the halvings of ``length(first, second, scored)`` (the halves' unit indices
    and the boolean mask of the images they both score) when the units are not parallel.
    """
    half = units // 2
    if half < 1 or n < 3:
        return Reliability(math.nan, math.nan, units, n)
    generator = np.random.default_rng(seed)
    correlations, factors = [], []
    for _ in range(splits):
        order = generator.permutation(units)
        first, second = order[:half], order[half : 2 * half]
        one, two = score(first), score(second)
        both = np.isfinite(one) & np.isfinite(two)
        if both.sum() < 3 or one[both].std() == 0 or two[both].std() == 0:
            continue  # this halving says nothing
        correlations.append(float(np.corrcoef(one[both], two[both])[0, 1]))
        if length is not None:
            factors.append(length(first, second, both))
    if not correlations:
        return Reliability(math.nan, math.nan, units, n)
    r = float(np.mean(correlations))
    factor = units / half if length is None else float(np.mean(factors))
    return Reliability(r, spearman_brown(r, factor), units, n)


def split_half_columns(
    per_unit: np.ndarray, *, splits: int = DEFAULT_SPLITS, seed: int = 0
) -> Reliability:
    """Split-half reliability of a score that is the mean over the columns of ``per_unit``
    ``[N, U]`` (one column per unit, e.g. the eq. 2 difference per view pair)."""
    per_unit = np.asarray(per_unit, np.float64)
    if per_unit.ndim != 2:
        raise ValueError(f"per-unit scores must be [N, U], got shape {per_unit.shape}")
    n, units = per_unit.shape
    return split_half_of(
        lambda chosen: per_unit[:, chosen].mean(axis=1), units, n, splits=splits, seed=seed
    )


def split_half(
    pairs_f: np.ndarray,
    pairs_g: np.ndarray,
    points: Any = None,
    *,
    splits: int = DEFAULT_SPLITS,
    seed: int = 0,
) -> Reliability:
    """Split-half reliability of eq. 2 from per-pair distances ``[K_f, N, A]`` and
    ``[K_g, N, A]`` (``alignment_losses(per_pair=True)``), over the images ``points``
    (indices or a boolean mask; None = all)."""
    pairs_f, pairs_g = np.asarray(pairs_f, np.float64), np.asarray(pairs_g, np.float64)
    if pairs_f.ndim != 3 or pairs_g.ndim != 3 or pairs_f.shape[1:] != pairs_g.shape[1:]:
        raise ValueError(
            f"per-pair distances must be [K, N, A] with one N and A, got {pairs_f.shape} and "
            f"{pairs_g.shape}"
        )
    if points is not None:
        pairs_f, pairs_g = pairs_f[:, np.asarray(points)], pairs_g[:, np.asarray(points)]
    # per image and pair, the eq. 2 difference of the encoder means: halves average its columns
    difference = pairs_g.mean(axis=0) - pairs_f.mean(axis=0)  # [N, A]
    return split_half_columns(difference, splits=splits, seed=seed)


def count_for(reliability: float, count: int, target: float = 0.8) -> int:
    """The units (view pairs, models) C' at which the Spearman-Brown formula predicts
    ``target`` from ``reliability`` at ``count`` units: C' = C R (1 - rho) / (rho (1 - R)),
    rounded up (at least ``count``). A non-positive or NaN rho has no finite answer: returns a
    very large number."""
    if not 0 < target < 1:
        raise ValueError(f"target reliability {target!r} must lie in (0, 1)")
    if math.isnan(reliability) or reliability <= 0:
        return 2**31
    if reliability >= target:
        return count
    needed = count * target * (1 - reliability) / (reliability * (1 - target))
    return max(count, math.ceil(needed - 1e-9))  # 1e-9: 20.000000000000004 pairs is 20


pairs_for = count_for  # the name ``pairs: auto`` and the SSLMem tables use


def noise_ceiling(reliability_a: float, reliability_b: float) -> tuple[float, float]:
    """(Pearson, Kendall tau) ceilings of the agreement of two scores with these
    reliabilities: sqrt(rho_a rho_b) and (2 / pi) arcsin of it (module docstring). A negative
    reliability (a split-half estimate of a score without signal) counts as 0: two of them
    must not multiply into a positive ceiling."""
    product = max(0.0, reliability_a) * max(0.0, reliability_b)
    if math.isnan(reliability_a) or math.isnan(reliability_b):
        return math.nan, math.nan
    pearson = math.sqrt(min(1.0, product))
    return pearson, 2 / math.pi * math.asin(pearson)


def spearman_ceiling(reliability_a: float, reliability_b: float) -> float:
    """Spearman's rho ceiling of two scores with these reliabilities:
    (6 / pi) arcsin(sqrt(rho_a rho_b) / 2) (Pearson 1907; bivariate normal scores)."""
    pearson = noise_ceiling(reliability_a, reliability_b)[0]
    return math.nan if math.isnan(pearson) else 6 / math.pi * math.asin(pearson / 2)


def disattenuate(r: float, reliability_a: float, reliability_b: float) -> float:
    """Spearman's (1904) correction for attenuation, r / sqrt(rho_a rho_b): the correlation
    the two scores' noise-free parts would show. NaN unless both reliabilities are positive;
    not clipped (sampling error can carry it past 1, which itself says "as agreed as the
    noise allows")."""
    if not (reliability_a > 0 and reliability_b > 0) or math.isnan(r):
        return math.nan
    return r / math.sqrt(reliability_a * reliability_b)


Draw = Callable[[int, int], tuple[np.ndarray, np.ndarray]]


def draw_until_reliable(
    draw: Draw,
    points: Any,
    *,
    first: int,
    target: float,
    max_pairs: int,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``pairs: auto``: per-pair distances ``[K, N, A]`` (f, g) and the draws taken.

    ``draw(index, count)`` returns ``count`` new pairs (f, g) of draw ``index`` (new views,
    the same for every encoder). Starts with ``first`` pairs; while the split-half reliability
    over ``points`` is below ``target`` and fewer than ``max_pairs`` are drawn, draws the
    pairs the Spearman-Brown formula predicts are missing (``pairs_for``; at least one more,
    never beyond ``max_pairs``).
    """
    if not 1 <= first <= max_pairs:
        raise ValueError(f"first={first} pairs must lie in [1, max_pairs={max_pairs}]")
    pairs_f, pairs_g = draw(0, first)
    draws = [first]
    while sum(draws) < max_pairs:
        found = split_half(pairs_f, pairs_g, points).reliability
        if found >= target:
            break
        wanted = max(pairs_for(found, sum(draws), target), sum(draws) + 1)
        more = min(max_pairs, wanted) - sum(draws)
        new_f, new_g = draw(len(draws), more)
        pairs_f = np.concatenate([pairs_f, new_f], axis=2)
        pairs_g = np.concatenate([pairs_g, new_g], axis=2)
        draws.append(more)
    return pairs_f, pairs_g, draws

"""How reliable the leave-out score of a model pool is, and how many models it needs.

Over models (``model_split_half``): split the K models into two disjoint random halves of
h = floor(K / 2), score every image from each half alone (``pool.leave_out_score``; an image
needs an IN and an OUT model in both halves), take Pearson's r over the images both halves
score, average over random halvings (seeded) and correct to K models with the Spearman-Brown
formula (Spearman 1910; Brown 1910), rho_K = L r / (1 + (L - 1) r). Over views
(``view_split_half``, a statistic ``[K, N, A]``): the same with the A views split instead of
the models, as ``reliability.split_half`` does for the fixed f / g design; both run
``reliability.split_half_of``.

The length factor L. Classically L = K / h (2 for even K): the full score averages twice as
many parallel measurements as a half. Here the units are not parallel: with per-model noise
of variance sigma^2, the noise of image n's score from a set of models is
sigma^2 (1 / |IN(n)| + 1 / |OUT(n)|), and within a half the IN / OUT counts are far less
balanced than over all K (a half of 8 models may hold 1 IN and 7 OUT). Solving
r = v_s / (v_s + sigma^2 Q_half) and rho_K = v_s / (v_s + sigma^2 Q_K) for rho_K gives
Spearman-Brown with the effective length

    L = Q_half / Q_K,   Q = the mean over images of 1 / |IN(n)| + 1 / |OUT(n)|,

Q_half over the images both halves score (the two halves averaged), Q_K over the images the
full pool scores; ``inside`` gives both exactly. For a balanced design L = K / h. It is the
default (``effective_length``): in simulation (K = 16, 20 splits) K / h came out 0.01-0.03
below the closed-form reliability, L within 0.005; ``effective_length=False`` gives K / h.

A score of the IN models alone (``side="in"``, ``pool.leave_out_score``) has the noise
multiplier 1 / |IN(n)|, and the same effective length with it. A per-model statistic that is
itself fitted on the other models of the pool (LiRA's likelihood ratio of a target model, from
Gaussians fitted on the rest) must be recomputed within each half, or the two halves would
share the models of the fit: ``transform(values, inside)`` gives the per-model values from
those models alone (NaN where they cannot; ``missing`` then counts NaN on no side).

``reliability_curve`` shows the measured reliability at k = 2, 4, ..., K models next to the
Spearman-Brown prediction from K; ``reliability.count_for(rho_K, K, 0.8)`` gives the models
the classical formula predicts for a target reliability (L = K' / K; close to the effective
length for K of 16 or more).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mnemoscope.analysis.pool import Side, check_pool, check_side, leave_out_score
from mnemoscope.analysis.reliability import (
    DEFAULT_SPLITS,
    Reliability,
    spearman_brown,
    split_half_columns,
    split_half_of,
)

Transform = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _select(values: np.ndarray, inside: np.ndarray, points: Any) -> tuple[np.ndarray, np.ndarray]:
    if points is None:
        return values, inside
    points = np.asarray(points)
    return values[:, points], inside[:, points]


def noise_multiplier(inside: np.ndarray, side: Side = "both") -> np.ndarray:
    """1 / |IN(n)| + 1 / |OUT(n)| per image of the models ``inside`` ``[k, N]`` (inf where a
    side is empty): the leave-out score's noise variance in units of the per-model one
    (``side="in"``: 1 / |IN(n)|, the IN mean's)."""
    count_in = inside.sum(axis=0).astype(np.float64)
    with np.errstate(divide="ignore"):
        if side == "in":
            return 1 / count_in
        return 1 / count_in + 1 / (inside.shape[0] - count_in)


def model_split_half(
    values: Any,
    inside: Any,
    *,
    member_high: bool,
    side: Side = "both",
    missing: bool = False,
    transform: Transform | None = None,
    points: Any = None,
    effective_length: bool = True,
    splits: int = DEFAULT_SPLITS,
    seed: int = 0,
) -> Reliability:
    """Split-half reliability over the models of the leave-out score (module docstring) from
    ``values`` ``[K, N]`` or ``[K, N, A]`` (views averaged) and ``inside`` ``[K, N]``, over the
    images ``points`` (indices or a boolean mask; None = all). ``units`` is K. ``side``,
    ``missing`` and ``transform``: module docstring (``transform`` implies ``missing``)."""
    check_side(side)
    missing = missing or transform is not None
    values, inside = _select(*check_pool(values, inside, missing), points)
    if values.ndim == 3:
        values = values.mean(axis=2)  # the score of the view means = the mean of view scores
    full_mean = _finite_mean(noise_multiplier(inside, side))

    def score(models: np.ndarray) -> np.ndarray:
        chosen, members = values[models], inside[models]
        if transform is not None:
            chosen = transform(chosen, members)
        return leave_out_score(chosen, members, member_high=member_high, side=side,
                               missing=missing)  # fmt: skip

    def length(first: np.ndarray, second: np.ndarray, scored: np.ndarray) -> float:
        halves = (noise_multiplier(inside[first], side)
                  + noise_multiplier(inside[second], side)) / 2  # fmt: skip
        return float(halves[scored].mean() / full_mean)

    return split_half_of(
        score,
        inside.shape[0],
        inside.shape[1],
        splits=splits,
        seed=seed,
        length=length if effective_length else None,
    )


def view_split_half(
    values: Any,
    inside: Any,
    *,
    member_high: bool,
    points: Any = None,
    splits: int = DEFAULT_SPLITS,
    seed: int = 0,
) -> Reliability:
    """Split-half reliability over the A views of the leave-out score from ``values``
    ``[K, N, A]`` (all K models in both halves): the view noise given the models. ``units``
    is A."""
    values, inside = _select(*check_pool(values, inside), points)
    if values.ndim != 3:
        raise ValueError(f"values must be [K, N, A] to split views, got shape {values.shape}")
    per_view = leave_out_score(values, inside, member_high=member_high)  # [N, A]
    return split_half_columns(per_view, splits=splits, seed=seed)


def reliability_curve(
    values: Any,
    inside: Any,
    *,
    member_high: bool,
    side: Side = "both",
    missing: bool = False,
    transform: Transform | None = None,
    ks: Sequence[int] | None = None,
    draws: int = 10,
    points: Any = None,
    effective_length: bool = True,
    splits: int = DEFAULT_SPLITS,
    seed: int = 0,
) -> Any:
    """Reliability against the number of models: for each k in ``ks`` (default 2, 4, ..., K,
    and K itself when odd), ``draws`` random subsets of k models (without replacement, seeded),
    the ``model_split_half`` reliability of each at its k models.

    A DataFrame with columns k, reliability (mean over draws), sd (over draws, ddof 1),
    low / high (min / max over draws), draws (those with a value) and predicted: Spearman-Brown
    from the full-K reliability with L = Q_K / Q_k (Q_k: the subsets' mean noise multiplier;
    k / K when not ``effective_length``). At k = 2 every half is one model, which holds an
    image either IN or OUT, never both: no image can be scored and the row is NaN. ``side``,
    ``missing`` and ``transform`` as in ``model_split_half``.
    """
    import pandas as pd

    check_side(side)
    missing = missing or transform is not None
    values, inside = _select(*check_pool(values, inside, missing), points)
    models = inside.shape[0]
    if ks is None:
        ks = list(range(2, models + 1, 2)) + ([models] if models % 2 else [])
    if any(not 2 <= int(k) <= models for k in ks):
        raise ValueError(f"every k in ks={list(ks)} must lie in 2..K={models}")
    options = {"member_high": member_high, "effective_length": effective_length, "splits": splits,
               "side": side, "missing": missing, "transform": transform}  # fmt: skip
    full = model_split_half(values, inside, seed=seed, **options).reliability
    generator = np.random.default_rng(seed)
    rows = []
    for k in (int(k) for k in ks):
        found, multipliers = [], []
        for _ in range(draws):
            chosen = np.sort(generator.choice(models, size=k, replace=False))
            found.append(
                model_split_half(
                    values[chosen], inside[chosen], seed=int(generator.integers(2**31)), **options
                ).reliability
            )
            multipliers.append(_finite_mean(noise_multiplier(inside[chosen], side)))
        found = np.array(found)
        defined = found[np.isfinite(found)]
        factor = _finite_mean(noise_multiplier(inside, side)) / np.mean(multipliers)
        rows.append(
            {
                "k": k,
                "reliability": defined.mean() if defined.size else np.nan,
                "sd": defined.std(ddof=1) if defined.size > 1 else np.nan,
                "low": defined.min() if defined.size else np.nan,
                "high": defined.max() if defined.size else np.nan,
                "draws": int(defined.size),
                "predicted": spearman_brown(full, factor if effective_length else k / models),
            }
        )
    return pd.DataFrame(
        rows, columns=["k", "reliability", "sd", "low", "high", "draws", "predicted"]
    )


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else np.nan

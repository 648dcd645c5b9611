"""The leave-out score of a model pool and its interval over models.

Design (the memorization atlas, issue 23): K models, model k trained on a seeded random half
of a candidate pool; ``inside[k, n]`` says whether image n was in model k's training set and
``values[k, n]`` is a per-model statistic of the image (an alignment loss, eq. 1 of paper 002;
or p(y | x)). With IN(n) = {k : inside[k, n]} and OUT(n) its complement, the score of image n is

    member_high=False (a loss, low = member):  m(n) = mean_{OUT(n)} v_kn - mean_{IN(n)} v_kn
    member_high=True  (like p(y | x)):         m(n) = mean_{IN(n)} v_kn - mean_{OUT(n)} v_kn

so that a larger m is always "more memorized". The first is SSLMem, eq. 2 of paper 002
(Wang et al., ICLR 2024), with f = the IN models and g = the OUT models; the second is Feldman &
Zhang's (NeurIPS 2020) subsampled estimator of Feldman's (2020) leave-one-out memorization,
mean p IN - mean p OUT. An image without an IN or without an OUT model has no score (NaN).

``side="in"``: the mean over the IN models alone, +mean_{IN(n)} v_kn (member_high) or its
negative: a property of how the models that trained on the image saw it, such as its learning
dynamics (Toneva et al. 2019's forgetting events, Swayamdipta et al. 2020's data-map
confidence), read from the same pool.

``missing=True``: NaN entries of ``values`` are missing (that model has no value for that image,
e.g. LiRA's likelihood ratio where the other models cannot fit the image's Gaussians) and count
as neither IN nor OUT; by default every model must score every image.

``leave_out_interval``: the percentile bootstrap over models (resample the K models with
replacement): how much a score depends on which models happened to be trained.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

BLOCK = 1 << 22  # resamples x images per matrix product: ~32 MB of float64 per array
Side = Literal["both", "in"]
SIDES = ("both", "in")


def check_pool(values: Any, inside: Any, missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as float64 ``[K, N, ...]`` and ``inside`` as bool ``[K, N]``, or ValueError
    (also for NaN or infinite values, unless ``missing``: then NaN is a missing value and only
    an infinity is refused)."""
    values, inside = np.asarray(values, dtype=np.float64), np.asarray(inside)
    if inside.dtype != np.bool_:
        raise ValueError(f"inside must be a boolean [K, N] array, got dtype {inside.dtype}")
    if inside.ndim != 2 or values.shape[:2] != inside.shape:
        raise ValueError(
            f"values must be [K, N, ...] over the models and images of inside [K, N]: got "
            f"values {values.shape} and inside {inside.shape}"
        )
    if missing:
        if np.any(np.isinf(values)):
            raise ValueError("values holds infinite entries: only NaN may mark a missing value")
    elif not np.all(np.isfinite(values)):
        raise ValueError("values holds NaN or infinite entries: every model must score every image")
    return values, inside


def check_side(side: str) -> None:
    if side not in SIDES:
        raise ValueError(f"side={side!r} is not one of {SIDES}")


def side_weights(values: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(IN, OUT) weights of every entry of ``values``, float64 and shaped like it: 1 where the
    model is on that side and its value is present (not NaN), else 0."""
    mask = inside.reshape(inside.shape + (1,) * (values.ndim - 2))
    present = ~np.isnan(values)
    return (mask & present).astype(np.float64), (~mask & present).astype(np.float64)


def leave_out_score(
    values: Any, inside: Any, *, member_high: bool, side: Side = "both", missing: bool = False
) -> np.ndarray:
    """m(n) of the module docstring for every image: ``[N]`` from ``values`` ``[K, N]``, or
    ``[N, A]`` from ``[K, N, A]`` (one score per view; their mean is the score of the view
    means, m being linear). NaN where an image has no IN or no OUT model (``side="in"``: the
    mean over the IN models, NaN without one). ``missing``: NaN values count on no side."""
    check_side(side)
    values, inside = check_pool(values, inside, missing)
    weight_in, weight_out = side_weights(values, inside)
    count_in, count_out = weight_in.sum(axis=0), weight_out.sum(axis=0)
    values = np.nan_to_num(values, nan=0.0)  # weighted 0 wherever it was missing
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 is the NaN we want
        mean_in = (weight_in * values).sum(axis=0) / count_in
        mean_out = (weight_out * values).sum(axis=0) / count_out
    if side == "in":
        return np.where(count_in > 0, mean_in if member_high else -mean_in, np.nan)
    score = mean_in - mean_out if member_high else mean_out - mean_in
    return np.where((count_in > 0) & (count_out > 0), score, np.nan)


def leave_out_interval(
    values: Any,
    inside: Any,
    *,
    member_high: bool,
    side: Side = "both",
    missing: bool = False,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image percentile interval ``(low, high)``, each ``[N]``, of ``leave_out_score`` when
    the K models are resampled with replacement (``n_resamples`` resamples, ``seed``).

    ``values`` must be ``[K, N]`` (average a views axis first: the score of the view means is
    the mean of the per-view scores). A resample that leaves an image without an IN or an OUT
    model has no score for it; dropping such resamples would condition on a balanced draw and
    narrow the interval exactly where it should be wide. Instead they count as -inf for the
    lower bound and +inf for the upper (whatever they would have been, the interval is at
    least this wide): a bound becomes NaN once they reach its tail (a share near
    (1 - confidence) / 2; e.g. at K = 10 with 5 IN, 0.2% of resamples lack a side).
    ``side`` and ``missing`` as in ``leave_out_score`` (``side="in"``: a resample lacks a side
    when it draws no IN model).
    """
    check_side(side)
    values, inside = check_pool(values, inside, missing)
    if values.ndim != 2:
        raise ValueError(f"values must be [K, N] (average the views first), got {values.shape}")
    if not 0 < confidence < 1 or n_resamples < 1:
        raise ValueError(f"confidence={confidence!r} must lie in (0, 1), n_resamples >= 1")
    models, images = inside.shape
    # a resample is the number of times each model is drawn: multinomial(K, 1/K each)
    draws = (
        np.random.default_rng(seed)
        .multinomial(models, np.full(models, 1 / models), size=n_resamples)
        .astype(np.float64)
    )
    weight_in, weight_out = side_weights(values, inside)
    values = np.nan_to_num(values, nan=0.0)
    sum_in, sum_out = weight_in * values, weight_out * values
    low, high = np.empty(images), np.empty(images)
    quantiles = [(1 - confidence) / 2, (1 + confidence) / 2]
    step = max(1, BLOCK // n_resamples)
    for start in range(0, images, step):
        block = slice(start, start + step)
        count_in = draws @ weight_in[:, block]  # [B, block]
        count_out = draws @ weight_out[:, block]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_in = draws @ sum_in[:, block] / count_in
            mean_out = draws @ sum_out[:, block] / count_out
        if side == "in":
            score = mean_in if member_high else -mean_in
            lacking = count_in == 0
        else:
            score = mean_in - mean_out if member_high else mean_out - mean_in
            lacking = (count_in == 0) | (count_out == 0)
        with np.errstate(invalid="ignore"):  # interpolating next to an infinity: NaN, wanted
            low[block] = np.quantile(np.where(lacking, -np.inf, score), quantiles[0], axis=0)
            high[block] = np.quantile(np.where(lacking, np.inf, score), quantiles[1], axis=0)
    return np.where(np.isfinite(low), low, np.nan), np.where(np.isfinite(high), high, np.nan)

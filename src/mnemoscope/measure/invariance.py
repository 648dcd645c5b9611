"""Normalized invariance of a representation to augmentations (paper 003, section 5.2, eq. 2).

For a representation ``q`` (one tap of a network), an input ``x`` and augmentations ``T``:

    I(x; q, T) = E_{T1, T2 ~ U(T)} ||q(T1(x)) - q(T2(x))||^2  /  E_{x' != x} ||q(x) - q(x')||^2

The numerator is how far two augmentations of ``x`` land apart, the denominator how far ``x``
lands from other inputs: 0 means augmentations of an input are mapped to one point while
inputs stay apart, 1 means two augmentations of ``x`` are as far apart as ``x`` is from a
random other input (a map that ignores what the views have in common). The normalization rules
out collapse: a constant map has 0/0, not 0 (appendix D.3). Fig. 7 averages I over inputs.

Here the expectation over ``T1, T2`` is the mean over all pairs of ``V`` fixed views of each
input (``a < b``; two independent draws from a continuous ``T`` coincide with probability 0),
and the one over ``x'`` the mean over the other inputs of the sample.

Squared or not: the extracted text of eq. 2 shows ``||.||2`` for both norms, which reads
either as the squared norm or as the l2 norm with its subscript. ``squared=True`` (default)
takes squared norms, as written above; ``squared=False`` the plain l2 distances,

    I_1(x; q, T) = E_{T1, T2} ||q(T1(x)) - q(T2(x))||  /  E_{x' != x} ||q(x) - q(x')||.

Both are 0 for an invariant map and about 1 for a map that ignores what views share; they
differ in how much a few far views weigh (squared norms weigh them more).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mnemoscope.measure.features import extract_features


def normalized_invariance(
    view_features: torch.Tensor, features: torch.Tensor, *, squared: bool = True
) -> torch.Tensor:
    """I(x_i; q, T) of eq. 2 for every input i, from features already computed.

    Args:
        view_features: ``[n, V, D]``, q(T_a(x_i)) for ``V >= 2`` augmentations of each input.
        features: ``[n, D]``, q(x_i) of the unaugmented inputs (``n >= 2``).
        squared: True (default) = squared norms in both terms; False = plain l2 norms (the
            other reading of eq. 2, module docstring).

    Returns:
        float64 ``[n]``: mean over pairs a < b of ||q(T_a x_i) - q(T_b x_i)||^p, divided by the
        mean over j != i of ||q(x_i) - q(x_j)||^p, p = 2 (``squared``) or 1. An input whose
        representation equals every other's (denominator 0) gets NaN: invariance is undefined
        under collapse.
    """
    if view_features.ndim != 3 or view_features.shape[1] < 2:
        raise ValueError(
            f"view_features must be [n, V, D] with V >= 2 views per input, got shape "
            f"{tuple(view_features.shape)}"
        )
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be [n, D] with n >= 2, got {tuple(features.shape)}")
    if view_features.shape[0] != features.shape[0] or view_features.shape[2] != features.shape[1]:
        raise ValueError(
            f"view_features {tuple(view_features.shape)} and features {tuple(features.shape)} "
            "must share n (inputs) and D (feature size)"
        )
    if not squared:
        return _unsquared(view_features.double(), features.double())
    views = view_features.double()
    count = views.shape[1]
    # sum_{a,b} ||v_a - v_b||^2 = 2 V sum_a ||v_a||^2 - 2 ||sum_a v_a||^2, over ordered pairs.
    ordered = 2 * count * views.pow(2).sum(dim=(1, 2)) - 2 * views.sum(dim=1).pow(2).sum(dim=1)
    within = ordered / (count * (count - 1))  # mean over the V(V-1) ordered pairs a != b

    clean = features.double()
    n = clean.shape[0]
    norms = clean.pow(2).sum(dim=1)
    # sum_j ||x_i - x_j||^2 = n ||x_i||^2 + sum_j ||x_j||^2 - 2 x_i . sum_j x_j; j = i adds 0.
    to_others = n * norms + norms.sum() - 2 * clean @ clean.sum(dim=0)
    between = (to_others / (n - 1)).clamp_min(0.0)
    return torch.where(between > 0, within.clamp_min(0.0) / between, torch.nan)


def _unsquared(views: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """``normalized_invariance`` with plain l2 norms: no closed form, so all pairwise distances
    (``[n, V, V]`` and ``[n, n]``; exact, not via the matmul expansion)."""
    exact = "donot_use_mm_for_euclid_dist"
    count, n = views.shape[1], clean.shape[0]
    within = torch.cdist(views, views, compute_mode=exact).sum(dim=(1, 2)) / (count * (count - 1))
    between = torch.cdist(clean, clean, compute_mode=exact).sum(dim=1) / (n - 1)
    return torch.where(between > 0, within / between, torch.nan)


def measure_invariance(
    network: nn.Module,
    views: torch.Tensor,
    images: torch.Tensor,
    taps: Sequence[str],
    *,
    batch_size: int = 512,
    squared: bool = True,
) -> dict[str, torch.Tensor]:
    """I(x_i; q, T) for every tap ``q`` of ``network``, on fixed augmented views.

    Args:
        network: a ``mnemoscope.models.Network`` (anything with ``features(x, taps)``).
        views: ``[n, V, C, H, W]`` augmented views (uint8 or float in [0, 1]), e.g. a bank from
            ``mnemoscope.augment.make_bank``: fixed views make I comparable across epochs.
        images: ``[n, C, H, W]`` the same inputs unaugmented.
        taps: tap names (``network.tap_names``).
        squared: squared norms (default) or plain l2 norms in eq. 2 (module docstring).

    Returns:
        {tap: float64 [n]} per-input invariance (``normalized_invariance``); fig. 7 plots the mean.
    """
    if views.ndim != 5 or views.shape[0] != images.shape[0]:
        raise ValueError(
            f"views must be [n, V, C, H, W] with n = {images.shape[0]} (one row per image), got "
            f"shape {tuple(views.shape)}"
        )
    n, count = views.shape[:2]
    flat = views.reshape(n * count, *views.shape[2:])
    view_features = extract_features(network, flat, taps, batch_size=batch_size)
    features = extract_features(network, images, taps, batch_size=batch_size)
    return {
        tap: normalized_invariance(
            view_features[tap].reshape(n, count, -1), features[tap], squared=squared
        )
        for tap in taps
    }

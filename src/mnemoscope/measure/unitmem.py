"""UnitMem (Wang et al., "Localizing Memorization in SSL Vision Encoders", NeurIPS 2024).

How selectively a single unit of a trained encoder responds to one training image. For a
unit u of a layer and N images x_1..x_N, its mean activation on image i over K augmented
views x_i^(1..K) is

    mu_u(i) = (1 / K) sum_k a_u(x_i^(k))

where a_u is the unit's activation: a linear layer's unit as is, a convolutional channel
averaged over its spatial positions ([B, C, H, W] -> [B, C]), a transformer token map's
feature averaged over the tokens ([B, T, D] -> [B, D]). With mu_max the highest image mean
and mu_rest the mean over the other N - 1 images,

    mu_max,u  = max_i mu_u(i),          i*_u = argmax_i mu_u(i)
    mu_rest,u = (1 / (N - 1)) sum_{i != i*_u} mu_u(i)
    UnitMem(u) = (mu_max,u - mu_rest,u) / (mu_max,u + mu_rest,u)

For non-negative activations (after a ReLU: every stage of the convnets and ResNets here)
UnitMem lies in [0, 1]: 1 when the unit fires for one image only (mu_rest = 0), 0 when it
fires equally for every image. Where the formula is undefined:

* a dead unit (mu_u(i) = 0 for every image, so the denominator is 0): NaN;
* a unit with a negative image mean (no ReLU before the tap: a ViT's token map, the pooled
  output of a projector): the ratio is not a selectivity (its denominator may be 0 or
  negative), so ``negative="nan"`` (the paper's definition, the default) gives NaN and
  ``negative="shift"`` (a deviation) first subtracts such a unit's lowest image mean,
  mu_u(i) - min_j mu_u(j) >= 0, i.e. selectivity relative to the least-activating image
  (units without a negative mean are left as they are).

NaN units are reported as such (counted, never silently dropped by the scorer).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from mnemoscope.augment import Augmentation
from mnemoscope.measure.alignment import VIEW_BLOCK, draw_views, measurement_augmentation
from mnemoscope.models import Network
from mnemoscope.models.folding import fold_batch_norms

Negative = Literal["nan", "shift"]
NEGATIVES = ("nan", "shift")


def unit_activations(activation: Tensor) -> Tensor:
    """Per-unit activations ``[B, U]`` of one tap's output: ``[B, U]`` as is, ``[B, C, H, W]``
    averaged over H and W (a channel is a unit), ``[B, T, D]`` averaged over the T tokens."""
    if activation.ndim == 2:
        return activation
    if activation.ndim == 4:
        return activation.mean(dim=(2, 3))
    if activation.ndim == 3:
        return activation.mean(dim=1)
    raise ValueError(
        f"activation of shape {tuple(activation.shape)}: expected [B, U], [B, C, H, W] or "
        "[B, T, D]"
    )


@torch.no_grad()
def mean_activations(
    encoder: Network,
    images: Tensor,
    taps: Sequence[str],
    *,
    augment: str | Augmentation | dict[str, Any] = "simclr",
    views: int = 10,
    seed: int = 0,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> dict[str, Tensor]:
    """mu_u(i): every unit's activation on every image averaged over ``views`` (K) augmented
    views, tap -> float64 ``[N, U]`` on the CPU.

    The views are drawn per block of images from ``seed`` (as SSLMem's: ``draw_views``), so
    every encoder given the same seed sees the very same views. An eval copy of the encoder
    with BatchNorm folded in runs; the encoder itself is not changed.
    """
    if not isinstance(encoder, Network):
        raise ValueError(f"UnitMem reads the taps of a mnemoscope Network, not a "
                         f"{type(encoder).__name__}")  # fmt: skip
    if isinstance(taps, str) or not taps or len(set(taps)) != len(taps):
        raise ValueError(f"taps must be a non-empty list of distinct tap names, got {taps!r}")
    for name, value in (("views", views), ("seed", seed), ("batch_size", batch_size)):
        low = 0 if name == "seed" else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r} is invalid: need an integer >= {low}")
    if not isinstance(images, Tensor) or images.ndim != 4 or len(images) < 2:
        raise ValueError("UnitMem compares images: give an [N, C, H, W] tensor with N >= 2, "
                         f"got {images!r:.80}")  # fmt: skip
    encoder._check_taps(taps)
    augmentation = measurement_augmentation(augment, size=tuple(images.shape[-2:]))
    if device is None:
        device = next(encoder.parameters()).device
    device = torch.device(device)
    folded = fold_batch_norms(encoder)
    sums: dict[str, list[Tensor]] = {tap: [] for tap in taps}
    for block in range(math.ceil(len(images) / VIEW_BLOCK)):
        chunk = images[block * VIEW_BLOCK : (block + 1) * VIEW_BLOCK]
        flat = draw_views(chunk, augmentation, views, seed, block).flatten(0, 1)  # i * K + k
        parts: dict[str, list[Tensor]] = {tap: [] for tap in taps}
        for start in range(0, len(flat), batch_size):
            batch = flat[start : start + batch_size].to(device).float().div_(255)
            found = folded.features(batch, list(taps), flatten=False)
            for tap in taps:
                parts[tap].append(unit_activations(found[tap]).double().cpu())
        for tap in taps:
            per_view = torch.cat(parts[tap]).view(len(chunk), views, -1)
            sums[tap].append(per_view.mean(dim=1))
    return {tap: torch.cat(sums[tap]) for tap in taps}


def unitmem(means: Tensor, negative: Negative = "nan") -> tuple[Tensor, Tensor]:
    """UnitMem(u) of every unit (module docstring) from its image means ``[N, U]`` (N >= 2):
    float64 ``[U]`` and the index i*_u of the image with the highest mean ``[U]``.

    ``negative``: what a unit with a negative image mean gets: ``nan`` (paper: undefined) or
    ``shift`` (subtract that unit's lowest image mean first). A dead unit gets NaN.
    """
    if negative not in NEGATIVES:
        raise ValueError(f"negative={negative!r} is not one of {NEGATIVES}")
    means = torch.as_tensor(means, dtype=torch.float64)
    if means.ndim != 2 or len(means) < 2:
        raise ValueError(
            f"means must be [N, U] with N >= 2 images, got shape {tuple(means.shape)}"
        )
    has_negative = (means < 0).any(dim=0)
    if negative == "shift":  # only the units with a negative image mean
        means = means - means.min(dim=0).values.clamp(max=0)
    top, top_index = means.max(dim=0)
    rest = (means.sum(dim=0) - top) / (len(means) - 1)
    denominator = top + rest
    score = (top - rest) / denominator
    undefined = denominator <= 0
    if negative == "nan":
        undefined |= has_negative
    return score.masked_fill(undefined, math.nan), top_index


def unitmem_of_encoder(
    encoder: Network,
    images: Tensor,
    taps: Sequence[str],
    *,
    negative: Negative = "nan",
    **options: Any,
) -> dict[str, tuple[Tensor, Tensor]]:
    """``unitmem`` of every unit of every tap: tap -> (UnitMem ``[U]``, top image index ``[U]``).
    ``options``: those of ``mean_activations`` (augment, views, seed, batch_size, device)."""
    if negative not in NEGATIVES:
        raise ValueError(f"negative={negative!r} is not one of {NEGATIVES}")
    means = mean_activations(encoder, images, taps, **options)
    return {tap: unitmem(value, negative) for tap, value in means.items()}

"""Features of a network on a set of images, in eval mode and fp32, batch by batch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mnemoscope.augment.base import check_float_range
from mnemoscope.models.folding import fold_batch_norms


def as_float_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [0, 1]; float input must already be in [0, 1]."""
    if images.dtype == torch.uint8:
        return images.float().div_(255)
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 or float in [0, 1], got dtype {images.dtype}")
    check_float_range(images)
    return images.float()


@torch.no_grad()
def extract_features(
    network: nn.Module,
    images: torch.Tensor,
    taps: Sequence[str],
    *,
    batch_size: int = 512,
    device: torch.device | str | None = None,
) -> dict[str, torch.Tensor]:
    """``network.features`` for every tap over ``images`` (uint8 or [0, 1] float), on CPU fp32.

    Read from an eval-mode copy with BatchNorm folded into the layer before it
    (``models.folding``): BatchNorm uses running statistics, so a feature never depends on the
    other images of its batch, and ``network`` itself is left as it was.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size {batch_size} < 1")
    device = torch.device(device) if device is not None else next(network.parameters()).device
    folded = fold_batch_norms(network)
    chunks: dict[str, list[torch.Tensor]] = {tap: [] for tap in taps}
    for start in range(0, len(images), batch_size):
        batch = as_float_images(images[start : start + batch_size].to(device))
        for tap, values in folded.features(batch, list(taps)).items():
            chunks[tap].append(values.float().cpu())
    return {tap: torch.cat(values) for tap, values in chunks.items()}

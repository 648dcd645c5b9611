"""Additive Gaussian pixel noise (paper 002, table 8: "GaussianNoise (mean=0 and std=0.2)")."""

from __future__ import annotations

import torch
from torch import Tensor

from mnemoscope.augment.base import ImageShape, Params, Stage


class GaussianNoise(Stage):
    """``clamp(x + std * N(0, 1), 0, 1)``, independent noise per pixel and channel.

    The noise is drawn on the CPU from the generator like every other parameter (one normal per
    output pixel), so noisy views are identical on every device for a given seed.
    """

    def __init__(self, std: float) -> None:
        self.std = std

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        return {"noise": torch.randn(n, *shape, generator=generator)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return images.add_(params["noise"], alpha=self.std).clamp_(0.0, 1.0)
